"""Exports round-trip: an exported bag deposited into an empty node gives the same AU (items, files, paths,
digests, even the same deposit record), for generated packages of every form. A released AU arrives dark (a release
is the receiving board's decision). A killed export leaves nothing for long, and a missing content file is named."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from strongroom.catalog.models import ArchivalUnit, File, Item
from strongroom.clock import FixedClock
from strongroom.errors import ExitCode, StorageError
from strongroom.node import Node
from strongroom.samples import generate_corpus, write_bag, write_jasper_zip, write_jats_dir, zip_dir
from strongroom.services.deposit import DepositOptions
from tests_support import cli

CLOCK = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)


def _package(dest: Path, seed: int, form: str, count: int) -> Path:
    journal, _year, articles = generate_corpus(seed).groups()[seed % 3]
    chosen = articles[:count]
    if form == "bag":
        return write_bag(dest / "bag", chosen, journal)
    if form == "zipped bag":
        return zip_dir(write_bag(dest / "tmp" / "bag", chosen, journal), dest / "bag.zip")
    if form == "jasper":
        return write_jasper_zip(dest / "jasper.zip", chosen, journal)
    return write_jats_dir(dest / "jats", chosen, journal)


def _au(node: Node) -> tuple[dict[str, str], set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The AU as a node holds it: its object's state, its items and its files (everything but row ids)."""
    with node.catalog.session() as s:
        au = s.scalars(select(ArchivalUnit)).one()
        items = {
            (i.item_key, i.public_id, i.doi, i.title, str(i.authors), i.publication_date, i.year, i.volume, i.issue,
             i.pages, i.abstract, str(i.keywords), i.language, i.licence, i.item_type, i.url)
            for i in s.scalars(select(Item).where(Item.au_id == au.id))
        }  # fmt: skip
        keys = {i.id: i.item_key for i in s.scalars(select(Item).where(Item.au_id == au.id))}
        files = {
            (f.logical_path, f.size, f.sha512, f.sha256, f.media_type, f.role, f.source, keys.get(f.item_id or -1))
            for f in s.scalars(select(File).where(File.au_id == au.id))
        }
        return node.store.state(au.object_id), items, files


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(1, 10_000),
    form=st.sampled_from(["bag", "zipped bag", "jasper", "jats"]),
    count=st.integers(1, 4),
)
def test_an_exported_au_deposited_again_is_the_same_au(
    tmp_path_factory: pytest.TempPathFactory, seed: int, form: str, count: int
) -> None:
    tmp = tmp_path_factory.mktemp("roundtrip")
    origin = Node.create(tmp / "origin", clock=FixedClock(CLOCK))
    title = "A journal named by the operator" if form == "jasper" else None
    result = origin.ingest.deposit(_package(tmp, seed, form, count), DepositOptions(title=title, publisher="P"))
    exported = origin.exports.export(result.au_key, tmp / "export")
    receiving = Node.create(tmp / "receiving", clock=FixedClock(CLOCK))
    again = receiving.ingest.deposit(exported.dest)
    assert again.au_key == result.au_key and again.package_form == "strongroom-export"
    assert _au(receiving) == _au(origin)
    assert receiving.audits.audit().intact
    origin.close()
    receiving.close()


def test_a_released_au_arrives_dark(tmp_path: Path, sample_dir: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
    from strongroom.keys import public_key_text
    from strongroom.services.triggers import sign_ballot

    origin = Node.create(tmp_path / "origin", clock=FixedClock(CLOCK))
    result = origin.ingest.deposit(next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag")))
    workflow = origin.triggers
    keys = {n: Ed25519PrivateKey.generate() for n in ("a", "b", "c")}
    for n, k in keys.items():
        workflow.add_member(n, public_key_text(k.public_key()))
    t = workflow.propose(ScopeKind.AUS, [result.au_key], TriggerReason.PUBLISHER_CEASED, ["x"], "op")
    for n, k in keys.items():
        workflow.vote(t.key, n, VoteChoice.FOR, "s", sign_ballot(k, t.key, n, VoteChoice.FOR, "s"))
    workflow.release(t.key, "op")
    assert origin.released().count() > 0
    exported = origin.exports.export(result.au_key, tmp_path / "export")
    assert (exported.dest / "data" / "strongroom" / "release.json").exists()
    receiving = Node.create(tmp_path / "receiving", clock=FixedClock(CLOCK))
    receiving.ingest.deposit(exported.dest)
    assert receiving.released().count() == 0
    state = receiving.store.state(result.object_id)
    assert "strongroom/release.json" not in state
    assert {p: d for p, d in origin.store.state(result.object_id).items() if p != "strongroom/release.json"} == state
    origin.close()
    receiving.close()


SLOW_EXPORT = """
import sys, time
import strongroom.services.export as e
real = e.copy_and_hash
def slow(*a, **k):
    print("copying", flush=True)
    time.sleep(30)
    return real(*a, **k)
e.copy_and_hash = slow
from strongroom.cli.main import main
main()
"""


def test_a_killed_export_leaves_nothing_for_long(tmp_path: Path, sample_dir: Path) -> None:
    home = tmp_path / "home"
    sr = cli(home)
    assert sr("init").returncode == 0
    bag = next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag"))
    au = json.loads(sr("deposit", str(bag), "--json").stdout)["au"]
    out = tmp_path / "exports"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_EXPORT, "export", au, str(out / "first"), "--home", str(home)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "copying"
    assert next(p.name for p in out.iterdir()).startswith(".first.partial-")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.1)
    assert sr("export", au, str(out / "second")).returncode == 0
    assert [p.name for p in out.iterdir()] == ["second"]  # the dead export's partial folder is gone


def test_an_export_whose_content_is_missing_names_it(node: Node, sample_dir: Path, tmp_path: Path) -> None:
    result = node.ingest.deposit(next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag")))
    pdf = next(p for p in node.store.state(result.object_id) if p.endswith(".pdf"))
    (node.store.object_path(result.object_id) / node.store.content_path(result.object_id, pdf)).unlink()
    with pytest.raises(StorageError, match=r"cannot (be )?read") as refused:
        node.exports.export(result.au_key, tmp_path / "out")
    assert refused.value.exit_code == ExitCode.STORAGE and "strongroom audit" in (refused.value.hint or "")
    assert list(tmp_path.glob(".out*")) == [] and not (tmp_path / "out").exists()
