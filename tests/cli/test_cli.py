"""The `strongroom` command as an operator uses it: real processes, real exit codes, JSON for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).parent / "strongroom")


def sr(*args: str, home: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [EXE, *args] + (["--home", str(home)] if home else [])
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=full_env)


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Path:
    proc = sr("init", "--database-url", db_url, home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert "Created node" in proc.stdout
    return tmp_path / "home"


def _pkg(sample_dir: Path, suffix: str) -> Path:
    return sorted(p for p in sample_dir.iterdir() if p.name.endswith(suffix))[0]


def test_operator_session(home: Path, sample_dir: Path, tmp_path: Path) -> None:
    proc = sr("deposit", str(_pkg(sample_dir, "-bag.zip")), home=home)
    assert proc.returncode == 0, proc.stderr
    assert "Preserved" in proc.stdout and "v1" in proc.stdout
    again = sr("deposit", str(_pkg(sample_dir, "-bag.zip")), home=home)
    assert again.returncode == 0 and "Unchanged" in again.stdout

    aus = json.loads(sr("aus", "--json", home=home).stdout)["aus"]
    assert len(aus) == 1 and aus[0]["version"] == 1 and aus[0]["items"] > 0
    items = json.loads(sr("items", "--json", home=home).stdout)["items"]
    doi = items[0]["doi"]
    shown = json.loads(sr("show", doi, "--json", home=home).stdout)
    assert shown["doi"] == doi and shown["files"]
    word = max(shown["title"].split(), key=len)
    found = json.loads(sr("items", word, "--json", home=home).stdout)["items"]
    assert doi in [i["doi"] for i in found]
    for listing in ("publishers", "titles"):
        data = json.loads(sr(listing, "--json", home=home).stdout)[listing]
        assert data, listing
    assert json.loads(sr("events", "--json", home=home).stdout)["events"]
    table = sr("titles", home=home)
    assert table.returncode == 0 and aus[0]["title"][:20] in table.stdout

    audit = sr("audit", "--json", home=home)
    assert audit.returncode == 0, audit.stdout
    assert json.loads(audit.stdout)["intact"] is True

    export = sr("export", aus[0]["key"], str(tmp_path / "bag"), home=home)
    assert export.returncode == 0, export.stderr
    assert (tmp_path / "bag" / "bagit.txt").exists()


def test_audit_exit_status_reports_damage(home: Path, sample_dir: Path) -> None:
    assert sr("deposit", str(_pkg(sample_dir, "-jats")), home=home).returncode == 0
    pdf = sorted((home / "ocfl").rglob("*.pdf"))[0]
    data = bytearray(pdf.read_bytes())
    data[-10] ^= 0x01
    pdf.write_bytes(bytes(data))
    proc = sr("audit", home=home)
    assert proc.returncode == 1
    assert "A001" in proc.stdout and pdf.name in proc.stdout
    assert "Problems found" in proc.stdout


def test_errors_name_the_problem_and_the_fix(home: Path, tmp_path: Path) -> None:
    missing_home = sr("aus", home=tmp_path / "nowhere")
    assert missing_home.returncode == 7  # the home cannot be used
    assert "strongroom init" in missing_home.stderr
    no_au = sr("audit", "issn:0000-0000/2000", home=home)
    assert no_au.returncode == 4 and "strongroom aus" in no_au.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "article.xml").write_text('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><article>&x;</article>')
    rejected = sr("deposit", str(bad), home=home)
    assert rejected.returncode == 3
    assert "P031" in rejected.stderr and "article.xml" in rejected.stderr and "nothing was stored" in rejected.stderr
    assert "Traceback" not in rejected.stderr


def test_home_from_environment(tmp_path: Path, db_url: str) -> None:
    env = {"STRONGROOM_HOME": str(tmp_path / "envhome")}
    assert sr("init", "--database-url", db_url, env=env).returncode == 0
    proc = sr("aus", "--json", env=env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["aus"] == []
    again = sr("init", "--database-url", db_url, env=env)
    assert again.returncode == 7 and "already holds a Strongroom node" in again.stderr
