"""A polite HTTP fetcher: it names itself, honours robots.txt, waits between requests to the same host, retries
with back-off on 429, 5xx and timeouts, caps the size of one resource, and never follows a redirect by itself
(the crawler decides whether the target is in scope)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import certifi
import pycurl

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
    _local: threading.local = field(default_factory=threading.local)
    _handles: list[pycurl.Curl] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def headers(self) -> dict[str, str]:
        # identity: the archive keeps the bytes as the publisher sends them to a reader, uncompressed by transport
        return {"User-Agent": self.user_agent, "Accept": "*/*", "Accept-Encoding": "identity"}

    def _curl(self) -> pycurl.Curl:
        """This thread's libcurl handle (it keeps its connections open from one request to the next).

        libcurl rather than a Python HTTP client: a crawl makes thousands of small requests, and libcurl reads and
        parses each in C with the interpreter lock released, using about a third of urllib3's processor time
        (docs/benchmarks.md)."""
        curl: pycurl.Curl | None = getattr(self._local, "curl", None)
        if curl is None:
            curl = pycurl.Curl()
            curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
            curl.setopt(pycurl.FOLLOWLOCATION, 0)  # the crawler decides whether a redirect's target is in scope
            curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
            curl.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in self.headers.items()])
            curl.setopt(pycurl.PROXY, "")  # no proxy from the environment: the archive talks to the publisher
            curl.setopt(pycurl.CAINFO, certifi.where())
            curl.setopt(pycurl.NOSIGNAL, 1)  # safe in threads
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(self.timeout * 1000))
            # a read timeout: fewer than 1 byte a second for ``timeout`` seconds ends the transfer
            curl.setopt(pycurl.LOW_SPEED_LIMIT, 1)
            curl.setopt(pycurl.LOW_SPEED_TIME, max(1, round(self.timeout)))
            curl.setopt(pycurl.MAXFILESIZE_LARGE, self.max_bytes)  # refused at once when declared larger than that
            self._local.curl = curl
            with self._lock:
                self._handles.append(curl)
        return curl

    def close(self) -> None:
        with self._lock:
            for curl in self._handles:
                curl.close()
            self._handles.clear()
        self._local = threading.local()

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
        curl = self._curl()
        chunks: list[bytes] = []
        size = 0
        too_big = False

        def body(chunk: bytes) -> int | None:
            nonlocal size, too_big
            size += len(chunk)
            if size > self.max_bytes:
                too_big = True
                return 0  # libcurl ends the transfer (and closes that connection: it cannot carry another request)
            chunks.append(chunk)
            return None

        lines: list[bytes] = []
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.WRITEFUNCTION, body)
        curl.setopt(pycurl.HEADERFUNCTION, lines.append)
        try:
            curl.perform()
        except pycurl.error as exc:
            code, message = exc.args[0], str(exc.args[1]) if len(exc.args) > 1 else ""
            if too_big or code == pycurl.E_FILESIZE_EXCEEDED:  # counted here, or declared (libcurl refuses it)
                raise FetchError(f"more than the {self.max_bytes} bytes allowed for one resource") from None
            if code == pycurl.E_OPERATION_TIMEDOUT:
                raise TimedOut(url) from None
            raise FetchError(f"{message or 'transfer failed'} (libcurl error {code})") from None
        status, reason, version, headers = _head(lines)
        parts = urlsplit(url)
        return Fetched(
            url=url,
            status=status or int(curl.getinfo(pycurl.RESPONSE_CODE)),
            reason=reason,
            http_version=version,
            headers=headers,
            body=b"".join(chunks),
            request_headers=[("Host", parts.netloc), *self.headers.items()],
            when=when,
        )


def _head(lines: list[bytes]) -> tuple[int, str, str, list[tuple[str, str]]]:
    """Status, reason, HTTP version and headers of the last response head in ``lines`` (a 100 Continue or a
    proxy's answer may come first), as libcurl hands them over, one raw line at a time."""
    status, reason, version = 0, "", "HTTP/1.1"
    headers: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        if line.startswith("HTTP/"):
            version, _, rest = line.partition(" ")
            code, _, reason = rest.partition(" ")
            status = int(code) if code.isdigit() else 0
            headers = []
        elif line and line[0] in " \t" and headers:  # an obsolete folded continuation line
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
        elif ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return status, reason, "HTTP/1.0" if version == "HTTP/1.0" else "HTTP/1.1", headers


class TimedOut(FetchError):
    """No answer within the timeout (retried)."""
