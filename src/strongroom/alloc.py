"""Giving memory the process has freed back to the operating system, where the C library allows it.

glibc keeps freed memory in its arenas (one per thread that allocated, up to eight per core): after a deposit's
cataloguing lets go of tens of megabytes, and while a search engine's writer threads allocate and free their heap
in arenas of their own, the resident memory stays at its highest. ``malloc_trim(0)`` returns the free pages of
every arena. Other C libraries (musl, macOS, Windows) have no such call: there :func:`give_back` does nothing.

It imports nothing but the standard library.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # no C library to load, or one without malloc_trim (musl)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def give_back() -> bool:
    """Return the free pages of every malloc arena to the operating system; False where that cannot be done."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
