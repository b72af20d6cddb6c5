"""Format identification from a file's bytes (not its name), and checks that a file is what its name says.

Sniffing reads a few hundred bytes; the PDF check reads the trailer and, for PDFs up to ``PDF_PARSE_LIMIT``,
parses the document with pypdf.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path

import pypdf
from pypdf.errors import PdfReadError

from strongroom.errors import Finding

PDF_PARSE_LIMIT = 200 * 1024 * 1024
_MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
]
_IMAGE_EXT = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


def _head(path: Path, n: int = 1024) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def _xml_kind(head: bytes) -> str | None:
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.startswith(b"<"):
        return None
    lowered = text[:1024].lower()
    if b"<html" in lowered or b"<!doctype html" in lowered:
        return "text/html"
    if b"<article" in lowered or b"jats" in lowered:
        return "application/jats+xml"
    if text.startswith(b"<?xml") or text.startswith(b"<!"):
        return "application/xml"
    return None


def identify(path: Path) -> str:
    """The media type of a file, by its leading bytes first, its name second."""
    head = _head(path)
    for magic, media in _MAGIC:
        if head.startswith(magic):
            return media
    kind = _xml_kind(head)
    if kind:
        return kind
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed and not guessed.startswith(("application/pdf", "image/")):
        return guessed
    return "application/octet-stream" if b"\0" in head else "text/plain"


def check_format(path: Path, logical_path: str) -> list[Finding]:
    """Findings when a file's bytes contradict its name, or a PDF is truncated or damaged."""
    suffix = path.suffix.lower()
    head = _head(path)
    if suffix == ".pdf":
        if not head.startswith(b"%PDF-"):
            return [Finding("P040", logical_path, "named .pdf but is not a PDF (no %PDF- header)")]
        return _check_pdf(path, logical_path)
    if suffix in _IMAGE_EXT:
        media = identify(path)
        if media != _IMAGE_EXT[suffix]:
            return [Finding("P040", logical_path, f"named {suffix} but its bytes are {media}")]
    if suffix == ".xml" and _xml_kind(head) is None:
        return [Finding("P040", logical_path, "named .xml but does not start with XML markup")]
    return []


def _check_pdf(path: Path, logical_path: str) -> list[Finding]:
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 2048))
        tail = fh.read()
    if b"%%EOF" not in tail:
        return [Finding("P041", logical_path, "no %%EOF marker at the end: the PDF is truncated")]
    if size > PDF_PARSE_LIMIT:
        return []
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(str(path), strict=False)
        if len(reader.pages) < 1:
            return [Finding("P041", logical_path, "the PDF has no pages")]
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        return [Finding("P041", logical_path, f"the PDF cannot be parsed: {exc}")]
    return []
