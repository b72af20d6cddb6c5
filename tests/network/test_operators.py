"""The network's operators at work, through the real command: each node prints its own member entry, the
administrators print their public key again, a first join without the key says what to pass, a node listed at an
https URL without a certificate says how to fix it, and a wiped node comes back with its old identity."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from strongroom.errors import ExitCode
from strongroom.network.config import Member, NetworkConfig

EXE = str(Path(sys.executable).parent / "strongroom")


def sr(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [EXE, *args] + (["--home", str(home)] if home else [])
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=120)


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Path:
    proc = sr(
        "init", "--database-url", db_url, "--institution", "Library of Accra", "--country", "GH", home=tmp_path / "n"
    )
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "n"


def node_id(home: Path) -> str:
    return next(
        line.split('"')[1] for line in (home / "strongroom.toml").read_text().splitlines() if line.startswith("id")
    )


def signed_config(tmp_path: Path, *entries: dict[str, str]) -> tuple[Path, str]:
    """The administrators' side: a key, a configuration listing ``entries``, signed; the file and the public key."""
    key = tmp_path / "admin.key"
    if not key.exists():
        assert sr("network", "keygen", "--out", str(key)).returncode == 0
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"name": "net", "serial": 1, "members": list(entries)}))
    signed = tmp_path / "signed.json"
    proc = sr("network", "sign", str(config), "--key", str(key), "--out", str(signed))
    assert proc.returncode == 0, proc.stderr
    return signed, sr("network", "admin-key", "--key", str(key)).stdout.strip()


def test_the_admin_public_key_is_printed_again(tmp_path: Path) -> None:
    key = tmp_path / "admin.key"
    made = sr("network", "keygen", "--out", str(key))
    assert made.returncode == 0 and made.stdout.strip().startswith("ed25519:")
    shown = sr("network", "admin-key", "--key", str(key))
    assert shown.returncode == 0 and shown.stdout.strip() == made.stdout.strip()
    again = sr("network", "keygen", "--out", str(key))
    assert again.returncode == ExitCode.CONFIG and "network admin-key --key" in again.stderr


def test_a_node_prints_its_member_entry(home: Path, tmp_path: Path) -> None:
    proc = sr("network", "member", "--url", "https://preserve.ug.edu.gh:8470/", home=home)
    assert proc.returncode == 0, proc.stderr
    entry = json.loads(proc.stdout)
    assert entry["id"] == node_id(home) and entry["url"] == "https://preserve.ug.edu.gh:8470"
    assert entry["public_key"] == (home / "keys" / "node.pub").read_text().strip()
    assert (entry["institution"], entry["country"]) == ("Library of Accra", "GH")
    assert entry["certificate"]  # https: the node's certificate, derived from its key
    assert json.loads(sr("network", "member", "--url", "https://preserve.ug.edu.gh:8470", home=home).stdout) == entry
    NetworkConfig.from_dict({"name": "n", "serial": 1, "members": [entry]})  # the administrators can use it as is

    plain = json.loads(sr("network", "member", "--url", "http://10.0.0.5:8470", home=home).stdout)
    assert "certificate" not in plain
    bad = sr("network", "member", "--url", "preserve.ug.edu.gh", home=home)
    assert bad.returncode == ExitCode.CONFIG and "not a node URL" in bad.stderr

    other = tmp_path / "other"
    assert sr("init", home=other).returncode == 0
    nameless = sr("network", "member", "--url", "https://x.example", home=other)
    assert nameless.returncode == ExitCode.CONFIG and "--institution and --country" in nameless.stderr


def test_a_certificate_of_another_key_is_refused_in_a_configuration(home: Path, tmp_path: Path) -> None:
    entry = json.loads(sr("network", "member", "--url", "https://a.example", home=home).stdout)
    other = tmp_path / "other"
    assert sr("init", "--institution", "B", "--country", "KE", home=other).returncode == 0
    theirs = json.loads(sr("network", "member", "--url", "https://b.example", home=other).stdout)
    assert sr("network", "keygen", "--out", str(tmp_path / "admin.key")).returncode == 0
    config = tmp_path / "swapped.json"
    config.write_text(
        json.dumps({"name": "n", "serial": 1, "members": [entry | {"certificate": theirs["certificate"]}]})
    )
    proc = sr("network", "sign", str(config), "--key", str(tmp_path / "admin.key"), "--out", str(tmp_path / "s"))
    assert proc.returncode == ExitCode.CONFIG and "not of the member's public key" in proc.stderr


