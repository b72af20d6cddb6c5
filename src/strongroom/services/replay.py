"""Reading back what harvests collected: each crawl's report, and any archived response replayed from its WARC
through the AU's CDXJ index (a revisit record resolved to the capture it refers to)."""

from __future__ import annotations

import contextlib
import io
import json
import mmap
import threading
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator

from strongroom.catalog.repo import Catalog
from strongroom.errors import NotFound, StorageError, StrongroomError
from strongroom.harvest.cdxj import CdxIndex
from strongroom.harvest.warc import CdxLine
from strongroom.services.harvests import CDXJ, CRAWLS, WARCS
from strongroom.store.base import ObjectStore


@dataclass
class Replayed:
    url: str
    timestamp: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def cdx_lines(store: ObjectStore, object_id: str) -> list[CdxLine]:
    """The AU's CDXJ index so far (empty when it has none)."""
    if not store.exists(object_id) or CDXJ not in store.state(object_id):
        return []
    with store.open_file(object_id, CDXJ) as fh:
        return [CdxLine.parse(line) for line in io.TextIOWrapper(fh, encoding="utf-8") if line.strip()]


def plain_response(raw: bytes) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """A WARC response record (``raw``: one gzip member, as Strongroom writes them) read as warcio reads it, when it
    holds nothing that needs warcio: ASCII header lines, none continued, an HTTP/1.x status line, no content or
    transfer coding. None for any other record: warcio reads it. (warcio's parse was a fifth of a replay's cost.)"""
    if raw[:2] != b"\x1f\x8b":
        return None
    inflate = zlib.decompressobj(31)
    try:
        data = inflate.decompress(raw)
    except zlib.error:
        return None
    head_end = data.find(b"\r\n\r\n")
    if not inflate.eof or head_end < 0 or not _plain_head(data[:head_end]):
        return None
    warc_lines = data[:head_end].split(b"\r\n")
    if warc_lines[0] not in (b"WARC/1.1", b"WARC/1.0"):
        return None
    warc: dict[bytes, bytes] = {}
    for line in warc_lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or line[:1] in (b" ", b"\t"):
            return None
        warc.setdefault(name.strip().lower(), value.strip())  # the first, as warcio's get_header takes it
    target = warc.get(b"warc-target-uri", b"")
    if warc.get(b"warc-type") != b"response" or not target.startswith((b"http:", b"https:")):
        return None
    try:
        length = int(warc.get(b"content-length", b""))
    except ValueError:
        return None
    block = data[head_end + 4 : head_end + 4 + length]
    http_end = block.find(b"\r\n\r\n")
    if length <= 0 or len(block) != length or http_end < 0 or not _plain_head(block[:http_end]):
        return None
    status_line, *header_lines = block[:http_end].decode("ascii").split("\r\n")
    if not status_line.startswith(("HTTP/1.0 ", "HTTP/1.1 ")):
        return None
    headers = []
    for text in header_lines:
        key, sep, val = text.rstrip().partition(":")
        if not sep or text[:1] in (" ", "\t") or key.lower() in ("content-encoding", "transfer-encoding"):
            return None
        headers.append((key.rstrip(" \t"), val.lstrip()))
    try:
        status = int(status_line[9:].strip().split(" ", 1)[0])
    except ValueError:
        return None
    return status, headers, block[http_end + 4 :]


def _plain_head(head: bytes) -> bool:
    """Whether header lines read the same split at CRLF as warcio reads them line by line (ASCII, every line
    ending in CRLF)."""
    return head.isascii() and head.count(b"\n") == head.count(b"\r\n")


@dataclass
class _Kept:
    content_path: str  # of the index
    index: CdxIndex
    warcs: dict[str, mmap.mmap | None] = field(default_factory=dict)  # file name -> its map (None: not mappable)


KEPT_INDEXES = 128  # AUs whose index a process keeps mapped (address space: the pages are the operating system's
# file cache), each with its WARC files and up to cdxj.HELD_KEPT remembered answers (about 1 MB)


