"""JASPER-style packages' ``identifiers.csv``: one row per article with its DOI and/or full-text URL.

The file is UTF-8 (a byte-order mark is fine) with a header row. Columns are matched by name without regard
to case: ``doi``; ``full_text_url`` (or ``url``, ``fulltext_url``, ``full-text url``); ``folder`` (or
``directory``, ``path``, ``file``). Each row needs a DOI or a URL.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from strongroom.domain.identifiers import normalise_doi
from strongroom.errors import Finding, InvalidIdentifier, PackageRejected

ALIASES = {
    "doi": "doi",
    "url": "url",
    "full_text_url": "url",
    "fulltext_url": "url",
    "full-text url": "url",
    "full text url": "url",
    "folder": "folder",
    "directory": "folder",
    "path": "folder",
    "file": "folder",
}
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class JasperRow:
    doi: str | None
    url: str | None
    folder: str | None
    line: int


def read_identifiers(path: Path) -> list[JasperRow]:
    name = "identifiers.csv"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PackageRejected(f"{name} cannot be read", [Finding("P050", name, str(exc))]) from None
    if len(raw) > MAX_BYTES:
        raise PackageRejected(f"{name} is too large", [Finding("P050", name, f"{len(raw)} bytes; at most {MAX_BYTES}")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PackageRejected(
            f"{name} is not UTF-8",
            [Finding("P050", name, f"not UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8")],
        ) from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise PackageRejected(f"{name} is empty", [Finding("P050", name, "no header row")]) from None
    columns = {i: ALIASES.get(h.strip().lower()) for i, h in enumerate(header)}
    if not {"doi", "url"} & set(columns.values()):
        raise PackageRejected(
            f"{name} has no doi or full_text_url column",
            [Finding("P050", name, f"header {header!r} names neither a 'doi' nor a 'full_text_url' column")],
        )
    rows: list[JasperRow] = []
    findings: list[Finding] = []
    try:
        for line, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            values: dict[str, str] = {}
            for i, cell in enumerate(record):
                key = columns.get(i)
                if key and cell.strip():
                    values[key] = cell.strip()
            where = f"{name}:{line}"
            doi = values.get("doi")
            if doi:
                try:
                    doi = normalise_doi(doi)
                except InvalidIdentifier as exc:
                    findings.append(Finding("P052", where, exc.message))
                    continue
            if not doi and not values.get("url"):
                findings.append(Finding("P050", where, "the row has neither a DOI nor a full-text URL"))
                continue
            rows.append(JasperRow(doi, values.get("url"), values.get("folder"), line))
    except csv.Error as exc:
        findings.append(Finding("P050", name, f"malformed CSV: {exc}"))
    if not rows and not findings:
        findings.append(Finding("P050", name, "no article rows"))
    if findings:
        raise PackageRejected(f"{name} has problems", findings)
    return rows
