"""fsync_tree keeps a window of fsyncs in flight, not one future per file of the version at once (a future costs
about 2 KB: a version of tens of thousands of files made them the peak of a deposit's memory)."""

from __future__ import annotations

import gc
import os
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

import strongroom.store.hashing as hashing
import strongroom.walk as walk


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


def test_fsync_tree_syncs_as_it_walks_not_after_listing_every_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The paths are not listed first: files are synced while the walk still has folders to list (a list of every
    path of a version of tens of thousands of files was a deposit's peak memory, and so was os.walk's listing of
    tens of thousands of folders side by side)."""
    root = tmp_path / "v1"
    for n in range(40):
        (root / f"d{n}").mkdir(parents=True)
        for m in range(10):
            (root / f"d{n}" / f"f{m}").write_bytes(b"x")
    events: list[str] = []
    real_scandir, real_sync = os.scandir, hashing.fsync_dir

    def listing(path: str) -> Any:
        events.append("listed")
        return real_scandir(path)

    def syncing(path: Path | str) -> None:
        events.append("synced")
        real_sync(path)

    monkeypatch.setattr(walk.os, "scandir", listing)
    monkeypatch.setattr(hashing, "fsync_dir", syncing)
    hashing.fsync_tree(root, threads=1)  # a window of 64 paths
    assert events.count("synced") == 400 + 41  # every file and folder, once
    forty_first_listed = [n for n, e in enumerate(events) if e == "listed"][40]  # the first walk's last folder
    assert events.index("synced") < forty_first_listed  # syncing began before the walk had listed every folder


def test_fsync_tree_opens_no_link_and_no_pipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link is not opened (that would sync what it points to, outside the tree) nor is a named pipe (opening one
    to read blocks until a writer comes): the folder that holds either is synced, which makes its entry durable."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    root = tmp_path / "v1"
    (root / "content").mkdir(parents=True)
    (root / "content" / "a.pdf").write_bytes(b"%PDF")
    (root / "content" / "to-folder").symlink_to(outside, target_is_directory=True)
    (root / "content" / "to-file").symlink_to(outside / "secret")
    os.mkfifo(root / "content" / "pipe")
    opened: list[str] = []
    real = hashing.fsync_dir

    def recording(path: Path | str) -> None:
        opened.append(os.path.relpath(path, root))
        real(path)

    monkeypatch.setattr(hashing, "fsync_dir", recording)
    hashing.fsync_tree(root, threads=2)  # would hang on the pipe if it were opened
    assert sorted(opened) == [".", "content", os.path.join("content", "a.pdf")]
