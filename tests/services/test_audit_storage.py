"""The audit checks storage, not the catalog: an object the catalog does not know is found and catalogued; one
broken object never stops the audit of the others; the root inventory must match its head version's copy; the
fix the findings give for catalog disagreements (reindex) works; a write waits for an audit reading the same object;
and a running command never ends another live process's intent."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import delete, update

from strongroom.catalog.models import ArchivalUnit, AUVersion, File, Item, SearchQueue
from strongroom.node import Node
from strongroom.services.deposit import DepositOptions
from tests_support import cli


def _bags(sample_dir: Path) -> list[Path]:
    return sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))


def _forget(node: Node, au_key: str) -> str:
    """Drop an AU from the catalog only (as a lost or older catalog would lack it); its object stays in storage."""
    with node.catalog.session() as s:
        au = s.query(ArchivalUnit).filter_by(key=au_key).one()
        object_id = au.object_id
        s.execute(delete(File).where(File.au_id == au.id))
        s.execute(delete(SearchQueue))
        s.execute(delete(Item).where(Item.au_id == au.id))
        s.execute(delete(AUVersion).where(AUVersion.au_id == au.id))
        s.delete(au)
    return object_id


def test_an_object_the_catalog_lacks_is_found_and_catalogued(node: Node, sample_dir: Path) -> None:
    first, second = (node.ingest.deposit(p) for p in _bags(sample_dir)[:2])
    _forget(node, second.au_key)
    report = node.audits.audit()
    [found] = [a for a in report.aus if a.au_key == second.au_key]
    assert [f.code for f in found.findings] == ["A009"] and "catalogued now" in found.findings[0].message
    assert found.files > 0  # and its content was checked like every other's
    assert node.audits.audit().intact  # catalogued: the next audit is clean
    assert {au.key for au in node.browse.aus()} == {first.au_key, second.au_key}


def test_one_broken_inventory_does_not_stop_the_audit(node: Node, sample_dir: Path) -> None:
    results = [node.ingest.deposit(p) for p in _bags(sample_dir)[:2]]
    broken = node.store.object_path(results[0].object_id) / "inventory.json"
    broken.write_text("{ not json")
    report = node.audits.audit()
    by_au = {a.au_key: a for a in report.aus}
    assert [f.code for f in by_au[results[0].au_key].findings] == ["A005"]
    assert by_au[results[1].au_key].intact and by_au[results[1].au_key].files > 0


def test_a_root_inventory_that_differs_from_its_head_copy_is_found(node: Node, sample_dir: Path) -> None:
    result = node.ingest.deposit(_bags(sample_dir)[0])
    obj = node.store.object_path(result.object_id)
    head_copy = obj / "v1" / "inventory.json"
    data = json.loads(head_copy.read_text())
    data["versions"]["v1"]["message"] = "rewritten"
    raw = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
    head_copy.write_bytes(raw)  # a consistent but different copy: its own sidecar agrees with it
    (obj / "v1" / "inventory.json.sha512").write_text(f"{hashlib.sha512(raw).hexdigest()}  inventory.json\n")
    [au] = node.audits.audit().aus
    assert [f.code for f in au.findings] == ["A010"]


def test_reindex_repairs_what_a006_and_a007_report(node: Node, sample_dir: Path) -> None:
    result = node.ingest.deposit(_bags(sample_dir)[0])
    with node.catalog.session() as s:
        au_id = s.query(ArchivalUnit.id).filter_by(key=result.au_key).scalar()
        s.execute(update(File).where(File.au_id == au_id).values(size=1))  # A006
        first = s.query(File).filter_by(au_id=au_id).order_by(File.id).first()
        s.delete(first)  # A007
    codes = {f.code for a in node.audits.audit().aus for f in a.findings}
    assert codes == {"A006", "A007"}
    home = node.settings.home
    node.close()
    assert cli(home)("reindex").returncode == 0  # the documented fix
    again = Node.open(home)
    assert again.audits.audit().intact
    again.close()


def test_a_write_waits_for_an_audit_reading_the_same_object(node: Node, sample_dir: Path) -> None:
    bag = _bags(sample_dir)[0]
    result = node.ingest.deposit(bag)
    published = threading.Event()

    def deposit_a_correction() -> None:  # same package and AU, a new title name: a new version of the object
        node.ingest.deposit(bag, DepositOptions(title="A corrected title"))
        published.set()

    with node.store.reading(result.object_id):
        writer = threading.Thread(target=deposit_a_correction)
        writer.start()
        time.sleep(1.5)
        assert not published.is_set()  # it waits to publish while the object is being read
        assert node.store.head_version(result.object_id) == 1
    writer.join(timeout=60)
    assert published.is_set() and node.store.head_version(result.object_id) == 2


WAIT_BEFORE_CATALOGUE = """
import sys, time
from pathlib import Path
import strongroom.services.indexer as indexer
real = indexer.Indexer.index
def held(self, object_id, **kw):
    Path(sys.argv[3]).write_text("committed")
    while not Path(sys.argv[4]).exists():
        time.sleep(0.05)
    return real(self, object_id, **kw)
