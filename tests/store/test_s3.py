"""The S3 backend's own promises, over real HTTP to moto's S3 server: the bucket holds the same OCFL storage root a
disk would (key for file, byte for byte, valid by ocfl-py once copied down), nothing is written outside the prefix,
the root inventory is the commit point (a write that dies before it leaves the old version and orphans that
recovery deletes; one that dies after it is finished), large files go up in parts, and the settings that choose
the backend are checked. Then a whole node on S3, on both catalog databases: deposits, a second version, export,
and an audit that finds a damaged and a missing file."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from store_support import OID, S3Server, commit, read, staged

from strongroom.errors import ConfigError, StorageError
from strongroom.node import Node
from strongroom.settings import S3Settings, load_settings
from strongroom.store.fixity import FileStatus, audit_object
from strongroom.store.ocfl import OcflStore
from strongroom.store.s3 import S3Store
from strongroom.store.s3io import MB

VALIDATOR = Path(sys.executable).parent / "ocfl-validate.py"
CREATED = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)


def keys(store: S3Store, prefix: str = "") -> dict[str, bytes]:
    out = {}
    for page in store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            out[item["Key"]] = store.client.get_object(Bucket=store.bucket, Key=item["Key"])["Body"].read()
    return out


def s3_store(s3_server: S3Server, tmp_path: Path, prefix: str = "nodes/one") -> S3Store:
    return S3Store.create(s3_server.client(), s3_server.bucket(), prefix, tmp_path / "staging")


def test_the_bucket_holds_the_storage_root_a_disk_would(s3_server: S3Server, tmp_path: Path) -> None:
    s3 = s3_store(s3_server, tmp_path)
    disk = OcflStore.create(tmp_path / "disk", tmp_path / "disk-staging")
    versions = [{"a.pdf": b"%PDF" * 300, "b/c.xml": b"<c/>"}, {"a.pdf": b"%PDF" * 300, "b/c.xml": b"<c>2</c>"}]
    for store in (s3, disk):
        for contents in versions:
            store.commit_version(OID, staged(tmp_path, contents), message="m", user_name="t", created=CREATED)
    stored = {k.removeprefix("nodes/one/"): v for k, v in keys(s3).items()}
    on_disk = {p.relative_to(disk.root).as_posix(): p.read_bytes() for p in disk.root.rglob("*") if p.is_file()}
    assert stored == on_disk  # the same paths (the same storage layout) and the same bytes
    copy = tmp_path / "copied-down"
    for rel, data in stored.items():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_bytes(data)
    proc = subprocess.run(
        [str(VALIDATOR), str(copy / s3.object_key(OID).removeprefix("nodes/one/"))],
        text=True,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0 and "is VALID" in proc.stdout, proc.stdout + proc.stderr


def test_nothing_is_written_outside_the_prefix(s3_server: S3Server, tmp_path: Path) -> None:
    client, bucket = s3_server.client(), s3_server.bucket()
    neighbours = {"nodes/one-more/x": b"a neighbour", "nodes/on": b"a prefix of ours", "top": b"t"}
    for key, data in neighbours.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    store = S3Store.create(client, bucket, "nodes/one", tmp_path / "staging")
    commit(store, tmp_path, {"a": b"1"})
    commit(store, tmp_path, {"a": b"2", "b": b"3"})
    store.replace_content(OID, "v1/content/a", [b"1"])
    other = "strongroom:au/other"
    commit(store, tmp_path, {"o": b"o"}, other)
    store.remove_object(other)
    store.recover()
    everything = keys(store)
    assert {k: v for k, v in everything.items() if not k.startswith("nodes/one/")} == neighbours
    assert list(store.iter_object_ids()) == [OID]
    with pytest.raises(StorageError, match="is not empty"):
        S3Store.create(client, bucket, "nodes/one", tmp_path / "staging")


class Death(BaseException):
    """The process dying at that moment: no clean-up code runs."""


def _failing_put(store: S3Store, key_suffix: str, error: BaseException) -> None:
    real = store._put

    def put(key: str, data: bytes) -> None:
        if key.endswith(key_suffix):
            raise error
        real(key, data)

    store._put = put  # type: ignore[method-assign]


def test_a_crash_before_the_root_inventory_leaves_the_old_version_and_orphans_recovery_deletes(
    s3_server: S3Server, tmp_path: Path
) -> None:
    store = s3_store(s3_server, tmp_path)
    commit(store, tmp_path, {"a": b"1", "b": b"2"})
    obj = store.object_key(OID)
    _failing_put(store, f"{obj}/inventory.json", Death())
    with pytest.raises(Death):
        commit(store, tmp_path, {"a": b"1", "b": b"22", "c": b"3"})
    fresh = S3Store.open(store.client, store.bucket, store.prefix, store.staging)
    assert fresh.head_version(OID) == 1 and read(fresh, "b") == b"2"  # the old version, whole
    orphans = sorted(rel for rel, _ in fresh.stored(OID) if rel.startswith("v2/"))
    assert orphans == ["v2/content/b", "v2/content/c", "v2/inventory.json", "v2/inventory.json.sha512"]
    actions = fresh.recover()
    assert any("removed 4 files of interrupted v2" in a for a in actions), actions
    assert fresh.recover() == []
    assert not any(rel.startswith("v2/") for rel, _ in fresh.stored(OID))
    assert {c.status for c in audit_object(fresh, OID).checks} == {FileStatus.OK}
    assert commit(fresh, tmp_path, {"a": b"1", "b": b"22", "c": b"3"}) == 2  # and the next write goes through


def test_a_failed_root_inventory_write_is_undone_at_once(s3_server: S3Server, tmp_path: Path) -> None:
    store = s3_store(s3_server, tmp_path)
    commit(store, tmp_path, {"a": b"1"})
    _failing_put(store, f"{store.object_key(OID)}/inventory.json", StorageError("the server went away"))
    with pytest.raises(StorageError, match="went away"):
        commit(store, tmp_path, {"a": b"2"})
    assert store.head_version(OID) == 1 and not any(rel.startswith("v2/") for rel, _ in store.stored(OID))
    assert store.recover() == []  # nothing left for the next start


def test_a_crash_between_the_root_inventory_and_its_sidecar_is_finished(s3_server: S3Server, tmp_path: Path) -> None:
    store = s3_store(s3_server, tmp_path)
    commit(store, tmp_path, {"a": b"1"})
    _failing_put(store, f"{store.object_key(OID)}/inventory.json.sha512", Death())
    with pytest.raises(Death):
        commit(store, tmp_path, {"a": b"2"})
    fresh = S3Store.open(store.client, store.bucket, store.prefix, store.staging)
    with pytest.raises(StorageError, match="does not match its sidecar"):
        fresh.inventory(OID)
    assert any("rewrote the root inventory sidecar" in a for a in fresh.recover())
    assert fresh.head_version(OID) == 2 and read(fresh, "a") == b"2"


def test_a_large_file_goes_up_in_parts_and_comes_back_whole(s3_server: S3Server, tmp_path: Path) -> None:
    store = s3_store(s3_server, tmp_path)
    store.transfer = type(store.transfer)(multipart_threshold=5 * MB, multipart_chunksize=5 * MB, max_concurrency=2)
    data = hashlib.sha512(b"seed").digest() * (11 * MB // 64) + b"tail"
    progress: list[int] = []
    result = store.commit_version(
        OID, staged(tmp_path, {"big.warc": data}), message="m", user_name="t", on_bytes=progress.append
    )
    assert result.new_bytes == len(data) == sum(progress)
    head = store.client.head_object(Bucket=store.bucket, Key=f"{store.object_key(OID)}/v1/content/big.warc")
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    with store.open_file(OID, "big.warc", start=5 * MB - 2, length=4) as fh:
        assert fh.read() == data[5 * MB - 2 : 5 * MB + 2]
    assert {c.status for c in audit_object(store, OID).checks} == {FileStatus.OK}


def test_opening_names_what_is_wrong(s3_server: S3Server, tmp_path: Path) -> None:
    client = s3_server.client()
    with pytest.raises(StorageError, match="bucket does not exist"):
        S3Store.open(client, "no-such-bucket", "ocfl", tmp_path / "staging")
    with pytest.raises(StorageError, match=r"not an OCFL 1\.1 storage root"):
        S3Store.open(client, s3_server.bucket(), "ocfl", tmp_path / "staging")


# ---- settings -------------------------------------------------------------------------------------------------


def _home_with(tmp_path: Path, storage: str) -> Path:
    home = tmp_path / "home"
    home.mkdir(parents=True)
    (home / "strongroom.toml").write_text(f'[node]\nid = "node-1"\n\n[storage]\n{storage}\n')
    return home


@pytest.mark.parametrize(
    ("storage", "named"),
    [
        ('backend = "ocfl-s3"', "storage.s3_bucket is missing"),
        ('backend = "ocfl-s3"\ns3_bucket = "Bad_Bucket"', "storage.s3_bucket 'Bad_Bucket'"),
        ('backend = "ocfl-s3"\ns3_bucket = "b-1"\ns3_endpoint = "minio:9000"', "storage.s3_endpoint"),
        ('backend = "ocfl-s3"\ns3_bucket = "b-1"\ns3_prefix = "/abs/"', "storage.s3_prefix"),
        ('backend = "ocfl-s3"\ns3_bucket = "b-1"\ns3_prefix = "a/../b"', "storage.s3_prefix"),
        ('backend = "ocfl-s3"\ns3_bucket = "b-1"\ns3_region = "EU West"', "storage.s3_region"),
        ('backend = "ocfl-s3"\ns3_bucket = 7', "storage.s3_bucket must be a str"),
    ],
)
def test_s3_settings_are_checked_and_named(tmp_path: Path, storage: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.").replace("(", r"\(")):
        load_settings(_home_with(tmp_path, storage))


def test_s3_settings_load_and_local_nodes_do_not_need_them(tmp_path: Path) -> None:
    s = load_settings(
        _home_with(tmp_path, 'backend = "ocfl-s3"\ns3_bucket = "b-1"\ns3_endpoint = "https://minio.example.org:9000"')
    )
    assert s.s3 == S3Settings(endpoint="https://minio.example.org:9000", bucket="b-1", prefix="ocfl", region="")
    assert s.to_toml()["storage"]["s3_bucket"] == "b-1"
    local = load_settings(_home_with(tmp_path / "l", 's3_bucket = "Ignored_Here"'))
    assert "s3_bucket" not in local.to_toml()["storage"]


# ---- a node on S3 ---------------------------------------------------------------------------------------------


@pytest.fixture
def s3_node(tmp_path: Path, db_url: str, clock: Any, s3_server: S3Server) -> Any:
    s3 = S3Settings(
        endpoint=s3_server.endpoint, bucket=s3_server.bucket(), prefix="strongroom/node", region="us-east-1"
    )
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock, storage_backend="ocfl-s3", s3=s3)
    yield node
    node.close()


def test_a_node_on_s3_deposits_exports_and_audits(s3_node: Node, sample_dir: Path, tmp_path: Path) -> None:
    import shutil

    store = s3_node.store
    assert isinstance(store, S3Store)
    assert "strongroom/node/0=ocfl_1.1" in keys(store, "strongroom/node/0=")  # init made the root in the bucket
    assert not (s3_node.settings.home / "ocfl").exists()
    work = tmp_path / "pkg"
    shutil.copytree(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-jats"))[0], work)
    first = s3_node.ingest.deposit(work)
    pdfs = sorted(work.glob("*.pdf"))
    shutil.copyfile(pdfs[1], pdfs[0])  # a corrected PDF: a second version
    second = s3_node.ingest.deposit(work)
    assert (first.version, second.version) == (1, 2) and second.modified == (f"payload/{pdfs[0].name}",)
    assert s3_node.audits.audit().intact
    [object_id] = list(store.iter_object_ids())
    with Node.open(s3_node.settings.home) as reopened:  # the settings name the bucket; nothing is on the disk
        assert isinstance(reopened.store, S3Store) and reopened.store.head_version(object_id) == 2

    exported = s3_node.exports.export(second.au_key, tmp_path / "export")
    payload = {p.name: p.read_bytes() for p in exported.dest.rglob("*.pdf")}
    assert payload[pdfs[0].name] == pdfs[0].read_bytes()

    manifest = store.inventory(object_id)["manifest"]
    content = sorted(cp for cps in manifest.values() for cp in cps if cp.endswith(".pdf"))
    obj = store.object_key(object_id)
    data = bytearray(store.open_content(object_id, content[0]).read())
    data[100] ^= 0x01
    store.client.put_object(Bucket=store.bucket, Key=f"{obj}/{content[0]}", Body=bytes(data))  # a bit rots
    store.client.delete_object(Bucket=store.bucket, Key=f"{obj}/{content[1]}")  # a file is lost
    report = s3_node.audits.audit()
    assert not report.intact
    [au] = report.aus
    assert (au.counts["damaged"], au.counts["missing"]) == (1, 1)
    assert au.counts["ok"] == au.files - 2
