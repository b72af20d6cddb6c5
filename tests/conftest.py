"""Shared fixtures: catalog databases on SQLite and on PostgreSQL, a fixed clock, and node homes.

Every test that touches the catalog takes ``db_url`` and so runs twice, once per backend. PostgreSQL tests
use a fresh schema on the server at ``STRONGROOM_TEST_PG`` (default: the local trust-auth server, database
``test``); they are skipped when no server answers, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from strongroom.clock import FixedClock
from strongroom.node import Node
from tests_support import Publisher, publisher_site

PG_BASE = os.environ.get("STRONGROOM_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_BASE, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_status() -> str | None:
    return _pg_available()


@contextmanager
def database_maker(
    backend: str, request: pytest.FixtureRequest, tmp: pytest.TempPathFactory
) -> Iterator[Callable[[], str]]:
    """Makes fresh, empty catalog databases on ``backend`` (one per call); PostgreSQL schemas are dropped after."""
    if backend == "sqlite":
        yield lambda: "sqlite:///" + str(tmp.mktemp("db") / "catalog.sqlite")
        return
    problem = request.getfixturevalue("pg_status")
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but is not reachable at {PG_BASE}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_BASE}: {problem}")
    admin = sa.create_engine(PG_BASE)
    schemas: list[str] = []

    def make() -> str:
        schema = "t_" + uuid.uuid4().hex[:12]
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        sep = "&" if "?" in PG_BASE else "?"
        return f"{PG_BASE}{sep}options=-csearch_path%3D{schema}"

    try:
        yield make
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_factory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """Makes fresh, empty catalog databases on the backend under test (one per call)."""
    with database_maker(request.param, request, tmp_path_factory) as make:
        yield make


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_db_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], str]]:
    """As ``db_factory``, shared by the tests of one module (for fixtures that are costly to build)."""
    with database_maker(request.param, request, tmp_path_factory) as make:
        yield make


@pytest.fixture
def db_url(db_factory: Callable[[], str]) -> str:
    return db_factory()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def node(tmp_path: Path, db_url: str, clock: FixedClock) -> Iterator[Node]:
    """A fresh node on the backend under test."""
    n = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    yield n
    n.close()


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample packages in every form, generated once per session (read-only for tests)."""
    from strongroom.demo import write_packages

    dest = tmp_path_factory.mktemp("samples")
    write_packages(dest, seed=1)
    return dest


@pytest.fixture
def snap() -> Callable[[Node], tuple[list[str], dict[str, int]]]:
    return _snapshot


def _snapshot(n: Node) -> tuple[list[str], dict[str, int]]:
    """Everything a write could change: the storage root's files and the catalog's row counts."""
    root = n.settings.resolved_storage_root()
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    counts = {}
    with n.catalog.engine.connect() as conn:
        for table in ("publishers", "titles", "archival_units", "au_versions", "items", "files", "events"):
            counts[table] = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    return files, counts


@pytest.fixture
def site() -> Iterator[tuple[str, Publisher]]:
    """A publisher's web site on loopback (see tests_support.Publisher for what it can play)."""
    with publisher_site() as running:
        yield running


@pytest.fixture(scope="session")
def clamd_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address (``unix:…``) of a real clamd with a signature database of our own (the EICAR test file, see
    tests/clamd_support.py), started once per session and stopped at its end. Skipped when clamd is not
    installed, except under CI (``CI=true``), where that is a failure."""
    from clamd_support import running_clamd

    with running_clamd(tmp_path_factory.mktemp("clamd")) as running:
        yield running.address


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, under Playwright (one per test module): the browser of every browser test.
    Skipped without it, except under CI (``CI=true``), where that is a failure."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        sync_playwright = None
    if sync_playwright is None or not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need Chromium at {CHROMIUM} and Playwright under CI")
        pytest.skip("Chromium (Debian package 'chromium') is not installed")
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking"]
        )
        yield launched
        launched.close()


# A test of the five-node network on PostgreSQL holds about 60 of the server's 100 connections (ten engines' pools:
# five nodes, each opened by its daemon and by the test, besides their lock connections); two at once, one on each
# pytest-xdist worker, run out ("too many clients"). They share one xdist group, so one worker runs them in turn
# (scripts/test runs pytest with --dist loadgroup); every other test is spread as before.
MANY_NODES_ON_POSTGRESQL = ("tests/network/test_five_nodes.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgresql = callspec is not None and "postgresql" in callspec.params.values()
        if on_postgresql and item.nodeid.startswith(MANY_NODES_ON_POSTGRESQL):
            item.add_marker(pytest.mark.xdist_group("many-nodes-on-postgresql"))
