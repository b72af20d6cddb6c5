"""Which digests an audit checks: the inventory's own on every audit, the fixity block's second digest on demand
(``--all-digests``), and each AU's event says which were checked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from strongroom.domain.model import EventType
from strongroom.node import Node
from tests_support import cli


def _wrong_second_digest(node: Node, object_id: str) -> str:
    """Give one content file a wrong sha256 in the inventory's fixity block, in both copies of a consistent
    inventory (each sidecar agrees): only a check of the second digest can see it. Returns the content path."""
    obj = node.store.object_path(object_id)
    data = json.loads((obj / "inventory.json").read_text())
    table = data["fixity"]["sha256"]
    digest = sorted(table)[0]
    [content_path] = table.pop(digest)
    table["0" * 64] = [content_path]
    raw = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
    for where in (obj, obj / data["head"]):
        (where / "inventory.json").write_bytes(raw)
        (where / "inventory.json.sha512").write_text(f"{hashlib.sha512(raw).hexdigest()}  inventory.json\n")
    return str(content_path)


def test_the_second_digest_is_checked_on_demand_and_events_say_which(
    node: Node, sample_dir: Path, tmp_path: Path
) -> None:
    bag = next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag"))
    deposited = node.ingest.deposit(bag)
    assert node.audits.audit().intact
    wrong = _wrong_second_digest(node, deposited.object_id)

    [usual] = node.audits.audit().aus
    assert usual.digests == ("sha512",) and usual.counts["ok"] == usual.files > 0  # every file read and sha512-ok
    assert {f.code for f in usual.findings} == {"A006"}  # the catalog's sha256 no longer matches the inventory's

    [deep] = node.audits.audit(all_digests=True).aus
    assert deep.digests == ("sha512", "sha256")
    assert [(f.code, f.path) for f in deep.findings if f.code == "A001"] == [("A001", wrong)]
    assert "sha256 differs" in next(f.message for f in deep.findings if f.code == "A001")

    latest, before = node.catalog.events(object_key=deposited.au_key, type=EventType.FIXITY_CHECK, limit=2)
    assert latest.data["digests"] == ["sha512", "sha256"] and "checked by sha512 and sha256" in latest.detail
    assert before.data["digests"] == ["sha512"] and "checked by sha512)" in before.detail

    sr = cli(tmp_path / "home")
    done = sr("audit", "--all-digests", "--json")
    assert done.returncode == 1, done.stderr
    [au] = json.loads(done.stdout)["aus"]
    assert au["digests"] == ["sha512", "sha256"] and "A001" in {f["code"] for f in au["findings"]}
    plain = json.loads(sr("audit", "--json").stdout)["aus"][0]
    assert plain["digests"] == ["sha512"] and "A001" not in {f["code"] for f in plain["findings"]}
