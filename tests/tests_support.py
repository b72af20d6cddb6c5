"""Test doubles shared by several test folders: a publisher's web site on loopback, a clock tests can set, a free
loopback port, a wait for a condition, an ASGI app served in a thread, and a harvest of the fixture OJS site."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from strongroom.node import Node
    from strongroom.samples.ojs_site import OjsSite

IDENTIFY = b"""<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2026-01-01T00:00:00Z</responseDate><request>x</request><Identify><repositoryName>J</repositoryName>
</Identify></OAI-PMH>"""


class Publisher:
    """What the publisher's site answers: 'up', 'down' (503), 'gone' (404) or 'garbage' (HTML where XML belongs)."""

    def __init__(self) -> None:
        self.mode = "up"
        self.requests: list[str] = []


@contextmanager
def publisher_site() -> Iterator[tuple[str, Publisher]]:
    """A publisher's site over real HTTP: a journal page, article pages, a DOI resolver and OAI-PMH Identify."""
    publisher = Publisher()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            publisher.requests.append(self.path)
            if self.path.startswith("/doi/"):  # the resolver sends readers on to the publisher's article page
                self.send_response(302)
                self.send_header("Location", "/article/" + self.path[5:].replace("/", "_"))
                self.end_headers()
                return
            if publisher.mode != "up" and not (publisher.mode == "garbage" and not self.path.startswith("/oai")):
                self.send_response(503 if publisher.mode == "down" else 404 if publisher.mode == "gone" else 200)
                self.end_headers()
                self.wfile.write(b"<html>Service unavailable</html>")
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(IDENTIFY if self.path.startswith("/oai") else b"<html>journal</html>")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, publisher


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served over real HTTP on a free loopback port, a thread per connection: http://127.0.0.1:PORT."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class SettableClock:
    def __init__(self) -> None:
        self.t = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.t