def test_a_first_join_without_the_admin_key_says_what_to_pass(home: Path, tmp_path: Path) -> None:
    entry = json.loads(sr("network", "member", "--url", "http://127.0.0.1:1", home=home).stdout)
    signed, admin = signed_config(tmp_path, entry)
    proc = sr("network", "join", str(signed), home=home)
    assert proc.returncode == ExitCode.CONFIG
    assert "--admin-key" in proc.stderr and "network admin-key" in proc.stderr
    assert "not an Ed25519 public key" not in proc.stderr
    assert sr("network", "join", str(signed), "--admin-key", admin, home=home).returncode == 0


def test_serving_an_https_url_without_a_certificate_says_how_to_fix_it(home: Path, tmp_path: Path) -> None:
    entry = json.loads(sr("network", "member", "--url", "https://127.0.0.1:1", home=home).stdout)
    del entry["certificate"]  # written by hand, as before
    signed, admin = signed_config(tmp_path, entry)
    assert sr("network", "join", str(signed), "--admin-key", admin, home=home).returncode == 0
    proc = sr("serve", "--port", "1", home=home)
    assert proc.returncode == ExitCode.CONFIG
    assert "no TLS certificate" in proc.stderr and "network member --url" in proc.stderr
    assert "--behind-proxy" in proc.stderr


def test_a_wiped_node_is_restored_with_its_old_identity(home: Path, tmp_path: Path, db_url: str) -> None:
    old_id = node_id(home)
    entry = json.loads(sr("network", "member", "--url", "https://127.0.0.1:1", home=home).stdout)
    signed, admin = signed_config(tmp_path, entry)
    backup = tmp_path / "backup"
    backup.mkdir()
    shutil.copy(home / "keys" / "node.key", backup / "node.key")  # the documented backup: the key and the id
    shutil.rmtree(home)  # the disk is lost

    restored = tmp_path / "restored"
    proc = sr(
        "init", "--restore-key", str(backup / "node.key"), "--node-id", old_id, "--database-url", db_url,
        "--institution", "Library of Accra", "--country", "GH", home=restored,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert node_id(restored) == old_id and "Restored node" in proc.stdout
    assert (restored / "keys" / "node.key").stat().st_mode & 0o777 == 0o600
    again = json.loads(sr("network", "member", "--url", "https://127.0.0.1:1", home=restored).stdout)
    assert again == entry  # the same id, key and certificate: the configuration need not change
    assert sr("network", "join", str(signed), "--admin-key", admin, home=restored).returncode == 0

    half = sr("init", "--restore-key", str(backup / "node.key"), home=tmp_path / "half")
    assert half.returncode == ExitCode.CONFIG and "--node-id" in half.stderr


def test_a_node_with_another_key_than_its_entry_refuses_to_serve(home: Path, tmp_path: Path) -> None:
    entry = json.loads(sr("network", "member", "--url", "http://127.0.0.1:1", home=home).stdout)
    other = tmp_path / "other"
    assert sr("init", home=other).returncode == 0
    signed, admin = signed_config(tmp_path, entry | {"public_key": (other / "keys" / "node.pub").read_text().strip()})
    assert sr("network", "join", str(signed), "--admin-key", admin, home=home).returncode == 0
    proc = sr("serve", "--port", "1", home=home)
    assert proc.returncode == ExitCode.CONFIG and "another public key" in proc.stderr


def test_member_entries_are_plain_data(home: Path) -> None:
    entry = json.loads(sr("network", "member", "--url", "https://a.example", home=home).stdout)
    assert Member(**entry).to_dict() == entry
