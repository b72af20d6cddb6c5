"""Reading back what harvests collected: each crawl's report, and any archived response replayed from its WARC
through the AU's CDXJ index (a revisit record resolved to the capture it refers to)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from strongroom.catalog.repo import Catalog
from strongroom.errors import NotFound, StrongroomError
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


class Replay:
    def __init__(self, catalog: Catalog, store: ObjectStore) -> None:
        self.catalog = catalog
        self.store = store

    def _object_id(self, au_key: str) -> str:
        with self.catalog.session() as s:
            return self.catalog.get_au(s, au_key).object_id

    @contextlib.contextmanager
    def index(self, object_id: str) -> Iterator[CdxIndex]:
        """The AU's CDXJ index, open for lookups by binary search (an empty one when the AU has none): a replay
        reads a few lines of it, never the whole, so its cost does not grow with the AU."""
        if not self.store.exists(object_id) or CDXJ not in self.store.state(object_id):
            yield CdxIndex(io.BytesIO(b""))
            return
        with self.store.open_file(object_id, CDXJ) as fh:
            index = CdxIndex(fh)
            try:
                yield index
            finally:
                index.close()

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
        status, headers, body = self._read_record(object_id, chosen)
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
            _, _, body = self._read_record(object_id, original)
        return Replayed(url, chosen.timestamp, status, headers, body)

    def _read_record(self, object_id: str, line: CdxLine) -> tuple[int, list[tuple[str, str]], bytes]:
        with self.store.open_file(
            object_id,
            WARCS + line.fields["filename"],
            start=int(line.fields["offset"]),
            length=int(line.fields["length"]),
        ) as fh:
            for record in ArchiveIterator(fh):
                http = record.http_headers
                status = int(http.get_statuscode()) if http is not None else 0
                headers = list(http.headers) if http is not None else []
                return status, headers, record.content_stream().read()
        raise StrongroomError(f"no WARC record at {line.fields['filename']}:{line.fields['offset']}")
