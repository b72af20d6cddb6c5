"""fsync_tree keeps a window of fsyncs in flight, not one future per file of the version at once (a future costs
about 2 KB: a version of tens of thousands of files made them the peak of a deposit's memory)."""

from __future__ import annotations

import gc
from concurrent.futures import Future
from pathlib import Path

import pytest

import strongroom.store.hashing as hashing


def test_fsync_tree_holds_a_window_of_futures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "v1"
    for n in range(300):
        (root / f"d{n % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"d{n % 3}" / f"f{n}").write_bytes(b"x")
    real = hashing.fsync_dir
    synced: list[str] = []
    pending: list[int] = []

    def counting(path: Path | str) -> None:
        if len(synced) % 50 == 0:
            pending.append(sum(isinstance(o, Future) for o in gc.get_objects()))
        synced.append(str(path))
        real(path)

    monkeypatch.setattr(hashing, "fsync_dir", counting)
    hashing.fsync_tree(root, threads=1)  # a window of 64
    assert len(synced) == 300 + 4  # every file, then every directory
    assert pending and max(pending) <= 64 + 1
