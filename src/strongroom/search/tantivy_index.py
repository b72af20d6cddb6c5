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
import itertools
import math
import operator
import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import tantivy

from strongroom import space
from strongroom.errors import SearchIndexFull
from strongroom.filelocks import exclusive
from strongroom.search.base import FACETS, SearchDocument, SearchHits, SearchIndexBusy, SearchQuery, fold, phrases

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


def sample_levels(item_id: int) -> range:
    """The sample levels a document is in: L for every L up to :data:`SAMPLE_LEVELS` where the low L bits of the
    id's hash (splitmix64's finalizer, so neighbouring ids land apart) are zero."""
    h = (item_id + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    h ^= h >> 31
    zeros = (h & -h).bit_length() - 1 if h else SAMPLE_LEVELS  # trailing zero bits
    return range(min(zeros, SAMPLE_LEVELS) + 1)


def rounded(n: float, digits: int = ESTIMATE_DIGITS) -> int:
    """``n`` to ``digits`` significant digits (6,512,384 -> 6,500,000): an estimate shows no more than it knows."""
    if n < 1:
        return 0
    step = 10 ** max(0, math.floor(math.log10(n)) + 1 - digits)
    return int(round(n / step) * step)


class TantivyIndex:
    name = "tantivy"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lock_path = directory.with_name(directory.name + ".lock")
        self.lock_wait: float | None = None  # how long a write waits for another's: LOCK_WAIT, unless set
        self.exact_below = EXACT_BELOW  # settable (tests use small ones)
        self.sample_target = SAMPLE_TARGET
        self.probe_level = PROBE_LEVEL
        self.beside_above = BESIDE_ABOVE
        self.schema = _schema()
        directory.parent.mkdir(parents=True, exist_ok=True)
        if self._current():  # opened for reading without the writer's lock, which a rebuild holds for long
            self.created = self._open(current=True)
        else:
            with self._locked():
                self.created = self._open(self._current())
        self._seen: tuple[int, int, int] | None = None
        self._held: dict[int, tantivy.IndexWriter] = {}  # thread -> the writer batches() keeps for it

    def _current(self) -> bool:
        """Whether the directory holds an index of this schema (its version file is written last when one is made)."""
        version = self.directory / "strongroom-schema"
        return version.is_file() and version.read_text() == SCHEMA_VERSION and tantivy.Index.exists(str(self.directory))

    def _open(self, current: bool) -> bool:
        if not current:  # new, or made by another version: the catalog's queue fills it again
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory.mkdir(parents=True)
        self.index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
        self.index.register_tokenizer(ANALYZER, _analyzer(MAX_WORD))
        self.index.config_reader(reload_policy="manual")
        if not current:
            (self.directory / "strongroom-schema").write_text(SCHEMA_VERSION)
        return not current

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

    @contextlib.contextmanager
    def _writer(self, heap: int = WRITER_HEAP, threads: int = 1) -> Iterator[tantivy.IndexWriter]:
        """A writer whose work is committed (on disk) when the block ends, or rolled back if it raises. Inside
        :meth:`batches` the block's writer is the one kept there (same heap and threads: small writes only)."""
        held = self._held.get(threading.get_ident())
        if held is not None and (heap, threads) == (WRITER_HEAP, 1):
            with self._reporting_full():
                try:
                    yield held
                    held.commit()
                except BaseException:
                    held.rollback()
                    raise
            return
        with self._locked(), self._reporting_full():
            writer = self.index.writer(heap_size=heap, num_threads=threads)
            try:
                yield writer
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()  # also drops the writer, and Tantivy's own lock with it

    @contextlib.contextmanager
    def batches(self) -> Iterator[None]:
        """One small writer (and the writer lock) kept for many replace and remove calls, each still committed as
        it returns: a writer per batch costs its set-up, and each one's threads leave memory behind in the
        allocator's arenas (about 60 MB over a 10,000-article deposit)."""
        me = threading.get_ident()  # only this thread's writes use the kept writer; another's wait for the lock
        if me in self._held:  # nested: the outer block keeps the writer
            yield
            return
        with self._locked(), self._reporting_full():
            writer = self.index.writer(heap_size=WRITER_HEAP, num_threads=1)
            self._held[me] = writer
            try:
                yield
            finally:
                del self._held[me]
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

    def _delete(self, writer: tantivy.IndexWriter, ids: Sequence[int]) -> None:
        if ids:
            writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, ID, [int(i) for i in ids]))

    def _document(self, d: SearchDocument) -> tantivy.Document:
        """The Tantivy document of ``d`` (its facets as :meth:`SearchDocument.facet` gives them, read at once)."""
        doc = tantivy.Document()
        doc.add_unsigned(ID, d.id)
        doc.add_text(TEXT if d.released else DARK, folded(d.text))
        for level in sample_levels(d.id):
            doc.add_unsigned(SAMPLE, level)
        for name, value in zip(FACETS, _facet_values(d), strict=True):
            if value is not None:
                doc.add_text(name, str(value))
        return doc

    def replace(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        with self._writer() as writer:
            self._delete(writer, [d.id for d in documents])
            for d in documents:
                writer.add_document(self._document(d))

    def rebuild(self, batches: Iterable[Sequence[SearchDocument]]) -> int:
        """Every document replaced by those of ``batches`` in one commit, by a writer with a large heap and a thread
        per core (a small writer for a small catalog; none when an empty index is rebuilt from nothing). The old
        documents are deleted by a query rather than dropped, so until the commit the index on disk, and every
        search, is the old one whole; a rebuild cut short leaves it as it was."""
        it = iter(batches)
        ahead = [b for b in [next(it, None)] if b is not None]
        if ahead and len(ahead[0]) <= SMALL_REBUILD:  # a small first batch: is it the only one?
            ahead += [b for b in [next(it, None)] if b is not None]
        small = len(ahead) <= 1 and sum(len(b) for b in ahead) <= SMALL_REBUILD
        if small and not ahead and self.count() == 0:
            return 0  # a new node's empty catalog: nothing to write
        written = 0
        with self._writer(*((WRITER_HEAP, 1) if small else (REBUILD_HEAP, REBUILD_THREADS))) as writer:
            writer.delete_documents_by_query(tantivy.Query.all_query())  # only documents added before it
            add, document = writer.add_document, self._document
            for batch in itertools.chain(ahead, it):
                for d in batch:
                    add(document(d))
                written += len(batch)
        return written

    def remove(self, ids: Sequence[int]) -> None:
        if ids:
            with self._writer() as writer:
                self._delete(writer, ids)

    def clear(self) -> None:
        with self._writer() as writer:
            writer.delete_all_documents()

    # ---- reading ---------------------------------------------------------------------------------------------

    def _searcher(self) -> tantivy.Searcher:
        """A searcher of the last commit, whichever process made it."""
        try:
            st = os.stat(self.directory / "meta.json")
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            seen = None
        if seen != self._seen:
            self.index.reload()
            self._seen = seen
        return self.index.searcher()

    def count(self) -> int:
        return int(self._searcher().num_docs)

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
        searcher = self._searcher()
        level, estimate = self._level(searcher, required)
        counted = q if level == 0 else _all([*required, tantivy.Query.term_query(self.schema, SAMPLE, level)])
        scale = 1 << level
        names = [name for name in dict.fromkeys(query.facets) if name in FACETS]
        limit, offset = query.limit, max(query.offset, 0)
        # The top hits and the counting are two searches over the same segments; Tantivy lets go of Python's lock
        # while it searches, so when both have much to visit the top hits are found on another core meanwhile.
        beside = limit > 0 and estimate >= self.beside_above and (level > 0 or bool(names))
        top: Future[tuple[list[int], int | None]] | None = None
        if beside:
            top = _pool().submit(_top, searcher, q, limit, offset, False)
        ids: list[int] = []
        total: int | None = None
        if limit > 0 and top is None:  # Tantivy panics on a limit of 0
            # Counted in the same pass when every match is counted anyway; otherwise not at all, so Tantivy may skip
            # the blocks of matches that cannot reach the top (block-WAND, on a lone term query).
            ids, total = _top(searcher, q, limit, offset, level == 0)
        facets: dict[str, list[tuple[str, int]]] = {}
        if names:
            spec: dict[str, object] = {name: {"terms": {"field": name, "size": FACET_LIMIT}} for name in names}
            if total is None:  # every document has one id: its count is the number of matches, in the same pass
                spec[_MATCHES] = {"value_count": {"field": ID}}
            result = searcher.aggregate(counted, spec)
            if total is None:
                total = int(result.get(_MATCHES, {}).get("value") or 0)
            for name in names:
                buckets = result.get(name, {}).get("buckets", [])
                counts = [(str(b["key"]), int(b["doc_count"])) for b in buckets if int(b["doc_count"]) > 0]
                ordered = sorted(counts, key=lambda vc: (-vc[1], vc[0]))
                facets[name] = ordered if level == 0 else [(v, rounded(n * scale)) for v, n in ordered]
        if total is None:
            total = _count(searcher, counted)
        if top is not None:
            ids, _ = top.result()
        if level == 0:
            return SearchHits(ids, total, facets)
        return SearchHits(ids, rounded(total * scale), facets, exact=False)

    def _level(self, searcher: tantivy.Searcher, required: list[tantivy.Query]) -> tuple[int, int]:
        """The sample level whose documents hold about ``sample_target`` of the matches, or 0 (all of them) when a
        count at ``probe_level`` (:data:`PROBE_LEVEL`) says there are fewer than ``exact_below``; and that estimate
        of the matches."""
        probe = _all([*required, tantivy.Query.term_query(self.schema, SAMPLE, self.probe_level)])
        estimate = _count(searcher, probe) << self.probe_level
        if estimate == 0 or estimate < self.exact_below:
            return 0, estimate
        level = max(1, min(SAMPLE_LEVELS, int(math.log2(max(estimate / max(1, self.sample_target), 1)))))
        return level, estimate


def _top(
    searcher: tantivy.Searcher, query: tantivy.Query, limit: int, offset: int, count: bool
) -> tuple[list[int], int | None]:
    """The ids of the top ``limit`` hits from ``offset``, and the number of matches when ``count`` (counting makes
    Tantivy visit every match; without it a lone term query skips the blocks that cannot reach the top)."""
    found = searcher.search(query, limit=limit, count=count, offset=offset)
    addresses = [address for _, address in found.hits]
    ids = [int(i) for i in searcher.fast_field_values(ID, addresses) if i is not None] if addresses else []
    return ids, (int(getattr(found, "count", None) or 0) if count else None)  # count: missing from tantivy's stubs


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
