"""`board keygen` as a board member uses it: the public key can be shown again, a key is never overwritten by
accident, and replacing one is explicit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from strongroom.errors import ExitCode


def board(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "strongroom.cli.main", "board", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)


def test_a_second_keygen_keeps_the_key_and_shows_its_public_key(tmp_path: Path) -> None:
    key = tmp_path / "ama.key"
    first = board("keygen", "--out", str(key))
    assert first.returncode == 0, first.stderr
    public = first.stdout.strip()
    assert public.startswith("ed25519:")
    pem = key.read_bytes()

    again = board("keygen", "--out", str(key))
    assert again.returncode == ExitCode.REFUSED, again.stderr
    assert public in again.stderr and "--show" in again.stderr and "--replace" in again.stderr
    assert key.read_bytes() == pem  # nothing was changed

    shown = board("keygen", "--out", str(key), "--show")
    assert shown.returncode == 0 and shown.stdout.strip() == public


def test_replacing_a_key_is_explicit(tmp_path: Path) -> None:
    key = tmp_path / "ama.key"
    old = board("keygen", "--out", str(key)).stdout.strip()
    replaced = board("keygen", "--out", str(key), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    new = replaced.stdout.strip()
    assert new.startswith("ed25519:") and new != old
    assert board("keygen", "--out", str(key), "--show").stdout.strip() == new
    assert key.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["ama.key"]


def test_showing_a_key_that_is_not_there_says_how_to_make_one(tmp_path: Path) -> None:
    missing = board("keygen", "--out", str(tmp_path / "nobody.key"), "--show")
    assert missing.returncode == ExitCode.NOT_FOUND and "board keygen --out" in missing.stderr
    assert not (tmp_path / "nobody.key").exists()
    both = board("keygen", "--out", str(tmp_path / "x.key"), "--show", "--replace")
    assert both.returncode == ExitCode.USAGE
