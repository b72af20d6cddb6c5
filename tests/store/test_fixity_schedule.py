"""How an audit hands its files to the hashing threads (largest first, each thread reading into one buffer of its
own) and that none of it changes what the audit reports: the same checks, in content-path order, on both
backends; and the streaming digests behind it."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any, BinaryIO

from store_support import OID, commit

from strongroom.store.fixity import FileStatus, audit_object, schedule
from strongroom.store.hashing import CHUNK, advise_sequential, hash_stream
from strongroom.store.ocfl import OcflStore

# Sizes chosen so that path order and size order differ.
CONTENTS = {
    "a-small.txt": b"s" * 10,
    "b-large.bin": bytes(range(256)) * 1200,  # 307,200 bytes
    "c-medium.bin": b"m" * 50_000,
    "d-tiny.txt": b"t",
}


class Recording:
    """The store, noting the order content files are opened in."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.opened: list[str] = []

    def open_content(self, object_id: str, content_path: str, **kwargs: Any) -> BinaryIO:
        if "/content/" in content_path:
            self.opened.append(content_path.rsplit("/", 1)[-1])
        return self.store.open_content(object_id, content_path, **kwargs)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_the_largest_files_are_hashed_first(make_store: Any, tmp_path: Path) -> None:
    store = make_store()
    commit(store, tmp_path, CONTENTS)
    recording = Recording(store)
    audit = audit_object(recording, OID, workers=1)  # type: ignore[arg-type]
    assert recording.opened == ["b-large.bin", "c-medium.bin", "a-small.txt", "d-tiny.txt"]
    # ... and reported as before: by content path, every file ok, with its size and digest.
    assert [c.content_path.rsplit("/", 1)[-1] for c in audit.checks] == sorted(CONTENTS)
    assert {c.status for c in audit.checks} == {FileStatus.OK}
    by_name = {c.content_path.rsplit("/", 1)[-1]: c for c in audit.checks}
    for name, data in CONTENTS.items():
        assert by_name[name].size == len(data)
        assert by_name[name].found == {"sha512": hashlib.sha512(data).hexdigest()}


def test_progress_is_told_once_a_file_on_two_threads(make_store: Any, tmp_path: Path) -> None:
    store = make_store()
    commit(store, tmp_path, CONTENTS)
    files: list[int] = []
    audit = audit_object(store, OID, workers=2, on_file=files.append)
    assert sorted(files) == sorted(len(d) for d in CONTENTS.values())  # one progress call a file, with its size
    assert [c.status for c in audit.checks] == [FileStatus.OK] * 4


def test_a_damaged_large_file_and_a_missing_small_one_are_both_found(tmp_path: Path) -> None:
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    commit(store, tmp_path, CONTENTS)
    obj = store.object_path(OID)
    large = obj / "v1/content/b-large.bin"
    large.write_bytes(large.read_bytes()[:-1] + b"X")
    (obj / "v1/content/d-tiny.txt").unlink()
    audit = audit_object(store, OID, workers=2)
    assert [(c.content_path.rsplit("/", 1)[-1], c.status, c.code) for c in audit.checks] == [
        ("a-small.txt", FileStatus.OK, ""),
        ("b-large.bin", FileStatus.DAMAGED, "A001"),
        ("c-medium.bin", FileStatus.OK, ""),
        ("d-tiny.txt", FileStatus.MISSING, "A002"),
    ]


def test_schedule_is_by_size_then_path_and_puts_absent_files_last() -> None:
    expected = {"v1/content/x": {"sha512": "1"}, "v1/content/a": {"sha512": "2"}, "v1/content/gone": {"sha512": "3"}}
    order = [cp for cp, _ in schedule(expected, {"v1/content/x": 5, "v1/content/a": 5, "v1/content/b": 9})]
    assert order == ["v1/content/a", "v1/content/x", "v1/content/gone"]


class ReadOnly(io.RawIOBase):
    """A stream with read() and no readinto(), as some readers are."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._data.read(n)

    def __getattribute__(self, name: str) -> Any:
        if name == "readinto":
            raise AttributeError(name)
        return super().__getattribute__(name)


def test_hash_stream_reuses_the_buffer_it_is_given() -> None:
    one, two = b"\x01" * (2 * CHUNK + 123), bytes(range(256)) * 4000
    buffer = bytearray(CHUNK)
    seen: list[int] = []
    for data in (one, two):
        got = hash_stream(io.BytesIO(data), ("sha512", "sha256"), seen.append, buffer=buffer)
        assert got.size == len(data)
        assert got.digests == {"sha512": hashlib.sha512(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
    assert sum(seen) == len(one) + len(two)
    assert buffer[: len(two)] == two  # the last file's bytes went through the caller's buffer
    plain = hash_stream(ReadOnly(one), ("sha256",))
    assert plain.digests == {"sha256": hashlib.sha256(one).hexdigest()} and plain.size == len(one)


def test_advise_sequential_ignores_streams_that_are_no_local_file(tmp_path: Path) -> None:
    advise_sequential(io.BytesIO(b"abc"))  # no file descriptor: nothing to advise, no error
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    with path.open("rb") as fh:
        advise_sequential(fh)
        assert fh.read() == b"abc"
