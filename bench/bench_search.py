"""Search at size: Strongroom's ``tantivy`` engine through the search seam against bare Tantivy in process on the
same documents (the reference: the library with nothing of ours around it), and against the ``sqlite-fts5``
engine (the embedded default), for a common-term and a rare-term public top-10 query with the five facets.

Bare Tantivy is measured two ways, on one index whose released documents' words are in ``text`` (dark ones' in
``dark``, as in ours): *exact*, the straightforward query a Tantivy user writes (the top 10 of the term query with
``count=True``, then the five terms aggregations over the same query: every match visited), which is the reference
the ratio is taken against; and *pruned top 10*, the top 10 alone with ``count=False`` (no total, no facets), the
floor the library reaches when block-WAND skips what cannot rank. Our engine gives a total and facets too, estimated
from a sample above ``EXACT_BELOW`` matches; the estimate's error against the exact count is printed.

The documents come from a seeded synthetic generator (:func:`streamed_documents`, generated as each writer takes
them and never held, so 10,000,000 fit in about 0.5 GB; ``--per-word`` is the older :func:`documents`, all in
memory, for the figures taken with it): a vocabulary of ``--vocabulary`` made-up words drawn with a Zipf
distribution (exponent 1.07, as English text roughly follows), titles of 6 to 16 words, abstracts of 120 to 250
words, one to four authors, three keywords and a DOI each; 650 publishers in 40 countries, 5,000 titles, years 1990
to 2025, eight languages; 90% released, so public queries filter. The same seed gives the same documents, so runs
compare.

Measured: writing the documents (documents/s: through the seam in the search queue's batches of 500, each a
commit, as the queue writes changes; all again by ``rebuild``, one commit, as ``strongroom reindex --search``
writes them; bare Tantivy in one commit; FTS5 in batches of 500; each with its own pass of the generator, whose
cost is included and also printed alone), the index sizes on disk, then
p50 and p95 of each query, repeated over 20 common and 20 rare words. Nothing here asserts a time.

    .venv/bin/python bench/bench_search.py                 # 100,000 items
    .venv/bin/python bench/bench_search.py --items 1000000 --no-fts5 --no-batches  # 1M
    .venv/bin/python bench/bench_search.py --items 1000000 --search-only --tune   # again on the indexes it left
    nice -n 10 .venv/bin/python bench/bench_search.py --items 10000000 --no-fts5 --no-batches --workdir /work/b10m

``--search-only`` writes nothing: it searches the indexes a previous run left in ``--workdir`` (generating only the
first 20,000 documents, which pick the same words). ``--tune`` adds the engine's cost by number of matches with
everything counted and sampled at two targets (the figures ``EXACT_BELOW`` and ``SAMPLE_TARGET`` were chosen by).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import sqlalchemy as sa
import tantivy
from synthetic import LANGUAGES, documents, streamed_documents, vocabulary, zipf_sampler  # noqa: F401 - this script's names since H1

from strongroom.search.base import FACETS, SearchDocument, SearchQuery
from strongroom.search.sqlite import SqliteFts5Index
from strongroom.search.tantivy_index import EXACT_BELOW, SAMPLE_TARGET, TantivyIndex

BATCH = 500


def document_frequency(docs: list[SearchDocument]) -> Counter[str]:
    df: Counter[str] = Counter()
    for d in docs[:20_000]:  # a sample is enough to rank words
        df.update(set(d.text.lower().split()))
    return df


# ---- bare Tantivy: the library alone, its own tokenizer, no Strongroom code --------------------------------------


def bare_index(path: Path, docs: Iterable[SearchDocument]) -> tuple[tantivy.Index, float]:
    index = bare_empty(path)
    return index, write_all(index, docs, heap=256_000_000)


def bare_empty(path: Path) -> tantivy.Index:
    """A new, empty bare index at ``path``: the id, the released and the dark documents' words, the facets."""
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name="default")  # released documents' words
    builder.add_text_field("dark", tokenizer_name="default")  # dark documents' words
    for name in FACETS:
        builder.add_text_field(name, tokenizer_name="raw", fast=True)
    path.mkdir(parents=True)
    return tantivy.Index(builder.build(), path=str(path))


