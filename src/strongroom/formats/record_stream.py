"""Reading a deposit record (``strongroom/deposit.json``) from a stream, an item and a file at a time.

The record is one JSON document (an archival format, unchanged here). The standard library parses JSON only whole,
so this reads its top-level object piece by piece: the members are decoded one by one with ``json``'s own decoder
(``JSONDecoder.raw_decode``) from a window of text read as needed, and the elements of ``items`` and the members of
``files`` are handed out one at a time instead of being gathered. A record of tens of thousands of articles is then
never held as bytes, text or parsed JSON, only as the records made from it.

Whatever is not a plain JSON object as ``json.loads`` would read it (a syntax error, a byte-order mark, text after
the object, a member named twice, a top level that is not an object) raises :class:`NotStreamable`: the caller
reads the record whole as before, so that the record, or the error, is exactly the one ``json.loads`` gives.

It imports nothing but the standard library and ``formats.records``.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO, Any

from strongroom.formats.records import DepositRecord, FileRecord, ItemRecord, RecordError

CHUNK = 1 << 16  # characters decoded at a time
_WHITESPACE = " \t\n\r"


class NotStreamable(Exception):
    """The text is not a JSON object this reader takes piece by piece; read it whole instead.

    Deliberately outside the :class:`~strongroom.errors.StrongroomError` tree: it is not an error but a signal
    between this reader and its callers (the indexer, ``store.listing``), who catch it and read the document whole,
    which then succeeds or raises the one error ``json.loads`` would (a RecordError, a store's error). A face never
    sees it; were it a StrongroomError, a caller that forgot to catch it would show a user an exit code and a message
    about an internal detour instead of failing loudly as the bug it would be."""


class _Text:
    """A window over the text of a UTF-8 byte stream, read ``CHUNK`` characters at a time."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf = ""
        self.pos = 0
        self.eof = False
        self._json = json.JSONDecoder()

    def _more(self, at_least: int = CHUNK) -> bool:
        if self.eof:
            return False
        data = self._fh.read(max(CHUNK, at_least))
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise NotStreamable from None
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        self.eof = not data
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ('' at the end), not consumed."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            raise NotStreamable
        self.pos += 1

    def value(self) -> Any:
        """The next JSON value, decoded by ``json`` itself; more text is read while it is cut off."""
        self.peek()
        while True:
            try:
                value, end = self._json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if not self._more(2 * (len(self.buf) - self.pos)):  # cut off, or longer than a piece: read on
                    raise NotStreamable from None
                continue
            except RecursionError:  # nested past the parser's depth: read whole, for json.loads's own verdict
                raise NotStreamable from None
            if end == len(self.buf) and not self.eof and self._more():
                continue  # a number may go on in the next piece: decode it again with that piece
            self.pos = end
            return value


def _members(text: _Text, *, checked: bool = False, ascending: bool = False) -> Iterator[tuple[str, _Text]]:
    """The keys of the JSON object that starts at the text's position, each with the text at its value (which the
    caller must consume before asking for the next key). A key named twice raises NotStreamable, unless the object
    was ``checked`` on an earlier reading (its keys are then not kept: a record's files are tens of thousands).
    With ``ascending``, the keys are not kept either, for none can come twice while each is after the one before
    (by code point, as Strongroom writes a record's files); a key out of that order raises NotStreamable."""
    text.take("{")
    seen: set[str] = set()
    last: str | None = None
    if text.peek() == "}":
        text.pos += 1
        return
    while True:
        key = text.value()
        if not isinstance(key, str) or key in seen:
            raise NotStreamable
        if ascending:
            if last is not None and key <= last:
                raise NotStreamable
            last = key
        elif not checked:
            seen.add(key)
        text.take(":")
        yield key, text
        following = text.peek()
        text.pos += 1
        if following == "}":
            return
        if following != ",":
            raise NotStreamable


def _elements(text: _Text) -> Iterator[Any]:
    text.take("[")
    if text.peek() == "]":
        text.pos += 1
        return
    while True:
        yield text.value()
        following = text.peek()
        text.pos += 1
        if following == "]":
            return
        if following != ",":
            raise NotStreamable


@dataclass
class RecordHead:
    """A deposit record read without keeping its items: the record (``items`` empty). Read with ``files=False``, the
    record's ``files`` are empty too; such a reading requires them named in the order
    of their paths (as Strongroom writes them), so that :func:`iter_files` can be joined with another sorted list
    of paths, one file at a time."""

    record: DepositRecord


def _scan(fh: IO[bytes], keep: list[ItemRecord] | None, keep_files: bool = True) -> DepositRecord:
    """The record in ``fh``, its items converted and checked one at a time (kept in ``keep`` if given), with the
    same errors, in the same order, as ``DepositRecord.from_dict(json.loads(...))``.
    Without ``keep_files``, its files are checked the same way but not kept, and must come in the order of their
    paths (else NotStreamable: the caller reads the record whole)."""
    text = _Text(fh)
    head: dict[str, Any] = {}
    files: dict[str, FileRecord] = {}
    shared: dict[str, str] = {}  # one string for each media type, role, source and item key the files repeat
    item_error: RecordError | None = None
    file_error: RecordError | None = None
    for key, at in _members(text):
        if key == "items" and at.peek() == "[":
            head[key] = []  # a list: what from_dict checks of it
            for element in _elements(at):
                if item_error is not None:
                    continue  # read on to the end all the same: a later syntax error has the record read whole
                try:
                    item = ItemRecord.from_dict(element)
                except RecordError as exc:
                    item_error = exc
                    continue
                if keep is not None:
                    keep.append(item)
        elif key == "files" and at.peek() == "{":
            head[key] = {}
            # Files not kept need no set of their paths to refuse one named twice, for they must come sorted.
            for path, _value in _members(at, ascending=not keep_files):
                value = at.value()
                if file_error is None:
                    try:
                        file = FileRecord.from_dict(value, f"file {path!r}")
                    except RecordError as exc:
                        file_error = exc
                        continue
                    if not keep_files:
                        continue
                    files[path] = FileRecord(
                        media_type=shared.setdefault(file.media_type, file.media_type),
                        role=shared.setdefault(file.role, file.role),
                        source=shared.setdefault(file.source, file.source),
                        item=None if file.item is None else shared.setdefault(file.item, file.item),
                    )
        else:
            head[key] = at.value()
    if text.peek() != "":
        raise NotStreamable  # text after the object: json.loads gives "Extra data"
    items = head.pop("items", None) or []
    raw_files = head.pop("files", None) or {}
    record = DepositRecord.from_dict(head)  # the format, publisher, title and AU are checked first, as before
    if not isinstance(items, list):
        raise RecordError("items must be a list")
    if not isinstance(raw_files, dict):
        raise RecordError("files must be an object")
    if item_error is not None:
        raise item_error
    if file_error is not None:
        raise file_error
    return replace(record, items=tuple(keep or ()), files=files)


def read_record(fh: IO[bytes]) -> DepositRecord:
    """The whole record in ``fh``; raises NotStreamable (the caller reads it whole) or RecordError."""
    kept: list[ItemRecord] = []
    return _scan(fh, kept)


def read_head(fh: IO[bytes], *, files: bool = True) -> RecordHead:
    """The record in ``fh`` without its items (each checked, and dropped: :func:`iter_items` reads them again);
    with ``files=False``, without its files either (each checked, and dropped: :func:`iter_files` reads them),
    which must then come in the order of their paths (else NotStreamable)."""
    return RecordHead(_scan(fh, None, keep_files=files))


def iter_items(fh: IO[bytes]) -> Iterator[ItemRecord]:
    """The items of the record in ``fh``, one at a time, for a record ``read_head`` has already read and checked."""
    text = _Text(fh)
    for key, at in _members(text):
        if key == "items" and at.peek() == "[":
            for element in _elements(at):
                yield ItemRecord.from_dict(element)
            return
        _skip(at, key)


def _skip(text: _Text, key: str) -> None:
    """Read past the value of the record's member ``key``, its list of items an element at a time and its files a
    member at a time (neither is held whole just to be passed over); any other member is small."""
    if key == "items" and text.peek() == "[":
        for _element in _elements(text):
            pass
    elif key == "files" and text.peek() == "{":  # read_head saw no path named twice, or this is not read in pieces
        for _path, at in _members(text, checked=True):
            at.value()
    else:
        text.value()


def iter_files(fh: IO[bytes]) -> Iterator[tuple[str, FileRecord]]:
    """The files of the record in ``fh`` (path and record), one at a time in the record's order, for a record
    ``read_head`` has already read and checked."""
    text = _Text(fh)
    for key, at in _members(text):
        if key == "files" and at.peek() == "{":
            for path, _value in _members(at, checked=True):
                yield path, FileRecord.from_dict(at.value(), f"file {path!r}")
            return
        _skip(at, key)


def json_members(source: IO[bytes] | _Text) -> Iterator[tuple[str, _Text]]:
    """For other readers of large JSON documents (an OCFL inventory): the members of the object in ``source`` (a
    byte stream, or the text at a member's value that this gave), each with the text at its value, which the caller
    consumes (with :func:`json_value`, or this again) before asking for the next. Keys are not kept: a caller that
    must refuse one named twice keeps them itself. Text after a whole document's object raises NotStreamable."""
    if isinstance(source, _Text):
        yield from _members(source, checked=True)
        return
    text = _Text(source)
    yield from _members(text, checked=True)
    if text.peek() != "":
        raise NotStreamable


def json_value(text: _Text) -> Any:
    """The value at the text :func:`json_members` gave, decoded whole."""
    return text.value()
