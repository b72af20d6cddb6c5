"""Seeded synthetic data for the benchmarks: made-up words drawn with a Zipf distribution, search documents
(:func:`documents`, used by bench_search.py), and a whole catalog bulk-loaded into a real node's database
(:func:`load_catalog`, used by bench_catalog.py). The same seed gives the same data, so runs compare.

The world both share: 650 publishers in 40 countries, 5,000 titles (fewer for small catalogs), eight languages,
years 1990 to 2025, 90% released.

What :func:`load_catalog` writes, straight into the catalog's tables (COPY on PostgreSQL, executemany on SQLite,
as fast as the database takes rows), exactly as the indexer would leave them:

- ``publishers``, ``titles``; ``archival_units`` of ``per_au`` items each (100 by default), 90% of them released
  by one released trigger (``triggers``), each with one ``au_versions`` row and its kept counts (``item_count``,
  ``volumes``, ``issues``); each title's summary (``title_summaries``) made from them;
- ``items``: a title of 6 to 16 Zipf words and an abstract of 40 to 80 (drawn from pools of 5,000, so
  text repeats; search is measured by bench_search.py, not here), one to four authors, three keywords, a DOI, a
  date, volume, issue, pages, language and licence, and the public id the indexer gives;
- ``files``: one PDF per item (``fulltext``, ``application/pdf``, 200 kB to 2 MB by size, digests of its number).

What it does NOT write: the OCFL objects themselves (no byte of any PDF is stored, so a download cannot be served;
the PDF lookup is measured as the portal's catalog lookup, ``Released.file``, and bench_portal.py measures serving
bytes), events, the search index and its queue, usage. ``strongroom items`` with a query, and portal search,
need the search index and are not measured on this data.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import itertools
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from strongroom.catalog.models import ArchivalUnit, AUVersion, File, Item, Publisher, Title, Trigger
from strongroom.domain.identifiers import public_id
from strongroom.domain.volumes import issue_coverage, volume_counts
from strongroom.search.base import SearchDocument

SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
LANGUAGES = ["en", "fr", "es", "pt", "sw", "id", "ar", "ru"]
TRIGGER = "T-BENCH"
LICENCE = "CC BY 4.0"


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """``size`` distinct made-up words of two to four syllables (some with a diacritic, as real text has)."""
    words: set[str] = set()
    while len(words) < size:
        word = "".join(rng.choices(SYLLABLES, k=rng.choice((2, 2, 3, 3, 3, 4))))
        if rng.random() < 0.05:
            word = word.replace("e", "é", 1)
        words.add(word)
    return sorted(words, key=lambda w: (len(w), w))


def zipf_sampler(words: list[str], rng: random.Random, exponent: float = 1.07) -> Callable[[int], list[str]]:
    """Draw ``k`` words, the word of rank r with probability proportional to 1 / r^exponent."""
    ranked = words[:]
    rng.shuffle(ranked)
    cumulative = list(itertools.accumulate(1 / (r**exponent) for r in range(1, len(ranked) + 1)))
    top = cumulative[-1]
    return lambda k: [ranked[bisect.bisect(cumulative, rng.random() * top)] for _ in range(k)]


def world(titles: int = 5000) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, tuple[str, str]]]]:
    """Countries, publishers (key, country) and titles (key, publisher): the same for every seed."""
    countries = [f"{a}{b}" for a, b in itertools.islice(itertools.product("ABCDEFGHKLMNPRSTUVZ", repeat=2), 40)]
    publishers = [(f"press-{n:03d}", countries[n % len(countries)]) for n in range(650)]
    title_list = [(f"issn:{n:04d}-{n % 9973:04d}", publishers[n % len(publishers)]) for n in range(titles)]
    return countries, publishers, title_list


def documents(items: int, vocab_size: int, seed: int = 16) -> tuple[list[SearchDocument], list[str]]:
    """The search documents, and the vocabulary by frequency of use (most used first)."""
    rng = random.Random(seed)
    words = vocabulary(vocab_size, rng)
    draw = zipf_sampler(words, rng)
    _, _, titles = world()
    out = []
    for n in range(1, items + 1):
        title_key, (publisher, country) = titles[rng.randrange(len(titles))]
        out.append(
            SearchDocument(
                id=n,
                title=" ".join(draw(rng.randint(6, 16))).capitalize(),
                released=rng.random() < 0.9,
                abstract=" ".join(draw(rng.randint(120, 250))),
                authors=tuple(" ".join(draw(2)).title() for _ in range(rng.randint(1, 4))),
                keywords=tuple(draw(3)),
                identifiers=(f"10.{5000 + n % 97}/bench.{n}",),
                country=country,
                publisher_key=publisher,
                title_key=title_key,
                year=rng.randint(1990, 2025),
                language=rng.choice(LANGUAGES),
            )
        )
    return out, words


@functools.lru_cache(maxsize=2)
def _pools(vocab_size: int, seed: int, pool: int) -> tuple[list[str], list[int], list[str], list[str]]:
    """The sentences (and their lengths in words), names and keywords :func:`streamed_documents` picks from."""
    rng = random.Random(seed)
    draw = zipf_sampler(vocabulary(vocab_size, rng), rng)
    sentences = [" ".join(draw(rng.randint(8, 30))) for _ in range(pool)]
    names = [" ".join(draw(2)).title() for _ in range(100_000)]
    return sentences, [s.count(" ") + 1 for s in sentences], names, draw(1_000_000)


def streamed_documents(items: int, vocab_size: int, seed: int = 16, *, pool: int = 300_000) -> Iterator[SearchDocument]:
    """The search documents one at a time, fast enough for 10,000,000 (holding none of them): the streamed variant
    of :func:`documents`, for bench_search.py at size. Seeded, so the same arguments give the same documents, and
    any first n of a longer stream are the stream of n.

    How it differs from :func:`documents`, which draws every word of every document (about 200 draws a document,
    about 6 minutes a million here): a pool of ``pool`` sentences of 8 to 30 words is drawn once, word by word from
    the same Zipf sampler (exponent 1.07, the same vocabulary), and each document is composed of sentences picked
    uniformly from it: an abstract is whole sentences until its length (120 to 250 words, drawn as before) and the
    last one cut there, a title is one sentence cut to 6 to 16 words (whole if shorter), each author is a name from
    a pool of 100,000 two-word names, each of the three keywords a word from a pool of 1,000,000 drawn word by word.
    About 25 random draws a document instead of about 220.

    The pools are drawn once a process (cached), so a second stream of the same arguments costs only its
    documents. Since sentences are picked uniformly, a word's expected frequency is the per-word generator's, rare
    words included (its document frequency still grows in proportion to the archive); what changes is that words come in
    repeated groups (each sentence is in about 30 documents per million), so posting lists correlate more than in
    real text, which may make an index somewhat smaller. Figures from the two generators are not compared."""
    sentences, lengths, names, keywords = _pools(vocab_size, seed, pool)
    _, _, titles = world()
    r = random.Random(f"{seed} documents").random  # its own generator: the pools are drawn once a process
    n_titles, n_names, n_keywords = len(titles), len(names), len(keywords)
    for n in range(1, items + 1):
        title_key, (publisher, country) = titles[int(r() * n_titles)]
        title_words = 6 + int(r() * 11)  # 6 to 16
        t = sentences[int(r() * pool)].split(" ", title_words)  # at least 8 words, so enough
        want = 120 + int(r() * 131)  # 120 to 250
        parts, have = [], 0
        while have < want:
            i = int(r() * pool)
            parts.append(sentences[i])
            have += lengths[i]
        if have > want:  # cut the last sentence at the abstract's length
            parts[-1] = " ".join(parts[-1].split(" ", lengths[i] - (have - want))[:-1])
        yield SearchDocument(
            id=n,
            title=" ".join(t[:title_words]).capitalize(),
            released=r() < 0.9,
            abstract=" ".join(parts),
            authors=tuple([names[int(r() * n_names)] for _ in range(1 + int(r() * 4))]),
            keywords=(
                keywords[int(r() * n_keywords)],
                keywords[int(r() * n_keywords)],
                keywords[int(r() * n_keywords)],
            ),
            identifiers=(f"10.{5000 + n % 97}/bench.{n}",),
            country=country,
            publisher_key=publisher,
            title_key=title_key,
            year=1990 + int(r() * 36),
            language=LANGUAGES[int(r() * 8)],
        )


# ---- a whole catalog -------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    publishers: int
    titles: int
    aus: int
    items: int
    files: int
    released_items: int
    seconds: float


def _digest(algorithm: str, n: int) -> str:
    return hashlib.new(algorithm, n.to_bytes(8, "big")).hexdigest()


class _Writer:
    """Rows into one table: COPY on PostgreSQL, executemany on SQLite, a batch at a time."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    def write(self, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        written = 0
        if self.postgres:
            json_at = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    if json_at:
                        row = tuple(json.dumps(v) if i in json_at else v for i, v in enumerate(row))
                    copy.write_row(row)
                    written += 1
            return written
        it = iter(rows)
        while batch := [dict(zip(columns, row, strict=True)) for row in itertools.islice(it, 20_000)]:
            self.conn.execute(table.insert(), batch)
            written += len(batch)
        return written

    def without_indexes(self, tables: Sequence[sa.Table]) -> list[str]:
        """On PostgreSQL, drop the tables' unique constraints and secondary indexes (the primary key stays) and
        return the statements that make them again: building an index once by sorting is many times faster than
        keeping it up to date row by row (PostgreSQL's own advice for bulk loads). Nothing on SQLite.

        The tables are the catalog's own, found as its statements find them (``::regclass``, by the search path): a
        database may hold other catalogs' tables of the same names in other schemas (the tests' schemas do)."""
        if not self.postgres:
            return []
        again: list[str] = []
        for table in tables:
            for name, definition in self.conn.exec_driver_sql(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                f"WHERE conrelid = '{table.name}'::regclass AND contype = 'u'"
            ).all():
                self.conn.exec_driver_sql(f'ALTER TABLE {table.name} DROP CONSTRAINT "{name}"')
                again.append(f'ALTER TABLE {table.name} ADD CONSTRAINT "{name}" {definition}')
            for name, definition in self.conn.exec_driver_sql(  # the name as regclass prints it: quoted, qualified
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid = %(t)s::regclass AND NOT indisprimary",
                {"t": table.name},
            ).all():
                self.conn.exec_driver_sql(f"DROP INDEX {name}")
                again.append(definition)
        self.conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
        return again

    def fix_sequences(self, tables: Iterable[sa.Table]) -> None:
        if self.postgres:
            for table in tables:
                self.conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
                )