def write_all(index: tantivy.Index, docs: Iterable[SearchDocument], *, heap: int, threads: int = 0) -> float:
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
    """A document as bare Tantivy takes it: the id, the text (in ``text`` if released, else ``dark``), the facets."""
    doc = tantivy.Document()
    doc.add_unsigned("id", d.id)
    doc.add_text("text" if d.released else "dark", d.text)
    for name in FACETS:
        value = d.facet(name)
        if value is not None:
            doc.add_text(name, value)
    return doc


def bare_search(index: tantivy.Index, word: str) -> int:
    """The exact reference: top 10, the exact total and the five facets over every released match."""
    query = tantivy.Query.term_query(index.schema, "text", word.lower(), index_option="freq")
    searcher = index.searcher()
    found = searcher.search(query, limit=10, count=True)
    searcher.fast_field_values("id", [a for _, a in found.hits])
    searcher.aggregate(query, {name: {"terms": {"field": name, "size": 50}} for name in FACETS})
    return int(getattr(found, "count", None) or 0)  # missing from tantivy's type stubs


def bare_top(index: tantivy.Index, word: str) -> int:
    """The pruned reference: the top 10 alone (``count=False``: block-WAND skips), no total, no facets."""
    query = tantivy.Query.term_query(index.schema, "text", word.lower(), index_option="freq")
    searcher = index.searcher()
    found = searcher.search(query, limit=10, count=False)
    return len(searcher.fast_field_values("id", [a for _, a in found.hits]))


# ---- measuring ---------------------------------------------------------------------------------------------------


