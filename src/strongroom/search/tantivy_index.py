"""The ``tantivy`` search engine: a Tantivy index (an embedded Lucene-like library) in the node's home, for archives
of millions of items, where ranking every match in the catalog's database is too slow.

Text is folded (:func:`~strongroom.search.base.fold`: case and diacritics) before it is indexed and before it is
searched, and split into words by the same Tantivy analyzer on both sides, so the index and the queries never
disagree about what a word is. Queries are built term by term with Tantivy's query objects, never by its query
parser, so the user's words are only ever words; a quoted group of words is a phrase, and so is one word the
analyzer splits ('10.5555/abc'). Public searches add a required term on the ``released`` field inside the query,
so hits, totals and facet counts (terms aggregations over the same query) are computed over released documents
only.

One process at a time writes: a writer is taken under a file lock beside the index, with a short retry, and every
:meth:`TantivyIndex.replace`, :meth:`~TantivyIndex.remove` and :meth:`~TantivyIndex.clear` commits before it
returns, so the catalog's search queue drops an entry only once the index has it on disk. Readers reload when the
index's ``meta.json`` changed (another process committed).

Must not import: the catalog, services, faces.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import tantivy

from strongroom.errors import ExitCode, SearchIndexFull, StrongroomError
from strongroom.search.base import FACETS, SearchDocument, SearchHits, SearchQuery, fold, phrases

FACET_LIMIT = 50
MAX_WORD = 100  # bytes: longer runs of letters are not words (and no query word can match them)
LOCK_WAIT = 30.0  # seconds a writer waits for another process's commit
WRITER_HEAP = 64_000_000
ID, TEXT, RELEASED = "id", "text", "released"
SCHEMA_VERSION = "1"  # written beside the index; a different one means the index is rebuilt


class SearchIndexBusy(StrongroomError):
    """Another process held the search index's writer for longer than a writer waits."""

    exit_code = ExitCode.BUSY


ANALYZER = "strongroom"


def _analyzer(longest: int | None) -> tantivy.TextAnalyzer:
    """Words are runs of letters and digits of folded text; the index's drops those of ``longest`` bytes or more."""
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    if longest is not None:
        builder = builder.filter(tantivy.Filter.remove_long(longest))
    return builder.filter(tantivy.Filter.lowercase()).build()


_QUERY_WORDS = _analyzer(None)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field(ID, stored=False, indexed=True, fast=True)
    builder.add_text_field(TEXT, tokenizer_name=ANALYZER, index_option="position")
    builder.add_unsigned_field(RELEASED, indexed=True, fast=True)
    for name in FACETS:
        builder.add_text_field(name, tokenizer_name="raw", fast=True)
    return builder.build()


class TantivyIndex:
    name = "tantivy"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lock_path = directory.with_name(directory.name + ".lock")
        self.schema = _schema()
        directory.parent.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self.created = self._open_or_create()
        self._seen: tuple[int, int, int] | None = None

    def _open_or_create(self) -> bool:
        version = self.directory / "strongroom-schema"
        current = (
            version.is_file() and version.read_text() == SCHEMA_VERSION and tantivy.Index.exists(str(self.directory))
        )
        if not current:  # new, or made by another version: the catalog's queue fills it again
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory.mkdir(parents=True)
        self.index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
        self.index.register_tokenizer(ANALYZER, _analyzer(MAX_WORD))
        self.index.config_reader(reload_policy="manual")
        if not current:
            version.write_text(SCHEMA_VERSION)
        return not current

    # ---- writing ---------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The index's writer lock (one process at a time), waited for up to LOCK_WAIT seconds."""
        with open(self.lock_path, "a+b") as fh:
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SearchIndexBusy(
                            f"another process has been writing the search index at {self.directory} for more than "
                            f"{LOCK_WAIT:.0f} s; the documents not yet written stay queued",
                            hint="run the command again when the other one (a reindex?) has finished",
                        ) from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _writer(self) -> Iterator[tantivy.IndexWriter]:
        """A writer whose work is committed (on disk) when the block ends, or rolled back if it raises."""
        with self._locked():
            try:
                writer = self.index.writer(heap_size=WRITER_HEAP, num_threads=1)
                try:
                    yield writer
                    writer.commit()
                except BaseException:
                    writer.rollback()
                    raise
                finally:
                    writer.wait_merging_threads()  # also drops the writer, and Tantivy's own lock with it
            except (OSError, ValueError) as exc:  # tantivy reports I/O failures as ValueError
                full = exc.errno == errno.ENOSPC if isinstance(exc, OSError) else "No space left" in str(exc)
                if not full:
                    raise
                raise SearchIndexFull(
                    f"the tantivy search index at {self.directory} has no room left; the documents not yet written "
                    "stay queued",
                    hint="free space on that disk, then run the command again (or strongroom reindex --search)",
                ) from None

    def _delete(self, writer: tantivy.IndexWriter, ids: Sequence[int]) -> None:
        if ids:
            writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, ID, [int(i) for i in ids]))

    def replace(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        with self._writer() as writer:
            self._delete(writer, [d.id for d in documents])
            for d in documents:
                doc = tantivy.Document()
                doc.add_unsigned(ID, d.id)
                doc.add_text(TEXT, fold(d.text))
                doc.add_unsigned(RELEASED, int(d.released))
                for name in FACETS:
                    value = d.facet(name)
                    if value is not None:
                        doc.add_text(name, value)
                writer.add_document(doc)

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

    def query(self, search: SearchQuery) -> tantivy.Query | None:
        """The Tantivy query for a search (None when it cannot match anything)."""
        required: list[tantivy.Query] = []
        for group in phrases(search.text):
            tokens = [t for word in group for t in _QUERY_WORDS.analyze(fold(word))]
            if any(len(t.encode()) >= MAX_WORD for t in tokens):
                return None  # no such word is indexed
            if len(tokens) == 1:
                required.append(tantivy.Query.term_query(self.schema, TEXT, tokens[0], index_option="freq"))
            elif tokens:  # a quoted phrase, or one word the index splits ('10.5555/abc'): the words in order
                required.append(tantivy.Query.phrase_query(self.schema, TEXT, list[str | tuple[int, str]](tokens)))
        if not required:
            return None
        if search.released_only:
            required.append(tantivy.Query.term_query(self.schema, RELEASED, 1))
        for name, value in search.filters.items():  # names are checked against FACETS by SearchQuery
            required.append(tantivy.Query.term_query(self.schema, name, str(value)))
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in required])

    def search(self, query: SearchQuery) -> SearchHits:
        q = self.query(query)
        if q is None:
            return SearchHits([], 0)
        searcher = self._searcher()
        found = searcher.search(q, limit=max(query.limit, 0), count=True, offset=max(query.offset, 0))
        addresses = [address for _, address in found.hits]
        ids = [int(i) for i in searcher.fast_field_values(ID, addresses) if i is not None] if addresses else []
        facets: dict[str, list[tuple[str, int]]] = {}
        names = [name for name in dict.fromkeys(query.facets) if name in FACETS]
        if names:
            spec = {name: {"terms": {"field": name, "size": FACET_LIMIT}} for name in names}
            result = searcher.aggregate(q, spec)
            for name in names:
                buckets = result.get(name, {}).get("buckets", [])
                counts = [(str(b["key"]), int(b["doc_count"])) for b in buckets if int(b["doc_count"]) > 0]
                facets[name] = sorted(counts, key=lambda vc: (-vc[1], vc[0]))
        total = getattr(found, "count", None)  # set when count=True; missing from tantivy's type stubs
        return SearchHits(ids, int(total or 0), facets)
