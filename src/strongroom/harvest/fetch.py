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

import httpx

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
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    _robots: dict[str, urllib.robotparser.RobotFileParser | None] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)
    _client: httpx.Client | None = None

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                transport=self.transport,
                timeout=self.timeout,
                follow_redirects=False,
                headers={"User-Agent": self.user_agent},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

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
                response = self.client().get(origin + "/robots.txt")
                if response.status_code == 200 and parser is not None:
                    parser.parse(response.text.splitlines())
                else:
                    parser = None  # no robots.txt: everything is allowed
            except httpx.HTTPError:
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
            except httpx.TimeoutException:
                if attempt >= self.retries:
                    raise FetchError(f"timed out {attempt + 1} times") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {exc}") from None
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
        with self.client().stream("GET", url) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"{int(declared)} bytes is more than the {self.max_bytes} allowed for one resource")
            chunks, size = [], 0
            for chunk in response.iter_raw():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"more than the {self.max_bytes} bytes allowed for one resource")
                chunks.append(chunk)
            return Fetched(
                url=url,
                status=response.status_code,
                reason=response.reason_phrase,
                http_version=response.http_version,
                headers=list(response.headers.multi_items()),
                body=b"".join(chunks),
                request_headers=list(response.request.headers.multi_items()),
                when=when,
            )
