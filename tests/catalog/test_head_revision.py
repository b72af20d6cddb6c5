"""Opening a node reads the head revision from the migration files as text, so that Alembic is imported only to
migrate: that reading agrees with Alembic's own, and gives way to it when the files are not one plain chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from strongroom.catalog import db


def test_the_head_read_from_the_files_is_alembics_head() -> None:
    alembic_head = ScriptDirectory.from_config(db._alembic_config()).get_current_head()
    assert db._head_from_files() == alembic_head == db.head_revision()


def _revision(path: Path, rev: str, down: str | None) -> None:
    path.write_text(f'"""r"""\nrevision: str = {rev!r}\ndown_revision: str | None = {down!r}\n', encoding="utf-8")


def test_a_branch_or_an_unusual_file_is_left_to_alembic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "VERSIONS", tmp_path)
    _revision(tmp_path / "a.py", "a", None)
    _revision(tmp_path / "b.py", "b", "a")
    assert db._head_from_files() == "b"  # a chain: its head, as the revision template writes the files
    _revision(tmp_path / "c.py", "c", "a")
    assert db._head_from_files() is None  # two heads
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = ("a", "b")\n', encoding="utf-8")
    assert db._head_from_files() is None  # a merge
