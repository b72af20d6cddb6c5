"""The everyday commands import only what they use (issue 16, a fast command line): each command runs as a user
starts it, ``python -m strongroom ...`` in a fresh interpreter, on a small node on either catalog backend, and what
it had imported by its end is checked against what only other commands need. A structural check on
``sys.modules``, never a timing (the times are in docs/benchmarks.md, from bench/bench_cli.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.keys import public_key_text
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.node import Node
from strongroom.settings import load_settings

# What only other faces and use cases need: the portal and the peer API (FastAPI, Starlette, uvicorn, Jinja2,
# multipart forms), the harvester (pycurl, warcio, lxml), deposits (pypdf, Pillow), migrations (Alembic and its
# Mako), the job queue (procrastinate), the S3 store (boto3), and httpx's own command line (Pygments).
NEVER = (
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "multipart",
    "pycurl",
    "warcio",
    "lxml",
    "pypdf",
    "PIL",
    "alembic",
    "mako",
    "procrastinate",
    "boto3",
    "botocore",
    "pygments",
)

# What a command that does not search, or checks no country by name, leaves out: the search engine (opened when a
# search first needs it), pycountry (an ISO code is checked without it) and the tables of the other use cases
# (declared when first used).
UNUSED = ("tantivy", "pycountry", "strongroom.catalog.models_extra")

# What only cataloguing a new version needs (its inventory read a member at a time into a private SQLite file).
CATALOGUING = ("strongroom.store.listing", "strongroom.formats.record_stream")

# What a listing of items leaves out: the ORM and the mapped classes (the archive's own tables are read as Core
# tables on a connection; importing the ORM and configuring its mappers cost that command more than its query).
ORM = ("sqlalchemy.orm", "strongroom.catalog.models", "strongroom.catalog.models_core")

# Runs `python -m strongroom ARGS...` in this interpreter, then writes the modules it had imported (a module set
# to None in sys.modules is one kept out on purpose, not imported).
RUN = """
import atexit, json, runpy, sys
out, args = sys.argv[1], sys.argv[2:]
def dump():
    with open(out, "w") as f:
        json.dump(sorted(name for name, module in sys.modules.items() if module is not None), f)
atexit.register(dump)
sys.argv = ["strongroom", *args]
runpy.run_module("strongroom", run_name="__main__", alter_sys=True)
"""


def run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``strongroom ARGS`` in a fresh interpreter: its result, and every module and package it had imported."""
    dump = tmp_path / "modules.json"
    dump.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(dump), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    names = set(json.loads(dump.read_text()))
    return proc, names | {name.split(".")[0] for name in names}


