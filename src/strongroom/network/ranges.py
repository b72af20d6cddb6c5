"""The byte range a peer asks for in a ``Range`` header (RFC 9110 section 14), read strictly: a repair asks for one
block of a file (``bytes=first-last``), and a peer may also ask for the rest of a file from an offset
(``bytes=first-``) or for its last bytes (``bytes=-count``). Anything else is refused with the problem named,
never guessed at: a header that is not one byte range (:func:`parse_range` raises ValueError, a 400), or a range
that falls outside the file (:meth:`ByteRange.within` answers None, a 416). Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 9110: range-unit "=" range-set; the unit is case-insensitive, positions are ASCII digits only (Python's int()
# would also take '+5', ' 5', '5_0' and other scripts' digits, none of which is a position).
_RANGES = re.compile(r"(?P<unit>[!#$%&'*+.^_`|~0-9A-Za-z-]+)=(?P<set>.*)", re.DOTALL)
_ONE = re.compile(r"(?P<first>[0-9]*)-(?P<last>[0-9]*)")
_BEYOND = 10**19  # past the end of any file (sizes fit in 63 bits): what a longer position means here


def _position(digits: str) -> int:
    # int() refuses more than 4300 digits; a position that long is past any file's end, and means what _BEYOND does
    significant = digits.lstrip("0")
    return _BEYOND if len(significant) > 19 else int(significant or "0")


@dataclass(frozen=True)
class ByteRange:
    """One range as asked: ``first`` to ``last`` inclusive (``last`` None: to the end of the file), or, with
    ``first`` None, the last ``last`` bytes of the file."""

    first: int | None
    last: int | None

    def within(self, size: int) -> tuple[int, int] | None:
        """The (first, last) byte positions this range selects in a file of ``size`` bytes (``last`` cut to the
        file's end, so that no more than the file is ever read), or None when it selects none (RFC 9110 14.1.2: a
        first position at or past the end, or a suffix of no bytes)."""
        if self.first is None:
            assert self.last is not None
            if self.last == 0 or size == 0:
                return None
            return max(0, size - self.last), size - 1
        if self.first >= size:
            return None
        return self.first, size - 1 if self.last is None else min(self.last, size - 1)


def parse_range(header: str) -> ByteRange:
    """The one byte range ``header`` (a Range header's value) asks for; ValueError naming what is wrong with it
    when it is not exactly one well-formed byte range."""
    shown = header[:60]
    matched = _RANGES.fullmatch(header.strip(" \t"))
    if matched is None:
        raise ValueError(f"malformed Range header {shown!r}: expected bytes=FIRST-LAST")
    if matched["unit"].lower() != "bytes":
        raise ValueError(f"Range header in {matched['unit']!r}: only bytes ranges are served")
    specs = [s.strip(" \t") for s in matched["set"].split(",")]
    specs = [s for s in specs if s]  # RFC 9110 5.6.1: empty list elements are ignored
    if not specs:
        raise ValueError(f"Range header {shown!r} names no range")
    if len(specs) > 1:
        raise ValueError(f"Range header {shown!r} asks for {len(specs)} ranges: ask for one range per request")
    one = _ONE.fullmatch(specs[0])
    if one is None or not (one["first"] or one["last"]):
        raise ValueError(f"malformed byte range {specs[0][:40]!r}: expected FIRST-LAST, FIRST- or -COUNT in digits")
    if not one["first"]:
        return ByteRange(None, _position(one["last"]))
    first = _position(one["first"])
    last = _position(one["last"]) if one["last"] else None
    if last is not None and last < first:
        raise ValueError(f"byte range {specs[0][:40]!r} ends before it starts")
    return ByteRange(first, last)
