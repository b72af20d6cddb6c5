"""Walking a directory tree a folder at a time, holding only the folders open on the way down (issue 16: a deposit's
memory independent of its number of articles)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# The folders whose listings a walk reads as it goes (an open descriptor each); deeper ones are read whole.
OPEN_FOLDERS = 32


def walk_entries(root: Path | str, below: str = "") -> Iterator[tuple[str, os.DirEntry[str], bool]]:
    """Every entry under ``root`` (or its folder ``below``), depth first, each folder's entries in the order the
    file system lists them, each followed by what it holds: the entry's '/'-separated path relative to ``root``,
    the entry, and whether it is a folder (a link to a folder is one, as ``os.walk`` says, but is not walked into).

    ``os.walk`` lists a whole folder before it yields it and keeps the listing of every folder above the one it is
    in: a package of 100,000 article folders side by side held 100,000 names for the whole walk. This reads each
    folder's listing as it goes (``os.scandir``), so what is held is one entry per open folder; below
    ``OPEN_FOLDERS`` levels a folder is read whole, so that a deep tree does not run out of descriptors. A folder
    that cannot be listed is passed over, as ``os.walk`` does."""
    top = os.path.join(root, below) if below else os.fspath(root)
    base = below.replace(os.sep, "/").strip("/")
    stack: list[tuple[str, Iterator[os.DirEntry[str]]]] = []
    try:
        try:
            stack.append((base + "/" if base else "", os.scandir(top)))
        except OSError:
            return
        while stack:
            prefix, listing = stack[-1]
            entry = next(listing, None)
            if entry is None:
                _close(stack.pop()[1])
                continue
            rel = prefix + entry.name
            try:
                is_folder = entry.is_dir()
                walk_into = is_folder and not entry.is_symlink()
            except OSError:
                is_folder = walk_into = False
            yield rel, entry, is_folder
            if not walk_into:
                continue
            try:
                below_it = os.scandir(entry.path)
            except OSError:
                continue
            if len(stack) >= OPEN_FOLDERS:
                with below_it:
                    stack.append((rel + "/", iter(list(below_it))))
            else:
                stack.append((rel + "/", below_it))
    finally:
        for _prefix, listing in stack:
            _close(listing)


def _close(listing: Iterator[os.DirEntry[str]]) -> None:
    close = getattr(listing, "close", None)  # a scandir iterator holds a descriptor; a list's iterator nothing
    if close is not None:
        close()
