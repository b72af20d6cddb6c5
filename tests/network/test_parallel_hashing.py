"""Hashing on more than one thread gives exactly what hashing on one gives: a poll's block hashes (each block read
once, by one thread) and the digests of a file received for a rebuild or repair (hashed on a second thread while the
next chunks arrive)."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.domain.poll import VoteBinding
from strongroom.services.votes import PARALLEL_BLOCK, copy_hashes
from strongroom.store.hashing import HASH_BATCH, write_chunks
from strongroom.store.ocfl import OcflStore, stage_file

OID = "strongroom:au/issn:2536-0035/2024"
BLOCK = PARALLEL_BLOCK  # the smallest block hashed on threads


@pytest.fixture
def store(tmp_path: Path) -> OcflStore:
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    rng = random.Random(5)
    contents = {
        "empty.txt": b"",
        "small.xml": b"<a/>",
        "exact.bin": rng.randbytes(2 * BLOCK),  # a multiple of the block: no empty block after it
        "odd.bin": rng.randbytes(5 * BLOCK // 2),
        "lost.bin": rng.randbytes(BLOCK + 7),
    }
    staged = []
    for i, (logical, data) in enumerate(sorted(contents.items())):
        src = tmp_path / "src" / str(i)
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(data)
        staged.append(stage_file(logical, src))
    store.commit_version(OID, staged, message="test", user_name="tester")
    return store


def prefixes(n: int) -> dict[str, bytes]:
    return {
        f"v{i}": VoteBinding("poll", "poller", f"v{i}", OID, 1).prefix(b"p" * 16, bytes([i]) * 16) for i in range(n)
    }


@pytest.mark.parametrize("voters", [1, 3])
def test_block_hashes_on_threads_equal_those_on_one_thread_and_the_definition(store: OcflStore, voters: int) -> None:
    p = prefixes(voters)
    one = copy_hashes(store, OID, 1, p, BLOCK, workers=1)
    many = copy_hashes(store, OID, 1, p, BLOCK, workers=3)
    assert many == one
    for voter, prefix in p.items():  # and both are what the vote format defines
        for logical in store.state(OID, 1):
            with store.open_file(OID, logical, 1) as fh:
                data = fh.read()
            blocks = [data[i : i + BLOCK] for i in range(0, len(data), BLOCK)] or [b""]
            for i, block in enumerate(blocks):
                assert one[voter][(logical, i)] == hashlib.sha256(prefix + block).hexdigest()
            assert (logical, len(blocks)) not in one[voter]


def test_an_unreadable_file_votes_absent_on_threads_too(store: OcflStore) -> None:
    (store.object_path(OID) / store.content_path(OID, "lost.bin", 1)).unlink()
    p = prefixes(2)
    one = copy_hashes(store, OID, 1, p, BLOCK, workers=1)
    many = copy_hashes(store, OID, 1, p, BLOCK, workers=2)
    assert many == one
    assert not any(path == "lost.bin" for path, _ in many["v0"])
    assert ("odd.bin", 2) in many["v0"]


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("size", [0, 10, HASH_BATCH, 3 * HASH_BATCH + 5])
def test_a_file_hashed_on_a_second_thread_while_written_has_every_byte_and_the_right_digests(
    tmp_path: Path, size: int
) -> None:
    data = random.Random(size).randbytes(size)
    got = write_chunks(chunks(data, 64 * 1024), tmp_path / "out", ("sha512", "sha256"))
    assert (tmp_path / "out").read_bytes() == data
    assert got.size == size
    assert got.digests == {"sha512": hashlib.sha512(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
    assert got == write_chunks(chunks(data, 1000), tmp_path / "one", ("sha512", "sha256"), hash_on_thread=False)


def test_a_stream_that_fails_midway_leaves_no_file_and_no_thread(tmp_path: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield from chunks(random.Random(1).randbytes(3 * HASH_BATCH), 1 << 20)
        raise ConnectionError("the peer went away")

    before = threading.active_count()
    with pytest.raises(ConnectionError):
        write_chunks(broken(), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert threading.active_count() == before
