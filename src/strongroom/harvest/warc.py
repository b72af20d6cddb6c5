"""WARC 1.1 files written with warcio (warcinfo, request, response, and revisit records for content unchanged
since an earlier crawl), rotated by size, with a CDXJ index (the format pywb reads) of every response."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import surt
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from strongroom import __version__
from strongroom.harvest.fetch import Fetched


def payload_digest(body: bytes) -> str:
    """WARC's customary payload digest (base32 SHA-1): an identifier for dedup, not a fixity check."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body, usedforsecurity=False).digest()).decode()


def timestamp14(fetched: Fetched) -> str:
    return fetched.when.strftime("%Y%m%d%H%M%S")


@dataclass
class CdxLine:
    key: str
    timestamp: str
    fields: dict[str, Any]

    def text(self) -> str:
        return f"{self.key} {self.timestamp} {json.dumps(self.fields, sort_keys=True, separators=(', ', ': '))}"

    @classmethod
    def parse(cls, line: str) -> CdxLine:
        key, ts, data = line.split(" ", 2)
        return cls(key, ts, json.loads(data))


@dataclass
class WarcSink:
    directory: Path
    prefix: str
    max_bytes: int = 1024**3
    info: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    cdx: list[CdxLine] = field(default_factory=list)
    _fh: BinaryIO | None = None
    _writer: WARCWriter | None = None

    def _open(self) -> WARCWriter:
        if self._writer is not None and self._fh is not None and self._fh.tell() < self.max_bytes:
            return self._writer
        self.close()
        path = self.directory / f"{self.prefix}-{len(self.files):05d}.warc.gz"
        self._fh = path.open("xb")
        self.files.append(path)
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="WARC/1.1")
        info = {"software": f"Strongroom/{__version__} (warcio)", "format": "WARC File Format 1.1", **self.info}
        self._writer.write_record(self._writer.create_warcinfo_record(path.name, info))
        return self._writer

    def write(self, fetched: Fetched, revisit_of: tuple[str, str] | None = None) -> None:
        """A request and a response record (or a revisit record when ``revisit_of`` = (url, WARC-Date) of an
        earlier capture with the same payload)."""
        writer = self._open()
        assert self._fh is not None
        path = urlsplit_path(fetched.url)
        date = fetched.when.strftime("%Y-%m-%dT%H:%M:%SZ")
        request = writer.create_warc_record(
            fetched.url,
            "request",
            payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(f"GET {path} HTTP/1.1", fetched.request_headers, is_http_request=True),
            warc_headers_dict={"WARC-Date": date},
        )
        http_headers = StatusAndHeaders(
            f"{fetched.status} {fetched.reason}",
            recorded_headers(fetched.headers),
            protocol=_protocol(fetched.http_version),
        )
        digest = payload_digest(fetched.body)
        if revisit_of is not None:
            response = writer.create_revisit_record(
                fetched.url,
                digest,
                revisit_of[0],
                revisit_of[1],
                http_headers=http_headers,
                warc_headers_dict={"WARC-Date": date},
            )
        else:
            response = writer.create_warc_record(
                fetched.url,
                "response",
                payload=io.BytesIO(fetched.body),
                length=len(fetched.body),
                http_headers=http_headers,
                warc_headers_dict={"WARC-Date": date},
            )
        offset = self._fh.tell()
        writer.write_record(response)
        length = self._fh.tell() - offset
        writer.write_record(request)
        fields: dict[str, Any] = {
            "url": fetched.url,
            "mime": fetched.media_type,
            "status": str(fetched.status),
            "digest": digest,
            "length": str(length),
            "offset": str(offset),
            "filename": self.files[-1].name,
        }
        if revisit_of is not None:
            fields["mime"] = "warc/revisit"
        self.cdx.append(CdxLine(surt.surt(fetched.url), timestamp14(fetched), fields))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh, self._writer = None, None


def recorded_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The response headers as the WARC records them. The fetcher hands over the body with its transfer coding
    (chunks) undone, so the record says so, as Common Crawl's do: ``Transfer-Encoding`` is kept as
    ``X-Crawler-Transfer-Encoding``. A reader (warcio, pywb) then takes the payload as it is, its digest is that
    of the content however the server cut it into chunks (so a re-crawl still finds it unchanged), and warcio's
    own check of the payload digest agrees."""
    return [("X-Crawler-Transfer-Encoding", v) if k.lower() == "transfer-encoding" else (k, v) for k, v in headers]


def urlsplit_path(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _protocol(http_version: str) -> str:
    return http_version if http_version.startswith("HTTP/") else "HTTP/1.1"
