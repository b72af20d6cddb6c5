"""A release lives in the preserved objects, not only in the catalog: it survives the loss of the catalog, carries
the signed ballots anyone can check again, and stays when the publisher's corrected package is deposited."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.formats.release_record import RELEASE_RECORD
from strongroom.ingest.deposit import DepositOptions
from strongroom.keys import public_key_from_text, public_key_text
from strongroom.node import Node
from strongroom.services.triggers import ballot_bytes, sign_ballot


def release_first_title(node: Node, sample_dir: Path) -> tuple[str, list[str], str]:
    package = next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-2023-bag"))
    node.ingest.deposit(package, DepositOptions())
    workflow = node.triggers
    keys = {name: Ed25519PrivateKey.generate() for name in ("ama", "bakari", "chiara")}
    for name, key in keys.items():
        workflow.add_member(name, public_key_text(key.public_key()))
    title = node.catalog.titles()[0][0].key
    t = workflow.propose(ScopeKind.TITLE, [title], TriggerReason.PUBLISHER_CEASED, ["site gone"], "operator")
    for name, key in keys.items():
        stamp = "2026-01-15T10:00:00Z"
        workflow.vote(t.key, name, VoteChoice.FOR, stamp, sign_ballot(key, t.key, name, VoteChoice.FOR, stamp))
    workflow.release(t.key, "operator", "https://creativecommons.org/licenses/by-sa/4.0/")
    return t.key, list(t.au_keys), package.name


def test_the_release_record_is_in_the_object_with_checkable_ballots(node: Node, sample_dir: Path) -> None:
    trigger, au_keys, _ = release_first_title(node, sample_dir)
    au = node.catalog.aus(au_keys)[0][0]
    assert au.head_version == 2  # the deposit, then the release
    with node.store.open_file(au.object_id, RELEASE_RECORD) as fh:
        record = json.load(fh)
    assert record["trigger"] == trigger and record["licence"].endswith("/by-sa/4.0/")
    assert record["evidence"] == ["site gone"] and len(record["ballots"]) == 3
    for ballot in record["ballots"]:  # anyone holding the object can check every vote again
        public_key_from_text(ballot["public_key"]).verify(
            base64.b64decode(ballot["signature"]),
            ballot_bytes(trigger, ballot["member"], VoteChoice(ballot["choice"]), ballot["signed_at"]),
        )
    validated = subprocess.run(
        [str(Path(sys.executable).parent / "ocfl-validate.py"), str(node.store.root)], capture_output=True, text=True
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    versions = node.store.versions(au.object_id)
    assert versions[-1]["message"].startswith(f"release by trigger {trigger}")


def test_a_lost_catalog_is_rebuilt_with_its_releases(
    tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    make = db_factory
    node = Node.create(tmp_path / "home", database_url=make())
    _, au_keys, _ = release_first_title(node, sample_dir)
    before = {au.key: (au.released_at, au.release_licence, au.release_trigger) for au, *_ in node.catalog.aus(au_keys)}
    node.close()
    # the catalog is lost: point the node at a new, empty database and rebuild it from the storage root
    settings = (tmp_path / "home" / "strongroom.toml").read_text()
    old_url = next(line for line in settings.splitlines() if line.startswith("database_url"))
    (tmp_path / "home" / "strongroom.toml").write_text(settings.replace(old_url, f'database_url = "{make()}"'))
    with Node.open(tmp_path / "home") as rebuilt:
        assert rebuilt.indexer.reindex().done
        after = {
            au.key: (au.released_at, au.release_licence, au.release_trigger) for au, *_ in rebuilt.catalog.aus(au_keys)
        }
        assert after == before and all(v[0] is not None for v in after.values())

        assert rebuilt.released().count() == sum(n for _, n, *_ in rebuilt.catalog.aus(au_keys))


def test_a_corrected_deposit_keeps_the_release(node: Node, sample_dir: Path, tmp_path: Path) -> None:
    import shutil

    import bagit  # type: ignore[import-untyped]

    trigger, au_keys, name = release_first_title(node, sample_dir)
    corrected = tmp_path / name
    shutil.copytree(sample_dir / name, corrected)
    extra = corrected / "data" / "erratum.txt"
    extra.write_text("A correction from the publisher, received after the release.\n")
    bag = bagit.Bag(str(corrected))
    bag.save(manifests=True)
    node.ingest.deposit(corrected, DepositOptions())
    au = node.catalog.aus(au_keys)[0][0]
    assert au.head_version == 3 and au.release_trigger == trigger and au.released_at is not None
    assert RELEASE_RECORD in node.store.state(au.object_id)
