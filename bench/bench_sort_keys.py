"""Revision 0020's upgrade at size (see docs/benchmarks.md): a catalog at revision 0019 holding ``--titles`` titles
(and a publisher per 8 titles), names with accents, capitals and "ß", then upgraded to 0020, which computes every
name's sort key in Python a batch at a time (domain.names) and builds the (sort_key, id) indexes. Reports the
upgrade's seconds and rows a second, and the check that every key is the name's.

Usage: .venv/bin/python bench/bench_sort_keys.py --titles 100000 --backend sqlite|postgresql
PostgreSQL: database ``bench_sort_keys`` on 127.0.0.1:5432 (user postgres), made afresh. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from strongroom.catalog.db import _alembic_config, make_engine
from strongroom.domain.names import sort_key

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
WORDS = ["Études", "Revue", "straße", "Ñandú", "Journal", "África", "Économie", "zoologie", "İstanbul", "Acta"]


def _to(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _engine(backend: str, workdir: Path) -> sa.Engine:
    if backend == "sqlite":
        return make_engine(f"sqlite:///{workdir / 'catalog.sqlite'}")
    with sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT").connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS bench_sort_keys")
        conn.exec_driver_sql("CREATE DATABASE bench_sort_keys")
    return make_engine(f"{PG}/bench_sort_keys")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = _engine(args.backend, Path(tmp))
        _to(engine, "0019")
        now = "2026-12-04 09:00:00"
        publishers = max(1, args.titles // 8)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"INSERT INTO publishers (id, key, name, status, created_at) VALUES (:id, :k, :n, 'a', '{now}')"
                ),
                [{"id": p, "k": f"p-{p}", "n": f"{WORDS[p % 10]} Éditions {p}"} for p in range(1, publishers + 1)],
            )
            conn.execute(
                sa.text(
                    "INSERT INTO titles (id, key, publisher_id, name, kind, languages, created_at) "
                    f"VALUES (:id, :k, :p, :n, 'journal', '[]', '{now}')"
                ),
                [
                    {"id": t, "k": f"t-{t}", "p": 1 + t % publishers, "n": f"{WORDS[t % 10]} {WORDS[t % 7]} {t}"}
                    for t in range(1, args.titles + 1)
                ],
            )
        started = time.perf_counter()
        _to(engine, "0020")
        took = time.perf_counter() - started
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT name, sort_key FROM titles UNION ALL SELECT name, sort_key FROM publishers")
            )
            wrong = sum(1 for name, key in rows if key != sort_key(name))
        engine.dispose()
    total = args.titles + publishers
    print(f"{args.backend}: {args.titles:,} titles + {publishers:,} publishers upgraded to 0020 in {took:.2f} s")
    print(f"  {total / took:,.0f} rows/s; keys not the name's: {wrong}")


if __name__ == "__main__":
    main()