class Replay:
    def __init__(self, catalog: Catalog, store: ObjectStore) -> None:
        self.catalog = catalog
        self.store = store
        # object id -> its index and WARC files mapped in memory: an AU's index is opened and mapped once, not on
        # every replay, and so is each WARC file it names. A content path names the same bytes for ever (a new
        # crawl's index is stored under a new one), so comparing it with the head version's tells whether what is
        # kept is still current; the WARC files an index names are those of its version.
        self._indexes: dict[str, _Kept] = {}
        self._lock = threading.Lock()

    def _object_id(self, au_key: str) -> str:
        with self.catalog.session() as s:
            return self.catalog.get_au(s, au_key).object_id

    @contextlib.contextmanager
    def index(self, object_id: str) -> Iterator[CdxIndex]:
        """The AU's CDXJ index, open for lookups by binary search (an empty one when the AU has none): a replay
        reads a few lines of it, never the whole, so its cost does not grow with the AU. A local file's index is
        mapped once and kept (with what it has answered) while it is the head version's."""
        try:
            content_path = self.store.content_path(object_id, CDXJ)
        except StorageError:  # no such object, or no index in it
            self._indexes.pop(object_id, None)
            yield CdxIndex(io.BytesIO(b""))
            return
        kept = self._indexes.get(object_id)
        if kept is not None and kept.content_path == content_path:
            yield kept.index
            return
        with self.store.open_content(object_id, content_path) as fh:
            index = CdxIndex(fh)
            if not index.mapped:  # a stream (an object store's): searched by seeking it, for this replay only
                try:
                    yield index
                finally:
                    index.close()
                return
        # the file is closed, the map reads it. It is never unmapped here, as other threads may be reading it:
        # once dropped, it is unmapped when the last of them lets go of it.
        with self._lock:
            if len(self._indexes) >= KEPT_INDEXES:
                self._indexes.clear()
            self._indexes[object_id] = _Kept(content_path, index)
        yield index

    def crawl_reports(self, au_key: str) -> list[dict[str, Any]]:
        """Every crawl's report of the AU, oldest first."""
        object_id = self._object_id(au_key)
        if not self.store.exists(object_id):
            return []
        reports = []
        for path in sorted(p for p in self.store.state(object_id) if p.startswith(CRAWLS)):
            with self.store.open_file(object_id, path) as fh:
                reports.append(json.loads(fh.read()))
        return reports

    def replay(self, au_key: str, url: str, timestamp: str | None = None) -> Replayed:
        return self.replay_object(self._object_id(au_key), url, timestamp)

    def replay_object(
        self, object_id: str, url: str, timestamp: str | None = None, index: CdxIndex | None = None
    ) -> Replayed:
        """The archived response for ``url`` (the latest capture, or the latest at or before ``timestamp``), read
        from its WARC through the CDXJ index (``index``, when the caller has it open already)."""
        if index is None:
            with self.index(object_id) as opened:
                return self.replay_object(object_id, url, timestamp, opened)
        try:
            captures = index.captures(url)
        except ValueError:
            raise NotFound(f"{url!r} is not a web address", hint="give the full address, e.g. https://…") from None
        matches = sorted(
            (c for c in captures if timestamp is None or c.timestamp <= timestamp), key=lambda c: c.timestamp
        )
        if not matches:
            raise NotFound(f"{url} was not collected in this AU", hint="see what was: strongroom crawl-report AU")
        chosen = matches[-1]
        status, headers, body = self._read_record(object_id, chosen, index)
        if chosen.fields.get("mime") == "warc/revisit":
            original = next(
                (
                    c
                    for c in reversed(matches)
                    if c.fields.get("mime") != "warc/revisit" and c.fields.get("digest") == chosen.fields.get("digest")
                ),
                None,
            )
            if original is None:
                raise StrongroomError(f"the revisit record for {url} refers to a capture this AU does not hold")
            _, _, body = self._read_record(object_id, original, index)
        return Replayed(url, chosen.timestamp, status, headers, body)

    def _warc_map(self, object_id: str, filename: str, index: CdxIndex | None) -> mmap.mmap | None:
        """The WARC file mapped in memory, when ``index`` is the AU's kept index (else None: read it from storage)."""
        kept = self._indexes.get(object_id)
        if kept is None or kept.index is not index:
            return None
        if filename not in kept.warcs:
            mapped = None
            with (
                contextlib.suppress(OSError, ValueError, AttributeError),  # no file descriptor: read it each time
                self.store.open_content(object_id, self.store.content_path(object_id, WARCS + filename)) as fh,
            ):
                mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            kept.warcs[filename] = mapped
        return kept.warcs[filename]

    def _read_record(
        self, object_id: str, line: CdxLine, index: CdxIndex | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        start, length = int(line.fields["offset"]), int(line.fields["length"])
        mapped = self._warc_map(object_id, line.fields["filename"], index)
        opened: AbstractContextManager[BinaryIO]
        if mapped is None:
            opened = self.store.open_file(object_id, WARCS + line.fields["filename"], start=start, length=length)
        else:
            raw = mapped[start : start + max(0, length)]
            plain = plain_response(raw)
            if plain is not None:
                return plain
            opened = io.BytesIO(raw)
        with opened as fh:
            for record in ArchiveIterator(fh):
                http = record.http_headers
                status = int(http.get_statuscode()) if http is not None else 0
                headers = list(http.headers) if http is not None else []
                return status, headers, record.content_stream().read()
        raise StrongroomError(f"no WARC record at {line.fields['filename']}:{line.fields['offset']}")
