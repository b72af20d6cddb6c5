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


class CdxIndex:
    """A sorted CDXJ index read from a seekable binary stream (``fh``, left open by the caller). A local file is
    mapped into memory, so a lookup costs no system call; another stream is searched by seeking it."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.size = fh.seek(0, 2)
        self._map: mmap.mmap | None = None
        if self.size:
            with contextlib.suppress(OSError, ValueError, AttributeError):  # no file descriptor: seek instead
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)

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

    def lines(self, key: str) -> list[CdxLine]:
        """Every line whose SURT key is ``key``, in the index's order (oldest capture first)."""
        wanted = key.encode("utf-8")
        lo, hi = 0, self.size
        while lo < hi:  # the smallest position whose next line has a key >= wanted (or is the end)
            mid = (lo + hi) // 2
            line = self._line_from(mid)[1]
            if not line or line.split(b" ", 1)[0] >= wanted:
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
        try:
            captures = self.captures(url)
        except ValueError:  # not an address SURT can read: nothing is held under it
            return False
        return any(c.fields.get("url") == url and c.fields.get("status") == "200" for c in captures)
