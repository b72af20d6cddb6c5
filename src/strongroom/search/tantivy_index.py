"""The ``tantivy`` search engine: a Tantivy index (an embedded Lucene-like library) in the node's home, for archives
of millions of items, where ranking every match in the catalog's database is too slow.

Text is folded (:func:`~strongroom.search.base.fold`: case and diacritics; :func:`folded` does it for the index
only where a text is not ASCII) before it is indexed and before it is searched, and split into words by the same
Tantivy analyzer on both sides, so the index and the queries never disagree about what a word is. Queries are built
term by term with Tantivy's query objects, never by its query parser, so the user's words are only ever words; a
quoted group of words is a phrase, and so is one word the analyzer splits ('10.5555/abc').

Released and dark content are kept apart in the index itself: a released document's words are in the field ``text``
and a dark one's in ``dark``. A public search asks ``text`` only, so no query, filter or facet count can ever reach
a dark document's words, and a one-word public search is a lone term query, which Tantivy answers without visiting
every match (block-WAND skips the blocks that cannot reach the top hits). Staff searches ask both fields.

At millions of documents, counting every match and aggregating the facets over all of them costs as much as the
matches: the top hits are found without a count, and the total and the facet counts are exact only when a cheap
probe says there are fewer than ``exact_below`` matches. Otherwise they are counted in a nested sample of the
documents (the field ``sample`` holds level L when the low L bits of a mixed hash of the id are zero: 1 in 2^L)
holding about ``sample_target`` matches, scaled up and rounded, and :class:`SearchHits` says so (``exact`` False).
When there is much to visit, the top hits are searched on another thread while the total and the facets are counted
(one aggregation pass gives both): Tantivy releases Python's lock while it searches, so a query uses two cores.

An archive of millions of documents can be kept in shards (``search.shards``: ``shard-0`` ... in the index's
directory, their count in ``strongroom-shards``; one shard is the directory itself). Each document is in the shard
its id's hash names; a search asks every shard at once on the pool's threads (a common word's top 10 costs in
proportion to the documents searched, and Tantivy's Python binding searches one index on one thread), merges their
top hits by score and sums their totals and facet counts (each shard asked for more facet values than are shown).
Each shard scores with its own word statistics, so the order of hits of nearly equal score can differ from one
index's; the matches, totals and facet counts are the same.

One process at a time writes: a writer is taken under a file lock beside the index, with a short retry, and every
:meth:`TantivyIndex.replace`, :meth:`~TantivyIndex.remove`, :meth:`~TantivyIndex.clear` and
:meth:`~TantivyIndex.rebuild` (a whole index in one commit) commits before it returns, so the catalog's search
queue drops an entry only once the index has it on disk. Readers reload when the index's ``meta.json`` changed
(another process committed).

Must not import: the catalog, services, faces.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import math
import operator
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import tantivy

from strongroom import space
from strongroom.errors import SearchIndexFull
from strongroom.filelocks import exclusive
from strongroom.search import tantivy_layout
from strongroom.search.base import FACETS, SearchDocument, SearchHits, SearchIndexBusy, SearchQuery, fold, phrases
from strongroom.search.tantivy_layout import MAX_SHARDS, SCHEMA_FILE, SHARDS_FILE, shard_paths

FACET_LIMIT = 50
MAX_WORD = 100  # bytes: longer runs of letters are not words (and no query word can match them)
LOCK_WAIT = 30.0  # seconds a writer waits for another process's commit
# A writer's heap and threads cost at every commit (measured: a commit of 20 documents takes about twice as long with
# 64 MB as with 15 MB, and longer with each thread), so small writes get the least Tantivy allows, one thread.
NEARLY_FULL = 64 * 1024 * 1024  # bytes free below which a writer thread's lost I/O error is taken for a full disk
WRITER_HEAP = 15_000_000  # bytes, for the search queue's batches (hundreds of documents): Tantivy's minimum
REBUILD_HEAP = 256_000_000  # bytes, shared by a full rebuild's indexing threads
REBUILD_THREADS = max(1, min(4, os.cpu_count() or 1))
SMALL_REBUILD = 500  # documents (as many as a search queue batch): a rebuild of no more is written as a small write
ID, TEXT, DARK, SAMPLE = "id", "text", "dark", "sample"
SCHEMA_VERSION = "2"  # written beside the index; a different one means the index is rebuilt (2: text/dark, sample)
# Buckets each shard is asked for when a facet's counts are summed over shards: more than are shown, so that a value
# in the top FACET_LIMIT overall but not in one shard's top FACET_LIMIT is still counted there (as Tantivy does across
# segments, and Elasticsearch across shards: 1.5 times the size plus 10).
SHARD_FACET_LIMIT = FACET_LIMIT * 3 // 2 + 10
SAMPLE_LEVELS = 16  # level L (0..16) holds 1 document in 2^L, nested: each level's documents are in every lower one
PROBE_LEVEL = 10  # the first, cheap count: matches among 1 in 1,024 documents
# Matches (as the probe estimates them) below which totals and facets are counted exactly. Measured at 1M documents
# (docs/benchmarks.md): at 50,000 matches counting them all is cheaper than intersecting them with a sample level's
# documents, at about 100,000 the two cost the same, above it the sample wins (at 660,000, 4x); the exact cost is
# bounded by this number whatever the archive's size.
EXACT_BELOW = 100_000
SAMPLE_TARGET = 10_000  # matches an estimate counts: a relative error of about 1% (1/sqrt(10,000)); 0.3-0.6% measured
ESTIMATE_DIGITS = 2  # significant digits an estimate is given with ('about 6,500,000')
# Estimated matches from which the top hits are searched on another thread beside the total and the facets (below
# it both searches take well under a millisecond, less than handing one to a thread).
BESIDE_ABOVE = 5_000
T = TypeVar("T")
_MATCHES = "strongroom:matches"  # the aggregation that counts the matches beside the facets (not a field name)


ANALYZER = "strongroom"


def _analyzer(longest: int | None) -> tantivy.TextAnalyzer:
    """Words are runs of letters and digits of folded text; the index's drops those of ``longest`` bytes or more."""
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    if longest is not None:
        builder = builder.filter(tantivy.Filter.remove_long(longest))
    return builder.filter(tantivy.Filter.lowercase()).build()