def _published(year: int, item: int) -> dt.date:
    """The synthetic item's publication date (its AU's year)."""
    return dt.date(year, 1 + item % 12, 1 + item % 28)


def load_catalog(
    engine: sa.Engine,
    items: int,
    *,
    seed: int = 16,
    per_au: int = 100,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    """Write ``items`` synthetic items (and their publishers, titles, AUs, files) into the empty catalog behind
    ``engine`` (migrated to head) in one transaction. See the module docstring for exactly what is written."""
    started = time.perf_counter()
    now = now or dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    rng = random.Random(seed)
    words = vocabulary(50_000, rng)
    draw = zipf_sampler(words, rng)
    title_pool = [" ".join(draw(rng.randint(6, 16))).capitalize() for _ in range(5000)]
    abstract_pool = [" ".join(draw(rng.randint(40, 80))) for _ in range(5000)]
    name_pool = [" ".join(draw(2)).title() for _ in range(5000)]
    n_titles = max(1, min(5000, items // 20))
    _, _, titles = world(n_titles)
    used = sorted({p for _, p in titles})
    n_aus = math.ceil(items / per_au)
    say = progress or (lambda _: None)

    with engine.begin() as conn:
        if conn.scalar(sa.select(sa.func.count()).select_from(Item.__table__)):
            raise ValueError("the catalog already holds items; load synthetic data into a fresh node")
        w = _Writer(conn)
        rebuild = w.without_indexes([Item.__table__, File.__table__])
        pub_ids = {p: n for n, p in enumerate(used, 1)}
        # names' sort keys (domain.names, revision 0020; absent when an older tree loads), as the catalog writes them
        keyed = ("sort_key",) if any(c["name"] == "sort_key" for c in sa.inspect(conn).get_columns("titles")) else ()

        def keys(name: str) -> tuple[str, ...]:
            from strongroom.domain.names import sort_key  # (here: an older tree has no such function)

            return (sort_key(name),) if keyed else ()

        w.write(
            Publisher.__table__,
            ("id", "key", "name", "country", "platform", "status", "created_at", *keyed),
            (
                (pub_ids[p], p[0], f"Press {p[0][6:]}", p[1], "ojs", "active", now, *keys(f"Press {p[0][6:]}"))
                for p in used
            ),
        )
        w.write(
            Title.__table__,
            ("id", "key", "publisher_id", "name", "kind", "issn_print", "issn_online", "languages", "licence",
             "created_at", *keyed),
            (
                (n, key, pub_ids[p], title_pool[n % len(title_pool)][:200], "journal", key[5:], None,
                 [LANGUAGES[n % len(LANGUAGES)]], LICENCE, now, *keys(title_pool[n % len(title_pool)][:200]))
                for n, (key, p) in enumerate(titles, 1)
            ),
        )  # fmt: skip
        w.write(
            Trigger.__table__,
            ("id", "key", "scope_kind", "scope_ref", "au_keys", "reason", "explanation", "evidence", "state",
             "decision", "proposed_by", "created_at", "decided_at", "released_at", "licence"),
            [(1, TRIGGER, "publisher", "bench", [], "ceased", "synthetic", [], "released", "", "bench", now, now,
              now, LICENCE)],
        )  # fmt: skip
        say(f"{len(used)} publishers, {n_titles} titles")

        # Every AU first (its items are known before they are written), then the items and files in id order.
        aus: list[tuple[int, str, int, int, bool, int, int]] = []  # id, key, title id, year, released, first, n
        item_id = 1
        for a in range(1, n_aus + 1):
            t = (a - 1) % n_titles
            year = 1990 + ((a - 1) // n_titles) % 36
            n = min(per_au, items - item_id + 1)
            aus.append((a, f"{titles[t][0]}/au-{a}", t + 1, year, rng.random() < 0.9, item_id, n))
            item_id += n
        released_items = sum(au[6] for au in aus if au[4])
        w.write(
            ArchivalUnit.__table__,
            ("id", "key", "title_id", "label", "state", "object_id", "head_version", "item_count", "volumes",
             "issues", "created_at", "updated_at", "released_at", "release_licence", "release_trigger"),
            (
                (a, key, t, str(year), "collected", f"strongroom:au/{key}", 1, n,
                 volume_counts([(str(year - 1989), year, n)]),
                 issue_coverage((str(year - 1989), str(1 + i % 4), _published(year, i), year)
                                for i in range(first, first + n)),
                 now, now,
                 now - dt.timedelta(days=a % 700) if released else None, LICENCE if released else None,
                 TRIGGER if released else None)
                for a, key, t, year, released, first, n in aus
            ),
        )  # fmt: skip
        w.write(
            AUVersion.__table__,
            ("id", "au_id", "number", "created", "message", "agent", "files", "bytes", "new_files", "new_bytes"),
            ((a, a, 1, now, "synthetic", "bench", n, n * 500_000, n, n * 500_000) for a, *_, n in aus),
        )
        say(f"{n_aus:,} AUs")

        def item_rows() -> Iterator[tuple[Any, ...]]:
            for a, key, _, year, _, first, n in aus:
                for i in range(first, first + n):
                    page = 1 + (i % 40) * 10
                    yield (
                        i, a, f"bench.{i}", public_id(key, f"bench.{i}"), f"10.{5000 + i % 97}/bench.{i}",
                        title_pool[rng.randrange(len(title_pool))],
                        [{"name": name_pool[rng.randrange(len(name_pool))]} for _ in range(1 + i % 4)],
                        _published(year, i), year, str(year - 1989), str(1 + i % 4),
                        f"{page}-{page + 9}", abstract_pool[rng.randrange(len(abstract_pool))],
                        draw(3), LANGUAGES[i % len(LANGUAGES)], LICENCE, "research-article",
                    )  # fmt: skip

        written = w.write(
            Item.__table__,
            ("id", "au_id", "item_key", "public_id", "doi", "title", "authors", "publication_date", "year",
             "volume", "issue", "pages", "abstract", "keywords", "language", "licence", "item_type"),
            item_rows(),
        )  # fmt: skip
        say(f"{written:,} items")
        files = w.write(
            File.__table__,
            ("id", "au_id", "item_id", "logical_path", "size", "sha512", "sha256", "media_type", "role", "source",
             "version"),
            (
                (i, (i - 1) // per_au + 1, i, f"bench.{i}/article.pdf", 200_000 + (i * 7919) % 1_800_000,
                 _digest("sha512", i), _digest("sha256", i), "application/pdf", "fulltext", "deposit", 1)
                for i in range(1, items + 1)
            ),
        )  # fmt: skip
        say(f"{files:,} files")
        for statement in rebuild:
            conn.exec_driver_sql(statement)
        say(f"{len(rebuild)} indexes and unique constraints built")
        w.fix_sequences(
            [Publisher.__table__, Title.__table__, Trigger.__table__, ArchivalUnit.__table__, AUVersion.__table__,
             Item.__table__, File.__table__]
        )  # fmt: skip
        if sa.inspect(conn).has_table("title_summaries"):  # (revision 0018; absent when an older tree loads)
            from strongroom.services.title_summaries import rebuild

            say(f"{rebuild(conn):,} title summaries")  # as the indexer and triggers keep them, from the AUs
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return LoadReport(len(used), n_titles, n_aus, written, files, released_items, time.perf_counter() - started)
