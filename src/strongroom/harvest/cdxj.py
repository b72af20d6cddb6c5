"""Looking up captures in a CDXJ index without reading it whole: the index is sorted by SURT key then timestamp
(as pywb and webrecorder's cdxj-indexer write it), so the lines of one address are found by binary search over
byte offsets in the stream, in O(log n) seeks and reads of a line, whatever the number of captures it holds."""

from __future__ import annotations

import contextlib
import functools
import mmap
from typing import BinaryIO

import surt

from strongroom.harvest.warc import CdxLine

# SURT canonicalisation is a third of a replayed page's cost (each of its links is looked up), and the same
# addresses (a site's stylesheet, its issue pages) come back on every page: remembered, it is paid once.
surt_key = functools.lru_cache(maxsize=65_536)(surt.surt)
HELD_KEPT = 4096  # answers an index remembers (about 1 MB), forgotten together when full


class CdxIndex:
    """A sorted CDXJ index read from a seekable binary stream (``fh``, left open by the caller). A local file is
    mapped into memory, so a lookup costs no system call, and the index no longer needs ``fh`` once made (a mapped
    index may be kept and shared by threads: it only reads); another stream is searched by seeking it."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.size = fh.seek(0, 2)
        self._map: mmap.mmap | None = None
        if self.size:
            with contextlib.suppress(OSError, ValueError, AttributeError):  # no file descriptor: seek instead
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        # whether each address looked up is held: a site's pages share most of their links (its stylesheet, its
        # issue and journal pages), so a page read after others looks few of them up in the index itself
        self._held: dict[str, bool] = {}

    @property
    def mapped(self) -> bool:
        """Whether lookups read a memory map of the file (else they seek the stream)."""
        return self._map is not None

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None

    def _line_from(self, position: int) -> tuple[int, bytes]:
        """The first line that starts at or after ``position``, and where it starts (b"" at the end)."""
        if self._map is not None:
            start = 0
            if position > 0:
                newline = self._map.find(b"\n", position - 1)
                start = self.size if newline < 0 else newline + 1
            end = self._map.find(b"\n", start)
            return start, self._map[start : self.size if end < 0 else end + 1]
        if position > 0:
            self.fh.seek(position - 1)
            self.fh.readline()  # the rest of the line holding byte position - 1, with its newline
        else:
            self.fh.seek(0)
        start = self.fh.tell()
        return start, self.fh.readline()

    def _key_from(self, position: int) -> bytes | None:
        """The key of the first line that starts at or after ``position`` (None at the end)."""
        if self._map is None:
            line = self._line_from(position)[1]
            return line.split(b" ", 1)[0] if line else None
        find = self._map.find
        start = 0
        if position > 0:
            newline = find(b"\n", position - 1)
            if newline < 0 or newline + 1 >= self.size:
                return None
            start = newline + 1
        end = find(b" ", start)
        newline = find(b"\n", start)
        if newline >= 0 and (end < 0 or newline < end):
            end = newline  # a line with no space: all of it is its key, as split gives it
        return self._map[start : self.size if end < 0 else end]

    def lines(self, key: str) -> list[CdxLine]:
        """Every line whose SURT key is ``key``, in the index's order (oldest capture first)."""
        wanted = key.encode("utf-8")
        lo, hi = 0, self.size
        while lo < hi:  # the smallest position whose next line has a key >= wanted (or is the end)
            mid = (lo + hi) // 2
            found_key = self._key_from(mid)
            if found_key is None or found_key >= wanted:
                hi = mid
            else:
                lo = mid + 1
        found = []
        position, line = self._line_from(lo)
        while line and line.split(b" ", 1)[0] == wanted:
            found.append(CdxLine.parse(line.decode("utf-8").rstrip("\n")))
            position, line = self._line_from(position + len(line))
        return found

    def captures(self, url: str) -> list[CdxLine]:
        """Every capture of ``url`` (and of the addresses SURT takes as the same), oldest first."""
        return self.lines(surt_key(url))

    def __contains__(self, url: object) -> bool:
        """Whether the index holds a page or file from ``url`` (a 200 capture of that very address)."""
        if not isinstance(url, str):
            return False
        held = self._held.get(url)
        if held is None:
            try:
                captures = self.captures(url)
            except ValueError:  # not an address SURT can read: nothing is held under it
                captures = []
            held = any(c.fields.get("url") == url and c.fields.get("status") == "200" for c in captures)
            if len(self._held) >= HELD_KEPT:
                self._held.clear()
            self._held[url] = held
        return held
