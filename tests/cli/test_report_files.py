"""Holdings reports written with --output appear whole or not at all: written beside the target as ``NAME.part``,
made durable, then renamed over it. A failure while writing (a full disk, a crash before the data is durable)
leaves the report written before intact and no ``.part`` behind, for ONIX and DOAJ files as for KBART."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.cli import holdings


def _no_space(fd: int) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("as_dir", [False, True])
def test_a_report_failing_to_reach_the_disk_leaves_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_dir: bool
) -> None:
    target = tmp_path / "onix-ph-2026-01-01.xml"
    target.write_bytes(b"<old/>")
    monkeypatch.setattr(os, "fsync", _no_space)
    with pytest.raises(OSError, match="No space"):
        holdings._write(tmp_path if as_dir else target, target.name, b"<new>" + b"x" * 100_000 + b"</new>")
    assert target.read_bytes() == b"<old/>"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_new_report_failing_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "fsync", _no_space)
    with pytest.raises(OSError):
        holdings._write(tmp_path, "doaj-preservation.json", b"[]\n")
    assert list(tmp_path.iterdir()) == []


def test_lines_cut_short_leave_the_old_report(tmp_path: Path) -> None:
    target = tmp_path / "kbart.txt"
    target.write_text("old\n", encoding="utf-8")

    def lines() -> Iterator[str]:
        yield "publication_title\tprint_identifier\n"
        raise RuntimeError("the catalog went away")

    with pytest.raises(RuntimeError):
        holdings._write_lines(target, "ignored", lines())
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kbart.txt"]


def test_lines_failing_to_reach_the_disk_leave_the_old_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "kbart.txt"
    target.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(os, "fsync", _no_space)
    with pytest.raises(OSError):
        holdings._write_lines(target, "ignored", iter(["new\n"]))
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kbart.txt"]


def test_a_report_is_written_and_replaces_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "feed.xml"
    target.write_bytes(b"<old/>")
    holdings._write(target, "ignored", b"<new/>")
    holdings._write(tmp_path, "doaj-preservation.json", b"[]\n")
    assert target.read_bytes() == b"<new/>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doaj-preservation.json", "feed.xml"]
