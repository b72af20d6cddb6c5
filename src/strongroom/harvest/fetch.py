"""A polite HTTP fetcher: it names itself, honours robots.txt, waits between requests to the same host, retries
with back-off on 429, 5xx and timeouts, caps the size of one resource, and never follows a redirect by itself
(the crawler decides whether the target is in scope)."""

from __future__ import annotations

import datetime as dt
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import urllib3

from strongroom import __version__

USER_AGENT = f"Strongroom/{__version__} (preservation harvester; +https://github.com/strongroom)"
RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass
class Fetched:
    url: str
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    body: bytes
    request_headers: list[tuple[str, str]]
    when: dt.datetime

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "application/octet-stream").split(";")[0].strip().lower()


class FetchError(Exception):
    """A resource that could not be fetched: the reason is kept in the crawl report."""


@dataclass
class Fetcher:
    delay: float = 1.0  # seconds between two requests to one host
    max_bytes: int = 100 * 1024 * 1024
    retries: int = 3
    timeout: float = 30.0
    user_agent: str = USER_AGENT
    sleep: Callable[[float], None] = time.sleep
    _robots: dict[str, urllib.robotparser.RobotFileParser | None] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)
    _pool: urllib3.PoolManager | None = None

    @property
    def headers(self) -> dict[str, str]:
        # identity: the archive keeps the bytes as the publisher sends them to a reader, uncompressed by transport
        return {"User-Agent": self.user_agent, "Accept": "*/*", "Accept-Encoding": "identity"}

    def pool(self) -> urllib3.PoolManager:
        # urllib3 rather than httpx here: a crawl makes thousands of small requests, and urllib3 spends about a
        # third less time on each (docs/benchmarks.md)
        if self._pool is None:
            self._pool = urllib3.PoolManager(
                num_pools=8,
                maxsize=16,
                headers=self.headers,
                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
                retries=False,
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()

    def _wait(self, host: str) -> None:
        last = self._last.get(host)
        if last is not None and self.delay > 0:
            pause = last + self.delay - time.monotonic()
            if pause > 0:
                self.sleep(pause)
        self._last[host] = time.monotonic()

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            parser: urllib.robotparser.RobotFileParser | None = urllib.robotparser.RobotFileParser()
            try:
                self._wait(parts.netloc)
                response = self._once(origin + "/robots.txt")
                if response.status == 200 and parser is not None:
                    parser.parse(response.body.decode("utf-8", "replace").splitlines())
                else:
                    parser = None  # no robots.txt: everything is allowed
            except FetchError:
                parser = None
            self._robots[origin] = parser
        robots = self._robots[origin]
        return robots is None or robots.can_fetch(self.user_agent, url)

    def fetch(self, url: str) -> Fetched:
        host = urlsplit(url).netloc
        attempt = 0
        while True:
            self._wait(host)
            try:
                fetched = self._once(url)
            except TimedOut:
                if attempt >= self.retries:
                    raise FetchError(f"timed out {attempt + 1} times") from None
            else:
                if fetched.status not in RETRY_STATUS or attempt >= self.retries:
                    return fetched
                wait = fetched.header("retry-after")
                if wait and wait.isdigit():
                    self.sleep(min(int(wait), 60))
            attempt += 1
            self.sleep(min(0.5 * 2**attempt, 30.0) if self.delay > 0 else 0.0)

    def _once(self, url: str) -> Fetched:
        when = dt.datetime.now(dt.UTC)
        try:
            response = self.pool().request("GET", url, preload_content=False, redirect=False, decode_content=False)
        except urllib3.exceptions.TimeoutError:
            raise TimedOut(url) from None
        except urllib3.exceptions.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from None
        try:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"{int(declared)} bytes is more than the {self.max_bytes} allowed for one resource")
            chunks, size = [], 0
            for chunk in response.stream(256 * 1024, decode_content=False):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"more than the {self.max_bytes} bytes allowed for one resource")
                chunks.append(chunk)
        except BaseException as exc:
            # The body was not read to its end: the connection cannot carry another request. Close it rather
            # than return it to the pool (the next response would start in the middle of this one's body).
            response.close()
            if isinstance(exc, urllib3.exceptions.TimeoutError):
                raise TimedOut(url) from None
            if isinstance(exc, urllib3.exceptions.HTTPError):
                raise FetchError(f"{type(exc).__name__}: {exc}") from None
            raise
        response.release_conn()
        parts = urlsplit(url)
        return Fetched(
            url=url,
            status=response.status,
            reason=response.reason or "",
            http_version="HTTP/1.0" if response.version == 10 else "HTTP/1.1",
            headers=list(response.headers.items()),
            body=b"".join(chunks),
            request_headers=[("Host", parts.netloc), *self.headers.items()],
            when=when,
        )


class TimedOut(FetchError):
    """No answer within the timeout (retried)."""
