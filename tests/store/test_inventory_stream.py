"""The OCFL inventory is written to its file as it is encoded (never held whole as a string): the bytes are those
``json.dumps`` gives, the sidecar digest is theirs, and the root inventory is the head version's, byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

from strongroom.store.base import stage_file
from strongroom.store.hashing import JSON_CHUNK
from strongroom.store.ocfl import INVENTORY, OcflStore, _dump_durable, _json_bytes, read_inventory
from strongroom.store.paths import object_hash

OID = "strongroom:au/issn:2536-0035/2024"


def test_streamed_inventory_is_byte_for_byte_json_dumps(tmp_path: Path) -> None:
    # Larger than one write, with non-ASCII paths and every JSON type an inventory holds.
    data = {
        "id": OID,
        "manifest": {f"{n:0128x}": [f"v1/content/payload/Ébène-{n}/article.pdf"] for n in range(3 * JSON_CHUNK // 100)},
        "versions": {"v1": {"created": "2026-01-15T09:00:00Z", "user": {"name": "ñandú"}, "state": {}}},
        "count": 3,
        "empty": [],
        "none": None,
    }
    path = tmp_path / INVENTORY
    digest = _dump_durable(path, data, "sha512")
    written = path.read_bytes()
    assert len(written) > 2 * JSON_CHUNK
    assert written == _json_bytes(data)
    assert digest == hashlib.sha512(written).hexdigest()


def _commit(store: OcflStore, tmp_path: Path, contents: dict[str, bytes]) -> int:
    staged = []
    for logical, data in sorted(contents.items()):
        src = tmp_path / "src" / object_hash(logical + data.decode())[:12]
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(data)
        staged.append(stage_file(logical, src))
    return store.commit_version(OID, staged, message="test", user_name="tester").version


def test_root_inventory_is_the_head_versions_and_its_sidecar_matches(tmp_path: Path) -> None:
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    assert _commit(store, tmp_path, {f"payload/a-{n}.txt": f"{n}".encode() for n in range(50)}) == 1
    assert _commit(store, tmp_path, {f"payload/b-{n}.txt": f"b{n}".encode() for n in range(60)}) == 2
    obj = store.object_path(OID)
    root = (obj / INVENTORY).read_bytes()
    assert root == (obj / "v2" / INVENTORY).read_bytes()
    assert (obj / f"{INVENTORY}.sha512").read_bytes() == f"{hashlib.sha512(root).hexdigest()}  {INVENTORY}\n".encode()
    assert (obj / "v1" / f"{INVENTORY}.sha512").read_text().split()[0] == hashlib.sha512(
        (obj / "v1" / INVENTORY).read_bytes()
    ).hexdigest()
    inventory = read_inventory(obj)  # checks the sidecar
    assert inventory["head"] == "v2" and len(inventory["manifest"]) == 110
    assert root == _json_bytes(inventory)
    assert not list((tmp_path / "staging").glob("commit-*"))  # no work directory left behind
