"""A bag's own checks, made by Strongroom over the package spool rather than by bagit's completeness pass: every
manifest entry present (P021), every payload file listed (P022), the payload directory and the Payload-Oxum
(P023), the manifests' algorithms (P024), a manifest path that leaves the bag or is listed twice (P023). Each bag is
made with bagit, then damaged as a transfer, a careless hand or an attacker would."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import bagit
import pytest

from strongroom.errors import Finding, PackageRejected
from strongroom.formats.ojs_native import PKP_NS
from strongroom.ingest.package import FORMS, PackageForm, open_package
from strongroom.settings import IngestLimits

PAYLOAD = {"a/one.txt": b"first file\n", "a/two.txt": b"second, a little longer\n", "b/three.txt": b"3\n"}
PAYLOAD_BYTES = sum(len(data) for data in PAYLOAD.values())


def _bag(tmp_path: Path) -> Path:
    root = tmp_path / "bag"
    for rel, data in PAYLOAD.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    bagit.make_bag(str(root), checksums=["sha256"])
    return root


def _rejected(root: Path, tmp_path: Path) -> list[Finding]:
    with pytest.raises(PackageRejected) as exc:
        open_package(root, tmp_path / "work", IngestLimits())
    return list(exc.value.findings)


def _set_oxum(root: Path, oxum: str) -> None:
    """Put ``oxum`` in bag-info.txt; the tag manifests, which would now disagree with it (P020), are taken away."""
    info = root / "bag-info.txt"
    lines = [line for line in info.read_text().splitlines() if not line.startswith("Payload-Oxum")]
    info.write_text("\n".join([*lines, f"Payload-Oxum: {oxum}"]) + "\n")
    for tagmanifest in root.glob("tagmanifest-*.txt"):
        tagmanifest.unlink()


def test_a_clean_bag_is_accepted(tmp_path: Path) -> None:
    package = open_package(_bag(tmp_path), tmp_path / "work", IngestLimits())
    try:
        assert package.form is PackageForm.BAGIT
        assert sorted(f.relpath for f in package.files) == sorted(PAYLOAD)
        assert package.total_bytes == PAYLOAD_BYTES
    finally:
        package.close()


def test_a_file_listed_but_missing_is_p021(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    (root / "data/a/two.txt").unlink()
    findings = _rejected(root, tmp_path)
    assert [(f.code, f.path) for f in findings] == [("P021", "data/a/two.txt")]


def test_a_file_added_but_not_listed_is_p022(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    (root / "data/b/extra.txt").write_bytes(b"slipped in\n")
    (root / "data/a_extra.txt").write_bytes(b"and another\n")
    findings = _rejected(root, tmp_path)
    assert [(f.code, f.path) for f in findings] == [("P022", "data/a_extra.txt"), ("P022", "data/b/extra.txt")]


def test_missing_and_unlisted_files_are_each_named_in_order(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    (root / "data/b/three.txt").unlink()
    (root / "data/a/one.txt").unlink()
    (root / "data/z.txt").write_bytes(b"z\n")
    findings = _rejected(root, tmp_path)
    assert [(f.code, f.path) for f in findings] == [
        ("P021", "data/a/one.txt"),
        ("P021", "data/b/three.txt"),
        ("P022", "data/z.txt"),
    ]


def test_a_missing_tag_file_listed_in_a_tag_manifest_is_named(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    (root / "bag-info.txt").unlink()
    findings = _rejected(root, tmp_path)
    assert [(f.code, f.path) for f in findings] == [("P021", "bag-info.txt")]


def test_a_wrong_payload_oxum_file_count_is_p023(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    _set_oxum(root, f"{PAYLOAD_BYTES}.{len(PAYLOAD) + 1}")
    findings = _rejected(root, tmp_path)
    assert [(f.code, f.path) for f in findings] == [("P023", "bag-info.txt")]
    message = findings[0].message
    assert f"says {len(PAYLOAD) + 1} files and {PAYLOAD_BYTES} bytes" in message
    assert f"holds {len(PAYLOAD)} files and {PAYLOAD_BYTES} bytes" in message
    assert "bag-info.txt" in message  # the fix


def test_a_wrong_payload_oxum_byte_count_is_p023(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    _set_oxum(root, f"{PAYLOAD_BYTES - 1}.{len(PAYLOAD)}")
    findings = _rejected(root, tmp_path)
    assert [(f.code, f.path) for f in findings] == [("P023", "bag-info.txt")]
    assert f"says {len(PAYLOAD)} files and {PAYLOAD_BYTES - 1} bytes" in findings[0].message


def test_a_malformed_payload_oxum_is_p023(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    _set_oxum(root, "many.files")
    findings = _rejected(root, tmp_path)
    assert [(f.code, f.path) for f in findings] == [("P023", "bag-info.txt")]


def test_a_right_payload_oxum_without_tag_manifests_is_accepted(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    _set_oxum(root, f"{PAYLOAD_BYTES}.{len(PAYLOAD)}")  # the damage helper itself leaves a sound bag
    open_package(root, tmp_path / "work", IngestLimits()).close()


def test_a_bag_without_a_data_directory_is_p023(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    (root / "data").rename(root / "payload")
    for tagmanifest in root.glob("tagmanifest-*.txt"):
        tagmanifest.unlink()
    (root / "manifest-sha256.txt").write_text("")  # nothing listed: only the missing directory is wrong
    findings = _rejected(root, tmp_path)
    assert ("P023", "data/") in [(f.code, f.path) for f in findings]


def test_a_manifest_with_an_unknown_algorithm_is_p024(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    (root / "manifest-sha256.txt").rename(root / "manifest-sha3_256.txt")
    for tagmanifest in root.glob("tagmanifest-*.txt"):
        tagmanifest.unlink()
    findings = _rejected(root, tmp_path)
    assert (findings[0].code, findings[0].path) == ("P024", "")  # first; the digests it lists cannot be checked
    assert "sha3_256" in findings[0].message


def test_a_declaration_with_a_byte_order_mark_is_p023(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    declaration = root / "bagit.txt"
    declaration.write_bytes(b"\xef\xbb\xbf" + declaration.read_bytes())
    for tagmanifest in root.glob("tagmanifest-*.txt"):
        tagmanifest.unlink()
    findings = _rejected(root, tmp_path)
    assert [(f.code, f.path) for f in findings] == [("P023", "bagit.txt")]


def test_a_fetch_file_with_a_malformed_url_is_p023(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    (root / "fetch.txt").write_text("not-a-url 3 data/b/three.txt\n")
    findings = _rejected(root, tmp_path)
    assert [(f.code, f.path) for f in findings] == [("P023", "fetch.txt")]
    assert "not-a-url" in findings[0].message


def _refused_manifest(root: Path, tmp_path: Path) -> str:
    """The one finding of a bag whose manifest bagit would not read: P023, at bagit.txt; its message."""
    [finding] = _rejected(root, tmp_path)
    assert (finding.code, finding.path) == ("P023", "bagit.txt")
    return finding.message


@pytest.mark.parametrize("path", ["../../outside.txt", "/etc/passwd", "data/../../outside.txt", "~/.bashrc"])
def test_a_manifest_path_that_leaves_the_bag_is_p023(tmp_path: Path, path: str) -> None:
    root = _bag(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not the bag's\n")
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    with (root / "manifest-sha256.txt").open("a") as fh:
        fh.write(f"{digest}  {path}\n")
    assert "unsafe" in _refused_manifest(root, tmp_path)


def test_a_file_listed_twice_with_different_digests_is_p023(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    with (root / "manifest-sha256.txt").open("a") as fh:
        fh.write(f"{'0' * 64}  data/a/one.txt\n")
    assert "conflicting values" in _refused_manifest(root, tmp_path)


def test_a_file_listed_twice_with_the_same_digest_is_p023_from_bagit_1_0(tmp_path: Path) -> None:
    root = _bag(tmp_path)
    manifest = root / "manifest-sha256.txt"
    manifest.write_text(manifest.read_text() * 2)
    for tagmanifest in root.glob("tagmanifest-*.txt"):  # (they would now disagree with the files: P020)
        tagmanifest.unlink()
    package = open_package(root, tmp_path / "work", IngestLimits())  # BagIt 0.97 (bagit's): only a warning
    package.close()
    (root / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    assert "the same value" in _refused_manifest(root, tmp_path)


def _recognised(root: Path) -> tuple[PackageForm | None, int]:
    """The form the package at ``root`` is recognised as (the first reader, as ``open_package`` asks them) and the
    peak of Python's heap while the readers were asked."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        form = next((reader.form for reader in FORMS if reader.recognise(root)), None)
        return form, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("ojs", [False, True])
def test_recognising_a_bag_lists_none_of_its_payload_folder(tmp_path: Path, ojs: bool) -> None:
    """Whether a bag is the OJS plugin's is seen from the Native XML exports directly under ``data/``; the folder is
    read as it goes, keeping those few names: a bag of 200,000 article folders side by side under ``data/`` made
    the list of the whole folder (``Path.glob``) a deposit's peak memory. Four times the folders hold no more."""
    peaks = []
    for folders in (500, 2000):
        root = tmp_path / f"bag-{folders}"
        data = root / "data"
        data.mkdir(parents=True)
        (root / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
        (root / "bag-info.txt").write_text("Source-Organization: Revue\n")
        for n in range(folders):
            (data / f"article-{n:06}").mkdir()
        if ojs:
            (data / "Issue-17.xml").write_text(f'<?xml version="1.0"?><issue xmlns="{PKP_NS}"/>')
        form, peak = _recognised(root)
        assert form is (PackageForm.OJS_NATIVE if ojs else PackageForm.BAGIT)
        peaks.append(peak)
    assert peaks[1] < peaks[0] + 16 * 1024, peaks