def batches(docs: Iterable[SearchDocument]) -> Iterator[list[SearchDocument]]:
    it = iter(docs)
    while batch := list(itertools.islice(it, BATCH)):
        yield batch


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
    parser.add_argument("--search-only", action="store_true", help="search the indexes a previous run left")
    parser.add_argument("--tune", action="store_true", help="also the cost of exact and sampled counts by matches")
    parser.add_argument(
        "--shards",
        default="1",
        help="the engine's index in these numbers of shards (search.shards), each written and searched: e.g. 1,2",
    )
    parser.add_argument(
        "--per-word",
        action="store_true",
        help="the old generator (every word drawn, every document in memory; figures before 2026-12-04 05:00 UTC)",
    )
    args = parser.parse_args()
    work = args.workdir.absolute()
    if not args.search_only:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)

    def stream(items: int) -> Iterator[SearchDocument]:
        """The documents, generated as they are written (``--per-word``: the old generator, all in memory)."""
        if args.per_word:
            return iter(documents(items, args.vocabulary)[0])
        return streamed_documents(items, args.vocabulary)

    started = time.perf_counter()
    sample = list(stream(min(args.items, 20_000)))  # the first documents of every stream, which pick the words
    df = document_frequency(sample)
    ranked = [w for w, _ in df.most_common()]
    common = ranked[5:25]  # in about half the documents or more
    rare = [w for w, n in df.most_common() if n == 2][:20]  # in about 2 of 20,000: a few dozen of all
    generated = time.perf_counter() - started
    size = sum(len(d.text) for d in sample) / len(sample)
    print(f"{len(sample):,} documents ({size:,.0f} characters each on average) generated in {generated:.1f} s")
    print(f"generator: {'per word, in memory' if args.per_word else 'streamed sentences'}; load average {load()}")

    counts = [int(c) for c in args.shards.split(",")]
    engines = {c: TantivyIndex(work / ("tantivy" if c == 1 else f"tantivy-{c}"), shards=c) for c in counts}
    if args.search_only:
        search(args, engines, tantivy.Index.open(str(work / "bare")), None, common, rare, df)
        return
    n = args.items
    if not args.per_word:  # the generator alone, on its first documents (a fifth of them, at most 200,000)
        started = time.perf_counter()
        alone = max(1, min(n // 5, 200_000))
        for _ in stream(alone):
            pass
        print(f"generating alone: {alone / (time.perf_counter() - started):,.0f} documents/s; load average {load()}")
    phases: list[tuple[str, float, str]] = []  # what, seconds, load average before and after

    def phase(label: str, write: Callable[[], float]) -> float:
        before = load()
        seconds = write()
        phases.append((label, seconds, f"{before} → {load()}"))
        print(f"{label}: {n:,} documents in {seconds:.1f} s, {n / seconds:,.0f} documents/s; load {phases[-1][2]}")
        return seconds

    def clocked(write: Callable[[], object]) -> Callable[[], float]:
        def run() -> float:
            started = time.perf_counter()
            write()
            return time.perf_counter() - started

        return run

    for c, engine in engines.items():
        named = f"`tantivy` engine{'' if c == 1 else f', {c} shards'}"
        if not args.no_batches:

            def queue_batches(engine: TantivyIndex = engine) -> None:
                for batch in batches(stream(n)):
                    engine.replace(batch)

            phase(f"{named}, batches of 500", clocked(queue_batches))
        # as rebuild_search writes: every document again, one commit (a shard)
        phase(f"{named}, rebuild (one commit a shard)", clocked(lambda e=engine: e.rebuild(batches(stream(n)))))
    holder: list[tantivy.Index] = []

    def bare_write() -> float:
        bare, seconds = bare_index(work / "bare", stream(n))
        holder.append(bare)
        return seconds

    phase("bare Tantivy, one commit", bare_write)
    fts5: SqliteFts5Index | None = None
    if not args.no_fts5:
        fts5 = SqliteFts5Index(sa.create_engine(f"sqlite:///{work / 'fts5.sqlite'}"))

        def fts5_write() -> None:
            assert fts5 is not None
            for batch in batches(stream(n)):
                fts5.replace(batch)

        phase("`sqlite-fts5`, batches of 500", clocked(fts5_write))
    search(args, engines, holder[0], fts5, common, rare, df)
    print(f"\nwriting {n:,} documents (each generated as it is written, generation included):\n")
    print("| writer | seconds | documents/s | µs a document | load average, start → end |")
    print("| --- | ---: | ---: | ---: | --- |")
    for label, seconds, loads in phases:
        print(f"| {label} | {seconds:,.0f} | {n / seconds:,.0f} | {seconds / n * 1e6:.1f} | {loads} |")
    bare_s = next(s for label, s, _ in phases if "bare" in label)
    for label, rebuild, _ in phases:
        if "rebuild" in label:
            print(f"\n{label} ÷ bare (documents/s): {bare_s / rebuild:.2f}")
    print("\nsize on disk:\n")
    for name in (*(e.directory.name for e in engines.values()), "bare", "fts5.sqlite"):
        if (work / name).exists():
            print(
                f"- {name}: {disk_size(work / name) / 1e9:.2f} GB ({disk_size(work / name) / n:,.0f} bytes a document)"
            )


def disk_size(path: Path) -> int:
    """Bytes on disk of a file or everything under a directory."""
    if path.is_file():
        return path.stat().st_blocks * 512
    return sum(os.stat(os.path.join(d, f)).st_blocks * 512 for d, _, files in os.walk(path) for f in files)


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def search(
    args: argparse.Namespace,
    engines: dict[int, TantivyIndex],
    bare: tantivy.Index,
    fts5: SqliteFts5Index | None,
    common: list[str],
    rare: list[str],
    df: Counter[str],
) -> None:
    """The search tables: ours against both bare references (and fts5), then, with --tune, the cost by matches."""
    print(f"load average before searching: {load()}")

    def seam(index: TantivyIndex | SqliteFts5Index) -> Callable[[str], object]:
        return lambda w: index.search(SearchQuery(w, released_only=True, facets=tuple(FACETS), limit=10))

    engine = next(iter(engines.values()))
    errors = []
    for w in common + rare[:5]:  # the two Tantivy indexes find the same (folding aside: 'bé' is 'be' in ours)
        ours_hits, bare_total = engine.search(SearchQuery(w, released_only=True)), bare_search(bare, w)
        if ours_hits.exact and ours_hits.total != bare_total:
            print(f"note: {w!r} matches {ours_hits.total} through the seam, {bare_total} in bare Tantivy")
        elif not ours_hits.exact:
            errors.append(abs(ours_hits.total - bare_total) / bare_total)
    if errors:
        print(
            f"estimated totals ({len(errors)} of the common words): error against the exact count "
            f"median {statistics.median(errors):.2%}, largest {max(errors):.2%}"
        )

    rows = []
    for label, words in (("common term", common), ("rare term", rare)):
        hits = [engine.search(SearchQuery(w, released_only=True, limit=10)).total for w in words]
        for c, each in engines.items():  # engines and references in turn, each word after word
            ours = timed(seam(each), words, args.rounds)
            ref = timed(lambda w: bare_search(bare, w), words, args.rounds)
            top = timed(lambda w: bare_top(bare, w), words, args.rounds)
            theirs = timed(seam(fts5), words, max(1, args.rounds // 5)) if fts5 and c == 1 else (float("nan"),) * 2
            rows.append((label, c, statistics.median(hits), ours, ref, top, theirs))

    n = args.items
    print(f"\nsearch, {n:,} items, public top 10 with 5 facets (p50 / p95 ms; ratio of p50s):\n")
    print(
        "| query | shards | hits (median) | `tantivy` engine | bare Tantivy, exact | × bare exact | bare Tantivy, "
        "pruned top 10 (no total, no facets) | × bare pruned | `sqlite-fts5` engine | fts5 ÷ ours |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, c, hits_, ours, ref, top, theirs in rows:
        print(
            f"| {label} | {c} | {hits_:,.0f} | {ours[0]:.2f} / {ours[1]:.2f} | {ref[0]:.2f} / {ref[1]:.2f} | "
            f"{ours[0] / ref[0]:.2f} | {top[0]:.2f} / {top[1]:.2f} | {ours[0] / top[0]:.2f} | "
            f"{theirs[0]:.1f} / {theirs[1]:.1f} | {theirs[0] / ours[0]:.0f} |"
        )
    if args.tune:
        tune(engine, args.rounds, df)
    print(f"load average after searching: {load()}")


def tune(engine: TantivyIndex, rounds: int, df: Counter[str]) -> None:
    """p50 / p95 of the engine's public search by band of matches: everything counted, and sampled (whatever the
    matches) at targets of 10,000 and 5,000; bands picked by frequency in the first 20,000 documents."""
    print("\n| matches (median) | everything counted | sampled, target 10,000 | sampled, target 5,000 |")
    print("| ---: | ---: | ---: | ---: |")
    for low, high in ((1_000, 1_200), (2_000, 2_400), (4_000, 4_800), (7_000, 8_000), (12_000, 14_000)):
        words = [w for w, n in df.most_common() if low <= n <= high and w.isalpha()][:8]
        if not words:
            continue
        cells = []
        for exact_below, target in ((1 << 62, SAMPLE_TARGET), (0, 10_000), (0, 5_000)):
            engine.exact_below, engine.sample_target = exact_below, target

            def run(w: str) -> object:
                return engine.search(SearchQuery(w, released_only=True, facets=tuple(FACETS), limit=10))

            p50, p95 = timed(run, words, rounds)
            cells.append(f"{p50:.2f} / {p95:.2f}")
        engine.exact_below, engine.sample_target = 1 << 62, SAMPLE_TARGET
        hits = statistics.median(engine.search(SearchQuery(w, released_only=True)).total for w in words)
        print(f"| {hits:,.0f} | " + " | ".join(cells) + " |")
    engine.exact_below, engine.sample_target = EXACT_BELOW, SAMPLE_TARGET


if __name__ == "__main__":
    main()