@pytest.fixture(scope="module")
def small_node(
    tmp_path_factory: pytest.TempPathFactory, module_db_factory: Callable[[], str], sample_dir: Path
) -> tuple[Path, str, str]:
    """A node home holding one deposited AU, in a network of two whose other member does not answer; that AU's
    key, and a word of one of its titles. (The commands only read it: one for the module.)"""
    admin, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    home = tmp_path_factory.mktemp("cli-imports") / "home"
    with Node.create(home, database_url=module_db_factory()) as node:
        node.ingest.deposit(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip"))[0])
        [au] = node.browse.aus()
        [item, *_] = node.browse.items()
        me = public_key_text(node.membership.private_key().public_key())
        members = (
            Member(node.settings.node_id, "http://127.0.0.1:9", me, "A", "GH"),
            Member("node-silent", "http://127.0.0.1:9", public_key_text(other.public_key()), "B", "KE"),
        )
        config = NetworkConfig("imports-net", 1, members, NetworkPolicy(target_copies=2, min_countries=1, quorum=1))
        node.membership.join(sign_config(config, admin), public_key_text(admin.public_key()))
    word = max(item.title.split(), key=len).strip(".,:;()")
    return home, au.key, word


def test_help_imports_neither_the_catalog_nor_rich(tmp_path: Path) -> None:
    proc, loaded = run(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "items" in proc.stdout and "au" in proc.stdout
    assert not loaded & {"sqlalchemy", "rich", "strongroom.node", "strongroom.settings", *NEVER}
    assert {m for m in loaded if m.startswith("strongroom.cli.")} == {"strongroom.cli.main", "strongroom.cli.common"}


# What opening a node imports, which ``strongroom items`` on a catalog with nothing to recover does without
# (services.lean_items reads the catalog with the standard library's sqlite3, or with psycopg alone on PostgreSQL):
# SQLAlchemy, the catalog's tables, the node, the services it builds, the store.
NODE = ("sqlalchemy", "strongroom.node", "strongroom.catalog.tables", "strongroom.services.browse", "strongroom.store")


def _sqlite(home: Path) -> bool:
    return load_settings(home).database_url.startswith("sqlite")


def test_items_imports_only_the_catalog_and_the_table(tmp_path: Path, small_node: tuple[Path, str, str]) -> None:
    home, au_key, _ = small_node
    proc, loaded = run(tmp_path, "items", "--home", str(home))
    assert proc.returncode == 0, proc.stderr
    assert au_key in proc.stdout  # the table of items was printed
    assert {"rich", "strongroom.services.lean_items"} <= loaded
    assert not loaded & {*NODE, "tantivy"}  # read without opening the node
    assert ("psycopg" in loaded) is not _sqlite(home)  # PostgreSQL's driver, only to read a PostgreSQL catalog
    assert not loaded & {*NEVER, *UNUSED, *ORM, *CATALOGUING}


def test_items_as_json_does_not_import_rich(tmp_path: Path, small_node: tuple[Path, str, str]) -> None:
    home, au_key, _ = small_node
    proc, loaded = run(tmp_path, "items", "--json", "--home", str(home))
    assert proc.returncode == 0, proc.stderr
    assert {i["au"] for i in json.loads(proc.stdout)["items"]} == {au_key}
    assert "rich" not in loaded
    assert not loaded & {*NEVER, *ORM, *NODE}


def test_items_search_imports_no_more_than_the_search_engine(tmp_path: Path, small_node: tuple[Path, str, str]) -> None:
    home, au_key, word = small_node
    proc, loaded = run(tmp_path, "items", word, "--json", "--home", str(home))
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["total"] >= 1 and {i["au"] for i in found["items"]} == {au_key}
    assert "tantivy" in loaded  # the node's default search engine answered
    assert not loaded & {*NEVER, *ORM, *CATALOGUING, "pycountry", "strongroom.catalog.models_extra"}
    assert not loaded & set(NODE)  # the index asked, and the catalog read, without opening the node


def test_au_status_imports_the_peer_client_but_not_what_other_network_commands_use(
    tmp_path: Path, small_node: tuple[Path, str, str]
) -> None:
    home, au_key, _ = small_node
    proc, loaded = run(tmp_path, "au", "status", au_key, "--json", "--home", str(home))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["au_key"] == au_key
    assert {"httpx", "strongroom.services.network_status", "strongroom.services.lean_au_status"} <= loaded
    # computed without opening the node (services.lean_au_status): the store, but no SQLAlchemy
    assert not loaded & {"sqlalchemy", "strongroom.node", "strongroom.catalog.tables", "strongroom.catalog.repo"}
    assert ("psycopg" in loaded) is not _sqlite(home)
    assert not loaded & {
        *NEVER,
        *UNUSED,
        *ORM,  # the AU, its events and its poll summary are read as Core rows on a connection
        *CATALOGUING,
        "strongroom.services.simulation",  # strongroom simulate
        "strongroom.services.network_admin",  # network keygen / sign
        "strongroom.services.network_overview",  # network status
        "strongroom.network.tls",  # mutual TLS, for members at https URLs only
        "cryptography.x509",  # ... with it: certificates, and the members' are checked only when listed
    }
