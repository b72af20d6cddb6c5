"""A bag's manifests read a line at a time into the package spool (bagit's ``Bag`` would hold every line in memory):
what the spool records is exactly what bagit's own reading gives, and what bagit refuses (a path that leaves the
bag, a file listed twice) is refused the same way (the deposits refused: tests/ingest/test_bag_checks.py)."""

from __future__ import annotations

import string
from pathlib import Path

import bagit
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.ingest.bag import ListedBag, expect_manifests
from strongroom.ingest.filespool import PackageSpool

NAME = st.text(alphabet=string.ascii_letters + string.digits + "-_. é%", min_size=1, max_size=8).filter(
    lambda s: s.strip(" ") == s and s not in (".", "..")
)
PATH = st.lists(NAME, min_size=1, max_size=3).map("/".join)
DIGEST = st.text(alphabet="0123456789abcdef", min_size=8, max_size=12)
# One manifest line: an entry (digest, optional '*', path with optional leading './', CR/LF percent-encoded), a
# comment, a blank line, a line of one word, or a path that leaves the bag.
ENTRY = st.tuples(DIGEST, st.booleans(), st.booleans(), PATH, st.sampled_from(["", "%0D", "%0A"])).map(
    lambda t: f"{t[0]} {'*' if t[1] else ''}{'./' if t[2] else ''}data/{t[3]}{t[4]}"
)
LINE = st.one_of(
    ENTRY,
    ENTRY,
    ENTRY,
    st.just("# a comment"),
    st.just(""),
    DIGEST,
    DIGEST.map(lambda d: f"{d}  ../outside.txt"),
    DIGEST.map(lambda d: f"{d}  /etc/passwd"),
)
MANIFESTS = st.dictionaries(
    st.sampled_from(["manifest-sha256.txt", "manifest-md5.txt", "tagmanifest-sha512.txt"]),
    st.lists(LINE, max_size=8),
    min_size=1,
)


def _write_bag(root: Path, version: str, manifests: dict[str, list[str]], bom: bool) -> None:
    root.mkdir(parents=True)
    (root / "data").mkdir()
    (root / "bagit.txt").write_text(f"BagIt-Version: {version}\nTag-File-Character-Encoding: UTF-8\n")
    for name, lines in manifests.items():
        (root / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + "".join(f"{x}\n" for x in lines).encode())


def _spooled(root: Path, spool: PackageSpool) -> dict[str, dict[str, str]]:
    expect_manifests(ListedBag(str(root)), spool)
    found: dict[str, dict[str, str]] = {}
    for rel, alg, digest in spool.db.execute("SELECT rel, alg, digest FROM expected"):
        found.setdefault(rel, {})[alg] = digest
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifests=MANIFESTS, version=st.sampled_from(["0.97", "1.0"]), bom=st.booleans())
def test_the_spool_holds_what_bagit_reads_and_refuses_what_bagit_refuses(
    tmp_path_factory: pytest.TempPathFactory, manifests: dict[str, list[str]], version: str, bom: bool
) -> None:
    root = tmp_path_factory.mktemp("bag") / "bag"
    _write_bag(root, version, manifests, bom)
    spool = PackageSpool(root.parent / "spool.sqlite")
    try:
        try:
            theirs = {rel.replace("\\", "/"): digests for rel, digests in bagit.Bag(str(root)).entries.items()}
        except bagit.BagError as exc:
            with pytest.raises(bagit.BagError) as ours:
                _spooled(root, spool)
            # the same refusal: an unsafe path, or a path listed twice
            assert ("unsafe" in str(exc)) == ("unsafe" in str(ours.value)), (exc, ours.value)
            return
        assert _spooled(root, spool) == theirs
        assert sorted(ListedBag(str(root)).algorithms) == sorted(bagit.Bag(str(root)).algorithms)
    finally:
        spool.close()
