"""The articles' metadata of a package being deposited, kept on disk in its scratch directory rather than in memory.

A package of tens of thousands of articles is read article by article: each article's parsed JATS
(:class:`~strongroom.domain.model.ArticleMeta`) is written here as soon as it is read and read back, one at a time,
when the deposit record is written; what the plan decides from all the articles at once (the journal most of them
name, their years, languages and licences) is the small :class:`ArticleFacts` gathered on the way. Memory then holds
an offset per article, not its metadata.

The spool is a private file of the deposit's own work directory, written and read by the same process (so pickle,
which round-trips the metadata exactly, is safe here); it is removed with the directory.
"""

from __future__ import annotations

import pickle
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from strongroom.domain.model import ArticleMeta, JournalMeta


@dataclass(slots=True)
class ArticleFacts:
    """What the plan needs from all the articles of a package, counted in the package's order of items (so that
    ties between journals or licences fall as they did when the plan read every article itself)."""

    journals: Counter[JournalMeta] = field(default_factory=Counter)
    years: set[int] = field(default_factory=set)
    languages: set[str] = field(default_factory=set)
    licences: Counter[str] = field(default_factory=Counter)

    def add(self, meta: ArticleMeta) -> None:
        self.journals[meta.journal] += 1
        if meta.year:
            self.years.add(meta.year)
        if meta.language:
            self.languages.add(meta.language)
        if meta.licence:
            self.licences[meta.licence] += 1


class ArticleSpool:
    """Append-only file of pickled :class:`ArticleMeta`, each found again by the offset ``put`` returned."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None
        self._end = 0
        self._closed = False

    def _file(self) -> IO[bytes]:
        if self._closed:
            raise ValueError("the article spool is closed")
        if self._fh is None:  # made at the first article: a package without JATS leaves no file
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w+b")
        return self._fh

    def put(self, meta: ArticleMeta) -> int:
        fh = self._file()
        fh.seek(self._end)
        pickle.dump(meta, fh, protocol=pickle.HIGHEST_PROTOCOL)
        offset, self._end = self._end, fh.tell()
        return offset

    def get(self, offset: int) -> ArticleMeta:
        fh = self._file()
        fh.seek(offset)
        meta = pickle.load(fh)  # noqa: S301 - written by this process in its own scratch directory, just above
        assert isinstance(meta, ArticleMeta)
        return meta

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._closed = True
