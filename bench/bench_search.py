"""Search at size: Strongroom's ``tantivy`` engine through the search seam against bare Tantivy in process on the
same documents (the reference: the library with nothing of ours around it), and against the ``sqlite-fts5``
engine (the embedded default), for a common-term and a rare-term public top-10 query with the five facets.

The documents come from a seeded synthetic generator (:func:`documents`): a vocabulary of ``--vocabulary``
made-up words drawn with a Zipf distribution (exponent 1.07, as English text roughly follows), titles of 6 to 16
words, abstracts of 120 to 250 words, one to four authors, three keywords and a DOI each; 650 publishers in 40
countries, 5,000 titles, years 1990 to 2025, eight languages; 90% released, so public queries filter. The same
seed gives the same documents, so runs compare.

Measured: writing the documents (documents/s: through the seam in the search queue's batches of 500, each a
commit, as the queue writes changes; all again by ``rebuild``, one commit, as ``strongroom reindex --search``
writes them; bare Tantivy in one commit; FTS5 in batches of 500), then
p50 and p95 of each query, repeated over 20 common and 20 rare words. Nothing here asserts a time.

    .venv/bin/python bench/bench_search.py                 # 100,000 items
    .venv/bin/python bench/bench_search.py --items 1000000 --no-fts5 --no-batches  # 1M
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
import tantivy
from synthetic import LANGUAGES, documents, vocabulary, zipf_sampler  # noqa: F401 - this script's names since H1

from strongroom.search.base import FACETS, SearchDocument, SearchQuery
from strongroom.search.sqlite import SqliteFts5Index
from strongroom.search.tantivy_index import TantivyIndex

BATCH = 500


def document_frequency(docs: list[SearchDocument]) -> Counter[str]:
    df: Counter[str] = Counter()
    for d in docs[:20_000]:  # a sample is enough to rank words
        df.update(set(d.text.lower().split()))
    return df


# ---- bare Tantivy: the library alone, its own tokenizer, no Strongroom code --------------------------------------


def bare_index(path: Path, docs: list[SearchDocument]) -> tuple[tantivy.Index, float]:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name="default")
    builder.add_unsigned_field("released", indexed=True, fast=True)
    for name in FACETS:
        builder.add_text_field(name, tokenizer_name="raw", fast=True)
    schema = builder.build()
    path.mkdir(parents=True)
    index = tantivy.Index(schema, path=str(path))
    return index, write_all(index, docs, heap=256_000_000)


def write_all(index: tantivy.Index, docs: list[SearchDocument], *, heap: int, threads: int = 0) -> float:
    """Write ``docs`` with one writer and one commit, waiting for merges; the seconds it took (``threads`` 0:
    Tantivy's own choice)."""
    started = time.perf_counter()
    writer = index.writer(heap_size=heap, num_threads=threads)
    for d in docs:
        writer.add_document(tantivy_document(d))
    writer.commit()
    writer.wait_merging_threads()
    elapsed = time.perf_counter() - started
    index.reload()
    return elapsed


def tantivy_document(d: SearchDocument) -> tantivy.Document:
    """A document as bare Tantivy takes it: the id, the text, released or not, and the facets."""
    doc = tantivy.Document()
    doc.add_unsigned("id", d.id)
    doc.add_text("text", d.text)
    doc.add_unsigned("released", int(d.released))
    for name in FACETS:
        value = d.facet(name)
        if value is not None:
            doc.add_text(name, value)
    return doc


def bare_search(index: tantivy.Index, word: str) -> int:
    schema = index.schema
    query = tantivy.Query.boolean_query(
        [
            (tantivy.Occur.Must, tantivy.Query.term_query(schema, "text", word.lower(), index_option="freq")),
            (tantivy.Occur.Must, tantivy.Query.term_query(schema, "released", 1)),
        ]
    )
    searcher = index.searcher()
    found = searcher.search(query, limit=10, count=True)
    searcher.fast_field_values("id", [a for _, a in found.hits])
    searcher.aggregate(query, {name: {"terms": {"field": name, "size": 50}} for name in FACETS})
    return int(getattr(found, "count", None) or 0)  # missing from tantivy's type stubs


# ---- measuring ---------------------------------------------------------------------------------------------------


def batches(docs: list[SearchDocument]) -> Iterator[list[SearchDocument]]:
    for start in range(0, len(docs), BATCH):
        yield docs[start : start + BATCH]


def timed(run: Callable[[str], object], words: list[str], rounds: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``run`` over ``words``, ``rounds`` times each, after one warm-up pass."""
    for w in words:
        run(w)
    times = []
    for _ in range(rounds):
        for w in words:
            started = time.perf_counter()
            run(w)
            times.append((time.perf_counter() - started) * 1000)
    q = statistics.quantiles(times, n=100)
    return statistics.median(times), q[94]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--vocabulary", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the 20 words of each kind")
    parser.add_argument("--no-fts5", action="store_true", help="skip the sqlite-fts5 engine (slow at 1M)")
    parser.add_argument(
        "--no-batches", action="store_true", help="skip writing through the queue's batches of 500 (slow at 1M)"
    )
    parser.add_argument("--workdir", type=Path, default=Path("bench/work/search"))
    args = parser.parse_args()
    work = args.workdir.absolute()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    started = time.perf_counter()
    docs, _ = documents(args.items, args.vocabulary)
    df = document_frequency(docs)
    ranked = [w for w, _ in df.most_common()]
    common = ranked[5:25]  # in about half the documents or more
    rare = [w for w, n in df.most_common() if n == 2][:20]  # in about 2 of 20,000: a few dozen of all
    generated = time.perf_counter() - started
    size = sum(len(d.text) for d in docs) / len(docs)
    print(f"{len(docs):,} documents ({size:,.0f} characters each on average) generated in {generated:.1f} s")

    engine = TantivyIndex(work / "tantivy")
    seam_write = float("nan")
    if not args.no_batches:
        started = time.perf_counter()
        for batch in batches(docs):
            engine.replace(batch)
        seam_write = time.perf_counter() - started
        print(f"tantivy engine written in {seam_write:.1f} s")
    started = time.perf_counter()
    engine.rebuild(batches(docs))  # as rebuild_search writes: every document again, one commit
    rebuild_write = time.perf_counter() - started
    bare, bare_write = bare_index(work / "bare", docs)
    fts5: SqliteFts5Index | None = None
    fts5_write = float("nan")
    if not args.no_fts5:
        fts5 = SqliteFts5Index(sa.create_engine(f"sqlite:///{work / 'fts5.sqlite'}"))
        started = time.perf_counter()
        for batch in batches(docs):
            fts5.replace(batch)
        fts5_write = time.perf_counter() - started

    def seam(index: TantivyIndex | SqliteFts5Index) -> Callable[[str], object]:
        return lambda w: index.search(SearchQuery(w, released_only=True, facets=tuple(FACETS), limit=10))

    for w in common[:5] + rare[:5]:  # the two Tantivy indexes find the same (folding aside: 'bé' is 'be' in ours)
        ours_total, bare_total = engine.search(SearchQuery(w, released_only=True)).total, bare_search(bare, w)
        if ours_total != bare_total:
            print(f"note: {w!r} matches {ours_total} through the seam, {bare_total} in bare Tantivy")

    rows = []
    for label, words in (("common term", common), ("rare term", rare)):
        hits = [engine.search(SearchQuery(w, released_only=True, limit=10)).total for w in words]
        ours = timed(seam(engine), words, args.rounds)
        ref = timed(lambda w: bare_search(bare, w), words, args.rounds)
        theirs = timed(seam(fts5), words, max(1, args.rounds // 5)) if fts5 else (float("nan"),) * 2
        rows.append((label, statistics.median(hits), ours, ref, theirs))

    n = len(docs)
    print(f"\nsearch, {n:,} items, public top 10 with 5 facets (p50 / p95 ms; ratio of p50s):\n")
    print("| query | hits (median) | `tantivy` engine | bare Tantivy | × bare | `sqlite-fts5` engine | fts5 ÷ ours |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, hits_, ours, ref, theirs in rows:
        print(
            f"| {label} | {hits_:,.0f} | {ours[0]:.2f} / {ours[1]:.2f} | {ref[0]:.2f} / {ref[1]:.2f} | "
            f"{ours[0] / ref[0]:.1f} | {theirs[0]:.1f} / {theirs[1]:.1f} | {theirs[0] / ours[0]:.0f} |"
        )
    print("\nwriting the documents (documents/s):\n")
    print(
        "| `tantivy` engine, batches of 500 | `tantivy` engine, rebuild (one commit) | bare Tantivy, one commit "
        "| rebuild × bare | `sqlite-fts5`, batches of 500 |"
    )
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {n / seam_write:,.0f} | {n / rebuild_write:,.0f} | {n / bare_write:,.0f} "
        f"| {bare_write / rebuild_write:.2f} | {n / fts5_write:,.0f} |"
    )


if __name__ == "__main__":
    main()