_QUERY_WORDS = _analyzer(None)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@functools.lru_cache(maxsize=65_536)  # words recur (Zipf): most runs are folded once
def _fold_run(run: str) -> str:
    return fold(run)


def _latin1_folds() -> bytes:
    """A ``bytes.translate`` table: each Latin-1 character to its fold where that is one Latin-1 character ('É' to
    'e', 'ø' to itself), to NUL where it is not ('ß' is 'ss', '½' is '1⁄2', 'µ' is Greek); ASCII to itself."""
    table = bytearray(range(256))
    for code in range(0x80, 0x100):
        f = fold(chr(code))
        table[code] = ord(f) if len(f) == 1 and ord(f) < 0x100 else 0
    return bytes(table)


_LATIN1_FOLDS = _latin1_folds()


def folded(text: str) -> str:
    """``text`` as the index's analyzer must see it: the same words as :func:`~strongroom.search.base.fold` gives
    once lower-cased, at a fraction of the cost. Folding works character by character (NFKD decomposes each one on
    its own, and the combining marks that canonical ordering would move are all dropped), so ASCII letters are left
    to the analyzer's lower-casing, a text of Latin-1 characters (most of the archive's French, Spanish and
    Portuguese) is folded by one byte-for-byte table in C, and otherwise only the runs of non-ASCII characters are
    folded, in Python (a regular expression over every character: 5 times the table's cost)."""
    if text.isascii():
        return text
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        pass
    else:
        out = raw.translate(_LATIN1_FOLDS)
        if b"\x00" not in out:  # no character that folds to several (or a NUL already there: rare, either way)
            return out.decode("latin-1")
    return _NON_ASCII.sub(lambda m: _fold_run(m.group()), text)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field(ID, stored=False, indexed=True, fast=True)
    builder.add_text_field(TEXT, tokenizer_name=ANALYZER, index_option="position")  # released documents' words
    builder.add_text_field(DARK, tokenizer_name=ANALYZER, index_option="position")  # dark documents' words
    builder.add_unsigned_field(SAMPLE, indexed=True)  # every sample level the document is in
    for name in FACETS:
        builder.add_text_field(name, tokenizer_name="raw", fast=True)
    return builder.build()


