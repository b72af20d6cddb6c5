"""Archive extraction never writes outside its destination, whatever the member names; limits are enforced on
the bytes actually written."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.errors import PackageRejected
from strongroom.formats.archives import ArchiveLimits, check_tree, extract_archive


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_good_zip_is_extracted(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"pkg/a.txt": b"a", "pkg/sub/b.txt": b"b", "__MACOSX/._a": b"junk"})
    dest = tmp_path / "out"
    dest.mkdir()
    assert sorted(extract_archive(archive, dest)) == ["pkg/a.txt", "pkg/sub/b.txt"]
    assert (dest / "pkg" / "sub" / "b.txt").read_bytes() == b"b"
    assert not (dest / "__MACOSX").exists()


def test_tar_hard_link_and_device_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "t.tar"
    with tarfile.open(archive, "w") as tf:
        data = b"hello"
        info = tarfile.TarInfo("pkg/a.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("pkg/b.txt")
        link.type = tarfile.LNKTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
        dev = tarfile.TarInfo("pkg/dev")
        dev.type = tarfile.CHRTYPE
        tf.addfile(dev)
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(PackageRejected) as info:
        extract_archive(archive, dest)
    assert [f.code for f in info.value.findings] == ["P002", "P002"]
    assert list(dest.iterdir()) == []


def test_case_insensitive_duplicates_and_too_many_entries(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "d.zip", {"pkg/A.pdf": b"1", "pkg/a.pdf": b"2", "pkg/c": b"3"})
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(PackageRejected) as info:
        extract_archive(archive, dest, ArchiveLimits(max_entries=2))
    assert {f.code for f in info.value.findings} == {"P005", "P006"}


def test_bomb_that_lies_about_its_size_is_stopped_while_writing(tmp_path: Path) -> None:
    """A member whose header declares a small size is still counted byte by byte as it is written."""
    archive = make_zip(tmp_path / "b.zip", {"pkg/zeros.bin": b"\0" * (5 << 20)})
    raw = bytearray(archive.read_bytes())
    # Patch the declared uncompressed size (local header offset 22, central directory entry offset 24) to 100.
    raw[22:26] = (100).to_bytes(4, "little")
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (100).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(PackageRejected) as info:
        extract_archive(archive, dest, ArchiveLimits(max_total_bytes=1 << 20, max_ratio=1000))
    assert {f.code for f in info.value.findings} & {"P003", "P004"}
    assert list(dest.iterdir()) == []


def test_directory_package_with_symlink_escape(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "sub" / "ok.txt").write_text("ok")
    (pkg / "sub" / "link").symlink_to("/etc")
    findings = check_tree(pkg)
    assert [(f.code, f.path) for f in findings] == [("P002", "sub/link")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("./\\:ab.."), min_size=1, max_size=12), min_size=1, max_size=4, unique=True
    )
)
def test_no_member_name_escapes(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> None:
    tmp = tmp_path_factory.mktemp("h")
    jail = tmp / "jail"
    dest = jail / "dest"
    dest.mkdir(parents=True)
    archive = tmp / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in names:
            zf.writestr(zipfile.ZipInfo(name), b"x")
    try:
        written = extract_archive(archive, dest)
    except PackageRejected:
        written = []
    outside = [p for p in tmp.rglob("*") if p.is_file() and dest not in p.parents and p != archive]
    assert outside == []
    for rel in written:
        assert (dest / rel).resolve().is_relative_to(dest.resolve())
