"""The search seam: what the catalog, the command line and the portal ask of a full-text search engine.

An engine keeps one document per catalog item (its words, and the few fields results are filtered and
faceted by) and answers a query with the matching item ids, best first, and how many match in all. Which engine
runs is chosen by name in the settings (:mod:`strongroom.search.registry`); nothing outside the engines knows
which one it is. The user's words are always plain terms, never query syntax, so a crafted query can neither
raise an error nor reach beyond the index.

Documents are written from the catalog through its search queue (``services.indexer``), so an engine that lives
outside the catalog's database is kept in step as well as one inside it; whatever the engine says, the public read
model shows an item only after checking in the catalog that it is released.

Must not import: the catalog, services, faces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from strongroom.domain.names import fold as fold  # text as it is matched: one fold for search and listings
from strongroom.errors import ExitCode, StrongroomError

# Fields a query may be filtered by and faceted on, each the name of a SearchDocument attribute.
FACETS: dict[str, str] = {
    "country": "country",
    "publisher": "publisher_key",
    "title": "title_key",
    "year": "year",
    "language": "language",
}
MAX_TERMS = 32

_TERM = re.compile(r"\w[\w.\-/]*", re.UNICODE)
_QUOTED = re.compile(r'"([^"]*)"')


def terms(query: str) -> list[str]:
    """The words of a query, stripped of anything a search engine would read as syntax."""
    return _TERM.findall(query)[:MAX_TERMS]


def phrases(query: str) -> list[tuple[str, ...]]:
    """The words of a query in groups, each of which a hit must contain: one word, or the words of a phrase in
    double quotes ('"public health" senegal'), which must appear together and in that order. Double quotes are the
    only syntax read, and only to group words (an unpaired one is ignored); the words are those of :func:`terms`."""
    groups: list[tuple[str, ...]] = []
    start = 0
    for quoted in _QUOTED.finditer(query):
        groups += [(w,) for w in terms(query[start : quoted.start()])]
        inside = tuple(terms(quoted.group(1)))
        if inside:
            groups.append(inside)
        start = quoted.end()
    groups += [(w,) for w in terms(query[start:])]
    kept: list[tuple[str, ...]] = []
    room = MAX_TERMS
    for group in groups:
        if room <= 0:
            break
        kept.append(group[:room])
        room -= len(group)
    return kept


class SearchIndexBusy(StrongroomError):
    """Another process held the search index's writer for longer than a writer waits (a rebuild, say)."""

    exit_code = ExitCode.BUSY


@dataclass(frozen=True)
class SearchDocument:
    """One catalog item as the index sees it."""

    id: int
    title: str
    released: bool
    abstract: str = ""
    authors: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()  # DOI and the like
    country: str | None = None
    publisher_key: str | None = None
    title_key: str | None = None
    year: int | None = None
    language: str | None = None

    @property
    def text(self) -> str:
        """Every searchable word of the item in one text (for engines that index one field)."""
        return "\n".join(filter(None, (self.title, self.abstract, *self.identifiers, *self.authors, *self.keywords)))

    def facet(self, name: str) -> str | None:
        value = getattr(self, FACETS[name])
        return None if value is None else str(value)


@dataclass(frozen=True)
class SearchQuery:
    text: str
    released_only: bool = False  # the public portal's searches: only released items may match
    filters: Mapping[str, str] = field(default_factory=dict)  # facet name -> value every hit must have
    facets: Sequence[str] = ()  # facet names to count over all hits
    offset: int = 0
    limit: int = 20

    def __post_init__(self) -> None:
        unknown = (set(self.filters) | set(self.facets)) - set(FACETS)
        if unknown:
            raise ValueError(f"no facet {', '.join(sorted(unknown))}; facets are {', '.join(FACETS)}")


@dataclass(frozen=True)
class SearchHits:
    ids: list[int]  # best first
    total: int  # how many match in all
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # name -> (value, hits), most first
    exact: bool = True  # False: total and facet counts are estimates from a sample (an engine's choice at size)


class SearchIndex(Protocol):
    """A full-text index of catalog items."""

    name: str
    created: bool  # True when its storage was made empty just now: everything must be indexed again

    def replace(self, documents: Sequence[SearchDocument]) -> None:
        """Add documents, or replace those with the same ids."""
        ...

    def remove(self, ids: Sequence[int]) -> None: ...

    def batches(self) -> AbstractContextManager[None]:
        """A block of many :meth:`replace` and :meth:`remove` calls (the search queue's batches): each still
        commits when it returns, but an engine may keep what is costly to set up (a writer) between them."""
        ...

    def search(self, query: SearchQuery) -> SearchHits: ...

    def count(self) -> int:
        """How many documents the index holds."""
        ...

    def clear(self) -> None:
        """Remove every document."""
        ...

    def rebuild(self, batches: Iterable[Sequence[SearchDocument]]) -> int:
        """Make the index hold exactly the documents of ``batches`` (every catalog item); returns how many. The
        catalog keeps every item queued until this returns, so an engine that cannot swap a whole index at once may
        show a partial one meanwhile, but never loses one."""
        ...
