"""Scratch directories: a sweep for the remains of dead work never removes the directory of live work, even one
made a moment ago and not yet locked by its owner (CI once saw a deposit lose its unpacked files that way)."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

from strongroom.services import scratch
from strongroom.services.scratch import remove_stale_work, work_directory


def test_a_sweep_waits_for_a_directory_being_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = threading.Event()
    real_mkdtemp = tempfile.mkdtemp

    def slow_mkdtemp(*args: object, **kwargs: object) -> str:
        path = real_mkdtemp(*args, **kwargs)  # type: ignore[call-overload]
        made.set()
        time.sleep(0.5)  # the owner is slow to lock: the window a sweep once fell into
        return str(path)

    monkeypatch.setattr(scratch.tempfile, "mkdtemp", slow_mkdtemp)
    swept: list[str] = []
    sweeper = threading.Thread(target=lambda: (made.wait(5), swept.extend(remove_stale_work(tmp_path))))
    sweeper.start()
    with work_directory(tmp_path) as workdir:
        sweeper.join()
        assert workdir.is_dir(), "the sweep removed live work"
        (workdir / "article.xml").write_text("<article/>")
        assert (workdir / "article.xml").read_text() == "<article/>"
    assert swept == []
    assert not workdir.exists()


def _die_holding_work(staging: str) -> None:
    with work_directory(Path(staging)) as workdir:
        (workdir / "half.pdf").write_bytes(b"%PDF-")
        os._exit(9)  # killed mid-deposit: the lock goes with the process, the directory stays


def test_the_remains_of_dead_work_are_swept_and_live_work_is_not(tmp_path: Path) -> None:
    dead = multiprocessing.get_context("fork").Process(target=_die_holding_work, args=(str(tmp_path),))
    dead.start()
    dead.join()
    remains = list(tmp_path.glob("deposit-*"))
    assert len(remains) == 1
    with work_directory(tmp_path) as live:
        removed = remove_stale_work(tmp_path)
        assert live.is_dir()
    assert removed == [f"removed the scratch files of an interrupted deposit ({remains[0].name})"]
    assert not remains[0].exists()


def test_sweeping_a_node_without_a_staging_area_finds_nothing(tmp_path: Path) -> None:
    assert remove_stale_work(tmp_path / "never-made") == []