indexer.Indexer.index = held
from strongroom.node import Node
from strongroom.services.deposit import DepositOptions
node = Node.open(Path(sys.argv[1]))
node.ingest.deposit(Path(sys.argv[2]))
"""


def test_another_command_never_ends_a_live_deposit_intent(tmp_path: Path, db_url: str, sample_dir: Path) -> None:
    home = tmp_path / "home"
    Node.create(home, database_url=db_url).close()
    committed, go = tmp_path / "committed", tmp_path / "go"
    writer = subprocess.Popen(
        [sys.executable, "-c", WAIT_BEFORE_CATALOGUE, str(home), str(_bags(sample_dir)[0]), str(committed), str(go)]
    )
    deadline = time.monotonic() + 60
    while not committed.exists():
        assert writer.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    sr = cli(home)
    assert json.loads(sr("aus", "--json").stdout)["aus"] == []  # stored, not yet catalogued: and this command's
    assert len(_intents(home)) == 1  # start-up recovery left the live intent alone
    audit = sr("audit", "--json")
    assert audit.returncode == 0 and json.loads(audit.stdout)["aus"] == []  # in flight: not a finding
    go.touch()
    assert writer.wait(timeout=120) == 0
    assert len(json.loads(sr("aus", "--json").stdout)["aus"]) == 1
    assert _intents(home) == []


def _intents(home: Path) -> list[str]:
    """The objects of the node's journalled intents (files in the home on SQLite, rows of the catalog on PostgreSQL)."""
    with Node.open(home, recover=False) as node:
        return node.journal.pending()


def test_a_whole_node_audit_reads_each_aus_files_at_its_turn(node: Node, sample_dir: Path, monkeypatch) -> None:
    """An audit of every AU holds one AU's catalogued files at a time: it reads them when that AU is audited, not
    all of them before the first (which, at 100,000 AUs, would hold every file row of the node at once)."""
    from strongroom.services import audit as audit_module

    results = [node.ingest.deposit(p) for p in _bags(sample_dir)[:3]]
    steps: list[str] = []
    read_files, audit_object = node.catalog.au_files, audit_module.audit_object

    def reading(s, au):  # type: ignore[no-untyped-def]
        steps.append(f"files {au.key}")
        return read_files(s, au)

    def auditing(store, object_id, **kwargs):  # type: ignore[no-untyped-def]
        steps.append(f"audit {object_id}")
        return audit_object(store, object_id, **kwargs)

    monkeypatch.setattr(node.catalog, "au_files", reading)
    monkeypatch.setattr(audit_module, "audit_object", auditing)
    report = node.audits.audit()
    assert report.intact and len(report.aus) == 3
    expected = []
    for r in sorted(results, key=lambda r: r.au_key):
        expected += [f"files {r.au_key}", f"audit {r.object_id}"]
    assert steps == expected