def cli(home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The ``strongroom`` command, run in a subprocess against ``home``: ``sr = cli(home); sr("aus", "--json")``."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "strongroom.cli.main", *args, "--home", str(home)],
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run


def add_ojs_title(
    sr: Callable[..., subprocess.CompletedProcess[str]], title: str, manifest_url: str, name: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``strongroom harvest add`` for a journal on the fixture OJS site, with no politeness delay."""
    return sr(
        "harvest", "add", title, "--plan", "ojs", "--start-url", manifest_url, "--name", name, "--delay", "0", *extra
    )


def configure_ojs_harvest(node: Node, title: str, site: OjsSite, url: str) -> str:
    """``title`` configured on ``node`` for a harvest of the fixture OJS ``site`` served at ``url``: the journal's
    name, its Kenyan publisher, the "ojs" plan from the journal's CLOCKSS gateway, no politeness delay. Returns the
    journal's OAI-PMH endpoint."""
    node.harvests.configure(
        title,
        name=site.title.title,
        publisher="Nairobi Health Sciences Publishers",
        country="KE",
        plan="ojs",
        settings={"start_url": f"{url}{site.base}/gateway/clockss", "delay": 0},
    )
    return f"{url}{site.base}/oai"


def _ephemeral_low() -> int:
    """The first port of the kernel's range for outgoing connections' local ports (32768 when it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_HANDED_OUT: set[int] = set()


def _worker_slice(low: int, high: int) -> tuple[int, int]:
    """This test worker's own share of ports ``low``..``high`` (the whole range outside pytest-xdist): two workers
    never pick the same port, so one cannot take a port the other has named to a node but not yet bound."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not (worker.startswith("gw") and worker[2:].isdigit() and count.isdigit() and int(count) > 0):
        return low, high
    size = (high - low) // int(count)
    start = low + int(worker[2:]) * size
    return start, start + size


def free_ports(count: int = 1) -> int:
    """The first of ``count`` loopback ports in a row that no one listens on, for servers a test starts later.

    They are picked below the kernel's range for outgoing connections: a port from that range (what binding port 0
    gives) can be taken meanwhile by any connection another test worker opens, and the server then fails to bind
    it ("address already in use"). Each test worker picks from its own share of that range (another worker's test
    could otherwise pick the same port between this one's check and its bind), and never hands out a port twice."""
    from strongroom.demo_network import port_free

    low, high = _worker_slice(10000, max(_ephemeral_low(), 20000))
    for _ in range(500):
        first = random.randint(low, high - count)
        ports = range(first, first + count)
        if _HANDED_OUT.isdisjoint(ports) and all(port_free(p) for p in ports):
            _HANDED_OUT.update(ports)
            return first
    raise AssertionError(f"no {count} free loopback ports in a row in {low}..{high}")


def free_port() -> int:
    """A loopback port no one listens on (for a server a test starts); see free_ports."""
    return free_ports(1)


# How long a test gives nodes for work that takes them a second or two on an idle machine (a replication round, a
# repair): on a shared CI machine two test workers, five nodes each and a neighbour's fsyncs stretch it many times.
LIVENESS = 180


def wait_for(
    what: str, check: Callable[[], bool], timeout: float = 60, explain: Callable[[], str] | None = None
) -> None:
    """Wait until ``check()`` holds; fail the test, naming ``what``, after ``timeout`` seconds (with what
    ``explain()`` says of the state things were left in, such as the servers' logs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{explain()}" if explain else ""))


@contextmanager
def serve_app(app: Any, *, port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app (a node's portal) with uvicorn on ``port`` (default: a free loopback port) in a thread,
    over real HTTP; yields its base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for("the app to listen", lambda: server.started, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def statements(engine: Any, kinds: tuple[str, ...] = ("SELECT", "WITH", "(SELECT")) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs inside the block whose text starts with one of ``kinds`` (reads, by
    default; ``()`` for every statement): how tests show that a page's query count does not grow with the data."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not kinds or statement.lstrip().upper().startswith(kinds):
            seen.append(statement)

    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def walk_pages(load: Callable[[str | None], Any]) -> Iterator[Any]:
    """Every row of a keyset listing, page after page: ``load(after)`` gives a page (``rows``, ``next``)."""
    after: str | None = None
    while True:
        page = load(after)
        yield from page.rows
        if page.next is None:
            return
        assert page.rows, "a page that says there is more is never empty"
        after = page.next


def sample_packages(tmp: Path, group: int) -> dict[str, Path]:
    """The articles of one of two sample titles (``group`` 0 or 1) as each package form: a BagIt bag, a JATS
    directory, a JASPER zip and the bag zipped (the same corpus every call: tests compare digests of what they
    make)."""
    from strongroom.samples import generate_corpus
    from strongroom.samples.packages import write_bag, write_jasper_zip, write_jats_dir, zip_dir

    corpus = generate_corpus(7, publishers=2, titles_per_publisher=1, years=(2024,), articles_per_issue=6)
    title, _year, articles = corpus.groups()[group]
    bag = write_bag(tmp / "bag", articles, title)
    return {
        "bag": bag,
        "jats": write_jats_dir(tmp / "jats", articles, title),
        "jasper": write_jasper_zip(tmp / "jasper.zip", articles, title),
        "bagzip": zip_dir(bag, tmp / "bag.zip"),
    }


@contextmanager
def small_tmpfs(mount: Path, size: int) -> Iterator[Path]:
    """A tmpfs of ``size`` bytes mounted at ``mount``, for tests of a disk that fills up; skipped where mounting is
    not allowed, except under CI, which must run them."""
    mount.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"a tmpfs is needed under CI: {proc.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def board_release(node: Node, scope: str, keys: list[str], *, licence: str | None = None) -> None:
    """``keys`` (AUs, or one title) released by a board of three, all for: what a release needs, for a test."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
    from strongroom.keys import public_key_text
    from strongroom.services.triggers import sign_ballot

    board = {name: Ed25519PrivateKey.generate() for name in ("ama", "bakari", "chiara")}
    for name, key in board.items():
        node.triggers.add_member(name, public_key_text(key.public_key()))
    t = node.triggers.propose(ScopeKind(scope), keys, TriggerReason.PUBLISHER_CEASED, ["site gone"], "operator")
    stamp = "2026-01-15T10:00:00Z"
    for name, key in board.items():
        node.triggers.vote(t.key, name, VoteChoice.FOR, stamp, sign_ballot(key, t.key, name, VoteChoice.FOR, stamp))
    if licence is None:
        node.triggers.release(t.key, "operator")
    else:
        node.triggers.release(t.key, "operator", licence)


def compiled_sql(stmt: Any, dialect: str) -> tuple[str, tuple[Any, ...] | dict[str, Any]]:
    """A Core statement as SQLAlchemy sends it to ``dialect`` ("sqlite" or "postgresql", psycopg's): its text, and
    its parameters (positional for SQLite's ?, by name for psycopg's %(name)s): what the lean readers' SQL text must
    equal."""
    from sqlalchemy.dialects import postgresql, sqlite

    c = stmt.compile(
        dialect=(sqlite.dialect() if dialect == "sqlite" else postgresql.dialect()),
        compile_kwargs={"render_postcompile": True},
    )
    if c.positiontup is None:
        return str(c), dict(c.params)
    return str(c), tuple(c.params[name] for name in c.positiontup)


@contextmanager
def dead_write_intent(home: Path) -> Iterator[Callable[[], int]]:
    """A write intent left in the PostgreSQL catalog of the node at ``home`` by a writer that died (its row stays,
    its advisory lock went with it); yields a count of the intents still there, to see the node's recovery end it."""
    import sqlalchemy as sa

    from strongroom.settings import load_settings

    engine = sa.create_engine(load_settings(home).resolved_database_url())
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO write_intents (token, object_id, kind, host, pid, created_at) "
                    "VALUES ('0123456789abcdef', 'urn:x:never-written', 'write', 'elsewhere', 1, now())"
                )
            )

        def left() -> int:
            with engine.connect() as conn:
                return int(conn.scalar(sa.text("SELECT count(*) FROM write_intents")) or 0)

        yield left
    finally:
        engine.dispose()