_facet_values = operator.attrgetter(*FACETS.values())  # a document's facet attributes, in FACETS' order, in one call


def _mixed(item_id: int) -> int:
    """The id's 64-bit hash (splitmix64's finalizer, so neighbouring ids land apart)."""
    h = (item_id + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return h ^ (h >> 31)


def _levels(h: int) -> range:
    zeros = (h & -h).bit_length() - 1 if h else SAMPLE_LEVELS  # trailing zero bits
    return range(min(zeros, SAMPLE_LEVELS) + 1)


def sample_levels(item_id: int) -> range:
    """The sample levels a document is in: L for every L up to :data:`SAMPLE_LEVELS` where the low L bits of the
    id's hash are zero."""
    return _levels(_mixed(item_id))


def shard_of(item_id: int, shards: int) -> int:
    """The shard a document is kept in (see :func:`_shard`)."""
    return _shard(_mixed(item_id), shards)


def _shard(h: int, shards: int) -> int:
    """The shard of a document whose id's hash is ``h``: from the high half of the hash, so that every shard holds
    its share of every sample level (which the low bits decide)."""
    return (h >> 32) % shards


def stored_shards(directory: Path) -> int | None:
    """How many shards the index at ``directory`` has, if it is a whole index of this schema; None otherwise."""
    return tantivy_layout.stored_shards(directory, SCHEMA_VERSION)


def rounded(n: float, digits: int = ESTIMATE_DIGITS) -> int:
    """``n`` to ``digits`` significant digits (6,512,384 -> 6,500,000): an estimate shows no more than it knows."""
    if n < 1:
        return 0
    step = 10 ** max(0, math.floor(math.log10(n)) + 1 - digits)
    return int(round(n / step) * step)


class TantivyIndex:
    name = "tantivy"

    def __init__(self, directory: Path, shards: int | None = None) -> None:
        """The index at ``directory``, in ``shards`` shards (None: as many as it has on disk, one for a new one). An
        index of another schema, or of another number of shards than asked, is made anew (``created``): the node
        then fills it from the catalog."""
        if shards is not None and not 1 <= shards <= MAX_SHARDS:
            raise ValueError(f"search.shards must be from 1 to {MAX_SHARDS}, not {shards}")
        self.directory = directory
        self.lock_path = directory.with_name(directory.name + ".lock")
        self.lock_wait: float | None = None  # how long a write waits for another's: LOCK_WAIT, unless set
        self.exact_below = EXACT_BELOW  # settable (tests use small ones)
        self.sample_target = SAMPLE_TARGET
        self.probe_level = PROBE_LEVEL
        self.beside_above = BESIDE_ABOVE
        self.schema = _schema()
        directory.parent.mkdir(parents=True, exist_ok=True)
        found = stored_shards(directory)
        if found is not None and shards in (None, found):  # opened for reading without the writer's lock
            self.created = self._open(found, current=True)
        else:
            with self._locked():
                found = stored_shards(directory)
                current = found is not None and shards in (None, found)
                self.created = self._open(found if current and found else shards or 1, current)
        self._held: dict[int, dict[int, tantivy.IndexWriter]] = {}  # thread -> the writers batches() keeps for it

    def _open(self, shards: int, current: bool) -> bool:
        if not current:  # new, or made by another version: the catalog's queue fills it again
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory.mkdir(parents=True)
            if shards > 1:
                (self.directory / SHARDS_FILE).write_text(str(shards))
        indexes = []
        for path in shard_paths(self.directory, shards):
            path.mkdir(exist_ok=True)
            index = tantivy.Index(self.schema, path=str(path), reuse=True)
            index.register_tokenizer(ANALYZER, _analyzer(MAX_WORD))
            index.config_reader(reload_policy="manual")
            indexes.append(index)
        if not current:
            (self.directory / SCHEMA_FILE).write_text(SCHEMA_VERSION)
        # each shard's index, and the meta.json it was last loaded from: replaced together, in one assignment
        self._layout: tuple[list[tantivy.Index], list[tuple[int, int, int] | None]] = (indexes, [None] * shards)
        self._made = _identity(self.directory / SCHEMA_FILE)
        return not current

    @property
    def indexes(self) -> list[tantivy.Index]:
        return self._layout[0]

    def _follow(self) -> None:
        """Open the index again if another process made it anew (another ``search.shards``) since this one opened
        it: the version file is written once when an index is made."""
        if _identity(self.directory / SCHEMA_FILE) == self._made:
            return
        found = stored_shards(self.directory)
        if found is None:
            raise SearchIndexBusy(
                f"the search index at {self.directory} is being made anew by another process",
                hint="try again in a moment; the process that opened the node writes it from the catalog",
            )
        self._open(found, current=True)

    @property
    def shards(self) -> int:
        return len(self.indexes)

    # ---- writing ---------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The index's writer lock (one process at a time), waited for up to ``lock_wait`` seconds."""

        wait = LOCK_WAIT if self.lock_wait is None else self.lock_wait

        def timed_out() -> SearchIndexBusy:
            return SearchIndexBusy(
                f"another process has been writing the search index at {self.directory} for more than "
                f"{wait:.0f} s; the documents not yet written stay queued",
                hint="run the command again when the other one (a reindex?) has finished",
            )

        with open(self.lock_path, "a+b") as fh, exclusive(fh, wait, timed_out):
            yield

    def _new_writers(self, shards: Iterable[int], heap: int, threads: int) -> dict[int, tantivy.IndexWriter]:
        return {i: self.indexes[i].writer(heap_size=heap, num_threads=threads) for i in shards}

    @contextlib.contextmanager
    def _writers(
        self, ids: Iterable[int] | None, heap: int = WRITER_HEAP, threads: int = 1
    ) -> Iterator[tuple[dict[int, tantivy.IndexWriter], dict[int, list[int]]]]:
        """A writer for each shard holding one of ``ids`` (every shard for None), and those ids by shard, whose work
        is committed (on disk) when the block ends, shard after shard, or rolled back if it raises. A document is in
        one shard, so each one is replaced or removed in one commit; a batch cut short between two shards' commits
        stays queued in the catalog, and is written again. The ids are grouped once the writer's lock is held, in the
        layout then on disk (another process may have made the index anew in another number of shards). Inside
        :meth:`batches` the writers are the ones kept there (same heap and threads: small writes only)."""
        held = self._held.get(threading.get_ident())
        if held is not None and (heap, threads) == (WRITER_HEAP, 1):
            with self._reporting_full():
                grouped = self._by_shard(ids)
                writers = {i: held[i] for i in (sorted(grouped) if ids is not None else range(self.shards))}
                try:
                    yield writers, grouped
                    _commit_all(writers)
                except BaseException:
                    for writer in writers.values():
                        writer.rollback()
                    raise
            return
        with self._locked(), self._reporting_full():
            self._follow()  # under the lock, no other process can make the index anew until this block ends
            grouped = self._by_shard(ids)
            writers = self._new_writers(sorted(grouped) if ids is not None else range(self.shards), heap, threads)
            try:
                yield writers, grouped
                _commit_all(writers)
            except BaseException:
                for writer in writers.values():
                    writer.rollback()
                raise
            finally:
                for writer in writers.values():
                    writer.wait_merging_threads()  # also drops the writer, and Tantivy's own lock with it

    @contextlib.contextmanager
    def batches(self) -> Iterator[None]:
        """One small writer per shard (and the writer lock) kept for many replace and remove calls, each still
        committed as it returns: a writer per batch costs its set-up, and each one's threads leave memory behind in
        the allocator's arenas (about 60 MB over a 10,000-article deposit)."""
        me = threading.get_ident()  # only this thread's writes use the kept writers; another's wait for the lock
        if me in self._held:  # nested: the outer block keeps the writers
            yield
            return
        with self._locked(), self._reporting_full():
            self._follow()
            writers = self._new_writers(range(self.shards), WRITER_HEAP, 1)
            self._held[me] = writers
            try:
                yield
            finally:
                del self._held[me]
                for writer in writers.values():
                    writer.wait_merging_threads()

    @contextlib.contextmanager
    def _reporting_full(self) -> Iterator[None]:
        try:
            yield
        except (OSError, ValueError) as exc:  # tantivy reports I/O failures as ValueError
            if not self._out_of_room(exc):
                raise
            raise SearchIndexFull(
                f"the tantivy search index at {self.directory} has no room left; the documents not yet written "
                "stay queued",
                hint="free space on that disk, then run the command again (or strongroom reindex --search)",
            ) from None

    def _out_of_room(self, exc: OSError | ValueError) -> bool:
        """Whether a failed write ran out of room. Tantivy keeps the errno when the failing call was its own, but a
        worker thread's I/O failure reaches Python only as "An index writer was killed ... (io::Error most
        likely)": that one counts as a full disk when the index's disk is nearly full at the time."""
        if isinstance(exc, OSError):
            return space.is_full(exc)
        text = str(exc)
        if "No space left" in text:
            return True
        if "io::Error" not in text and "IoError" not in text:
            return False
        free = space.free_bytes(self.directory)
        return free is not None and free < NEARLY_FULL

    def _by_shard(self, ids: Iterable[int] | None) -> dict[int, list[int]]:
        grouped: dict[int, list[int]] = {}
        for i in ids or ():
            grouped.setdefault(shard_of(i, self.shards), []).append(int(i))
        return grouped

    def _delete(self, writer: tantivy.IndexWriter, ids: Sequence[int]) -> None:
        if ids:
            writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, ID, [int(i) for i in ids]))

    def _document(self, d: SearchDocument, h: int) -> tantivy.Document:
        """The Tantivy document of ``d`` (whose id's hash is ``h``; its facets as :meth:`SearchDocument.facet` gives
        them, read at once)."""
        doc = tantivy.Document()
        doc.add_unsigned(ID, d.id)
        doc.add_text(TEXT if d.released else DARK, folded(d.text))
        for level in _levels(h):
            doc.add_unsigned(SAMPLE, level)
        for name, value in zip(FACETS, _facet_values(d), strict=True):
            if value is not None:
                doc.add_text(name, str(value))
        return doc

    def _add(self, writers: dict[int, tantivy.IndexWriter], d: SearchDocument) -> None:
        h = _mixed(d.id)
        writers[_shard(h, self.shards)].add_document(self._document(d, h))

    def replace(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        with self._writers(d.id for d in documents) as (writers, ids):
            for shard, writer in writers.items():
                self._delete(writer, ids[shard])
            for d in documents:
                self._add(writers, d)

    def rebuild(self, batches: Iterable[Sequence[SearchDocument]]) -> int:
        """Every document replaced by those of ``batches``, in one commit per shard, by writers with a large heap
        and a thread per core between them (a small writer for a small catalog; none when an empty index is rebuilt
        from nothing). The old documents are deleted by a query rather than dropped, so until a shard's commit it
        is, on disk and to every search, the old one whole; a rebuild cut short leaves each shard old or new whole
        (the catalog keeps every item queued until the last commit, and the next start writes them again)."""
        it = iter(batches)
        ahead = [b for b in [next(it, None)] if b is not None]
        if ahead and len(ahead[0]) <= SMALL_REBUILD:  # a small first batch: is it the only one?
            ahead += [b for b in [next(it, None)] if b is not None]
        small = len(ahead) <= 1 and sum(len(b) for b in ahead) <= SMALL_REBUILD
        if small and not ahead and self.count() == 0:
            return 0  # a new node's empty catalog: nothing to write
        written = 0
        heap, threads = (
            (WRITER_HEAP, 1)
            if small
            else (max(WRITER_HEAP, REBUILD_HEAP // self.shards), max(1, REBUILD_THREADS // self.shards))
        )
        with self._writers(None, heap, threads) as (writers, _):
            for writer in writers.values():
                writer.delete_documents_by_query(tantivy.Query.all_query())  # only documents added before it
            add = self._add
            for batch in itertools.chain(ahead, it):
                for d in batch:
                    add(writers, d)
                written += len(batch)
        return written

    def remove(self, ids: Sequence[int]) -> None:
        if ids:
            with self._writers(ids) as (writers, grouped):
                for shard, writer in writers.items():
                    self._delete(writer, grouped[shard])

    def clear(self) -> None:
        with self._writers(None) as (writers, _):
            for writer in writers.values():
                writer.delete_all_documents()

    # ---- reading ---------------------------------------------------------------------------------------------

    def _searchers(self) -> list[tantivy.Searcher]:
        """A searcher of each shard's last commit, whichever process made it."""
        self._follow()
        indexes, last = self._layout  # one layout's, even if another thread follows a new one meanwhile
        searchers = []
        for i, (path, index) in enumerate(zip(shard_paths(self.directory, len(indexes)), indexes, strict=True)):
            seen = _identity(path / "meta.json")
            if seen != last[i]:
                index.reload()
                last[i] = seen
            searchers.append(index.searcher())
        return searchers

    def count(self) -> int:
        return sum(int(s.num_docs) for s in self._searchers())

    def clauses(self, search: SearchQuery) -> list[tantivy.Query] | None:
        """The queries a hit of ``search`` must match, all of them (None when it cannot match anything): each word
        or phrase in ``text`` (public searches) or in ``text`` or ``dark`` (staff searches), and each filter."""
        fields = [TEXT] if search.released_only else [TEXT, DARK]
        required: list[tantivy.Query] = []
        for group in phrases(search.text):
            tokens = [t for word in group for t in _QUERY_WORDS.analyze(fold(word))]
            if any(len(t.encode()) >= MAX_WORD for t in tokens):
                return None  # no such word is indexed
            if not tokens:
                continue
            if len(tokens) == 1:
                each = [tantivy.Query.term_query(self.schema, f, tokens[0], index_option="freq") for f in fields]
            else:  # a quoted phrase, or one word the index splits ('10.5555/abc'): the words in order
                words = list[str | tuple[int, str]](tokens)
                each = [tantivy.Query.phrase_query(self.schema, f, words) for f in fields]
            required.append(each[0] if len(each) == 1 else _all(each, tantivy.Occur.Should))
        if not required:
            return None
        for name, value in search.filters.items():  # names are checked against FACETS by SearchQuery
            required.append(tantivy.Query.term_query(self.schema, name, str(value)))
        return required

    def query(self, search: SearchQuery) -> tantivy.Query | None:
        """The Tantivy query for a search (None when it cannot match anything): one term query alone when that is
        all it asks, which Tantivy prunes; an intersection of them otherwise."""
        required = self.clauses(search)
        return None if required is None else _all(required)

    def search(self, query: SearchQuery) -> SearchHits:
        required = self.clauses(query)
        if required is None:
            return SearchHits([], 0)
        q = _all(required)
        searchers = self._searchers()
        level, estimate = self._level(searchers, required)
        counted = q if level == 0 else _all([*required, tantivy.Query.term_query(self.schema, SAMPLE, level)])
        scale = 1 << level
        names = [name for name in dict.fromkeys(query.facets) if name in FACETS]
        limit, offset = query.limit, max(query.offset, 0)
        one = len(searchers) == 1
        # The top hits and the counting are searches over the same segments; Tantivy lets go of Python's lock
        # while it searches, so when they have much to visit they run on the pool's threads at once: each shard's
        # top hits, and the counting beside them (on one shard, the top hits on another core meanwhile).
        spread = estimate >= self.beside_above and (not one or (limit > 0 and (level > 0 or bool(names))))
        run = _pool().submit if spread else _now
        # The total is counted in the top hits' own pass when every match is visited anyway; otherwise the top hits
        # are found without a count, so Tantivy may skip the blocks of matches that cannot reach them (block-WAND, on
        # a lone term query), and the matches are counted beside them.
        in_top = limit > 0 and level == 0 and not (spread and names)
        # Tantivy panics on a limit of 0. Over shards each gives its best offset + limit, merged by score.
        tops = (
            [run(_top, s, q, limit if one else offset + limit, offset if one else 0, in_top) for s in searchers]
            if limit > 0
            else []
        )
        counts: list[Future[int]] = []
        aggregations: list[Future[dict[str, Any]]] = []
        if names:
            size = FACET_LIMIT if one else SHARD_FACET_LIMIT
            spec: dict[str, object] = {name: {"terms": {"field": name, "size": size}} for name in names}
            if not in_top:  # every document has one id: its count is the number of matches, in the same pass
                spec[_MATCHES] = {"value_count": {"field": ID}}
            aggregations = [run(s.aggregate, counted, spec) for s in searchers]
        elif not in_top:
            counts = [run(_count, s, counted) for s in searchers]
        found = [t.result() for t in tops]
        results = [a.result() for a in aggregations]
        if in_top:
            total = sum(n or 0 for _, n in found)
        elif results:
            total = sum(int(r.get(_MATCHES, {}).get("value") or 0) for r in results)
        else:
            total = sum(c.result() for c in counts)
        if one:
            ids = [i for _, i in found[0][0]] if found else []
        else:  # best score first, each shard's own order kept (so a page is the same slice of any longer list)
            merged = heapq.merge(*(hits for hits, _ in found), key=_by_score)
            ids = [i for _, i in itertools.islice(merged, offset, offset + limit)]
        facets: dict[str, list[tuple[str, int]]] = {}
        for name in names:
            summed: dict[str, int] = {}
            for r in results:
                for b in r.get(name, {}).get("buckets", []):
                    summed[str(b["key"])] = summed.get(str(b["key"]), 0) + int(b["doc_count"])
            ordered = sorted(((v, n) for v, n in summed.items() if n > 0), key=lambda vc: (-vc[1], vc[0]))
            ordered = ordered[:FACET_LIMIT]
            facets[name] = ordered if level == 0 else [(v, rounded(n * scale)) for v, n in ordered]
        if level == 0:
            return SearchHits(ids, total, facets)
        return SearchHits(ids, rounded(total * scale), facets, exact=False)

    def _level(self, searchers: list[tantivy.Searcher], required: list[tantivy.Query]) -> tuple[int, int]:
        """The sample level whose documents hold about ``sample_target`` of the matches, or 0 (all of them) when a
        count at ``probe_level`` (:data:`PROBE_LEVEL`) says there are fewer than ``exact_below``; and that estimate
        of the matches."""
        probe = _all([*required, tantivy.Query.term_query(self.schema, SAMPLE, self.probe_level)])
        estimate = sum(_count(s, probe) for s in searchers) << self.probe_level
        if estimate == 0 or estimate < self.exact_below:
            return 0, estimate
        level = max(1, min(SAMPLE_LEVELS, int(math.log2(max(estimate / max(1, self.sample_target), 1)))))
        return level, estimate


def _identity(path: Path) -> tuple[int, int, int] | None:
    """Which file is at ``path`` and which state of it (a file replaced or rewritten gives another)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _by_score(hit: tuple[float, int]) -> float:
    return -hit[0]


def _commit_all(writers: dict[int, tantivy.IndexWriter]) -> None:
    for writer in writers.values():
        writer.commit()


def _now(fn: Callable[..., T], *args: Any) -> Future[T]:
    """``fn(*args)`` run at once, as a finished future (the pool's ``submit`` when a search is not spread)."""
    done: Future[T] = Future()
    try:
        done.set_result(fn(*args))
    except BaseException as exc:
        done.set_exception(exc)
    return done


def _top(
    searcher: tantivy.Searcher, query: tantivy.Query, limit: int, offset: int, count: bool
) -> tuple[list[tuple[float, int]], int | None]:
    """The top ``limit`` hits from ``offset``, as (score, id), and the number of matches when ``count`` (counting
    makes Tantivy visit every match; without it a lone term query skips the blocks that cannot reach the top)."""
    found = searcher.search(query, limit=limit, count=count, offset=offset)
    hits = found.hits
    addresses = [address for _, address in hits]
    ids = searcher.fast_field_values(ID, addresses) if addresses else []
    scored = [(float(score), int(i)) for (score, _), i in zip(hits, ids, strict=True) if i is not None]
    return scored, (int(getattr(found, "count", None) or 0) if count else None)  # count: missing from tantivy's stubs


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """The threads the top hits are searched on beside the counting (one process's, shared by its requests)."""
    return ThreadPoolExecutor(thread_name_prefix="strongroom-search")


# A forked child has none of its parent's threads: a pool it inherited would take work and never do it.
os.register_at_fork(after_in_child=_pool.cache_clear)


def _all(queries: list[tantivy.Query], occur: tantivy.Occur = tantivy.Occur.Must) -> tantivy.Query:
    """The query alone, or the boolean query of several: a lone term query is the one Tantivy prunes."""
    return queries[0] if len(queries) == 1 else tantivy.Query.boolean_query([(occur, q) for q in queries])


def _count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """How many documents match (a limit of 1: Tantivy's top-docs collector panics on 0)."""
    found = searcher.search(query, limit=1, count=True)
    return int(getattr(found, "count", None) or 0)  # set when count=True; missing from tantivy's type stubs
