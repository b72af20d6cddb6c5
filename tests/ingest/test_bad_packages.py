"""Hostile and broken packages are refused with a finding that names the problem and the file, nothing is
written to the storage root or the catalog, and the node keeps working."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest

from strongroom.errors import PackageRejected
from strongroom.node import Node

Snap = Callable[[Node], tuple[list[str], dict[str, int]]]
Maker = Callable[[Path, Path], Path]  # (sample package dir, tmp dir) -> bad package


def _jats_dir(sample_dir: Path) -> Path:
    return sorted(p for p in sample_dir.iterdir() if p.name.endswith("-jats"))[0]


def _bag_dir(sample_dir: Path) -> Path:
    return sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def zip_slip(sample: Path, tmp: Path) -> Path:
    out = tmp / "slip.zip"
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("bag/bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
        zf.writestr("../../escaped.txt", "gotcha")
    return out


def zip_absolute(sample: Path, tmp: Path) -> Path:
    out = tmp / "abs.zip"
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("/tmp/strongroom-absolute-escape.txt", "gotcha")
    return out


def symlink_dir(sample: Path, tmp: Path) -> Path:
    pkg = _copy(_jats_dir(sample), tmp / "pkg")
    os.symlink("/etc/passwd", pkg / "passwd.pdf")
    return pkg


def tar_symlink(sample: Path, tmp: Path) -> Path:
    out = tmp / "link.tar.gz"
    with tarfile.open(out, "w:gz") as tf:
        info = tarfile.TarInfo("pkg/secret.xml")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/shadow"
        tf.addfile(info)
    return out


def latin1_name_in_directory(sample: Path, tmp: Path) -> Path:
    """A file whose name is Latin-1 bytes, not UTF-8 (as an old file system or FTP transfer leaves one)."""
    pkg = _copy(_jats_dir(sample), tmp / "pkg")
    with open(os.path.join(os.fsencode(pkg), b"r\xe9sum\xe9.pdf"), "wb") as fh:
        fh.write(b"%PDF-1.4\n")
    return pkg


def latin1_name_in_tar(sample: Path, tmp: Path) -> Path:
    """A tar whose member name is Latin-1 bytes (tarfile reads it with surrogateescape, as GNU tar writes it)."""
    out = tmp / "latin1.tar"
    with tarfile.open(out, "w", encoding="utf-8", errors="surrogateescape") as tf:
        for path in sorted(_jats_dir(sample).iterdir()):
            tf.add(path, arcname=f"pkg/{path.name}")
        info = tarfile.TarInfo(os.fsdecode(b"pkg/r\xe9sum\xe9.txt"))
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    return out


def zip_bomb(sample: Path, tmp: Path) -> Path:
    out = tmp / "bomb.zip"
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf, zf.open("pkg/zeros.pdf", "w") as fh:
        for _ in range(300):  # 300 MB of zeros, about 300 KB compressed: a ratio of ~1000
            fh.write(chunk)
    return out


def xxe(sample: Path, tmp: Path) -> Path:
    pkg = _copy(_jats_dir(sample), tmp / "pkg")
    xml = sorted(pkg.glob("*.xml"))[0]
    xml.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE article [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        "<article><front><article-meta><title-group><article-title>&xxe;</article-title>"
        "</title-group></article-meta></front></article>\n"
    )
    return pkg


def billion_laughs(sample: Path, tmp: Path) -> Path:
    pkg = _copy(_jats_dir(sample), tmp / "pkg")
    xml = sorted(pkg.glob("*.xml"))[0]
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    xml.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE article [<!ENTITY l0 "lol">{entities}]>\n<article>&l9;</article>')
    return pkg


def invalid_jats(sample: Path, tmp: Path) -> Path:
    pkg = _copy(_jats_dir(sample), tmp / "pkg")
    xml = sorted(pkg.glob("*.xml"))[0]
    xml.write_text('<?xml version="1.0"?>\n<article><front><article-meta/></front></article>\n')
    return pkg


def malformed_xml(sample: Path, tmp: Path) -> Path:
    pkg = _copy(_jats_dir(sample), tmp / "pkg")
    xml = sorted(pkg.glob("*.xml"))[0]
    xml.write_bytes(xml.read_bytes()[:-40])
    return pkg


def wrong_checksum(sample: Path, tmp: Path) -> Path:
    pkg = _copy(_bag_dir(sample), tmp / "pkg")
    pdf = sorted((pkg / "data").rglob("*.pdf"))[0]
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x20
    pdf.write_bytes(bytes(data))
    return pkg


def missing_payload(sample: Path, tmp: Path) -> Path:
    pkg = _copy(_bag_dir(sample), tmp / "pkg")
    sorted((pkg / "data").rglob("*.pdf"))[0].unlink()
    return pkg


def unlisted_payload(sample: Path, tmp: Path) -> Path:
    pkg = _copy(_bag_dir(sample), tmp / "pkg")
    (pkg / "data" / "smuggled.txt").write_text("not in any manifest")
    return pkg


def fake_pdf(sample: Path, tmp: Path) -> Path:
    pkg = _copy(_jats_dir(sample), tmp / "pkg")
    sorted(pkg.glob("*.pdf"))[0].write_bytes(b"<html><body>This is not a PDF</body></html>")
    return pkg


def truncated_pdf(sample: Path, tmp: Path) -> Path:
    pkg = _copy(_jats_dir(sample), tmp / "pkg")
    pdf = sorted(pkg.glob("*.pdf"))[0]
    pdf.write_bytes(pdf.read_bytes()[: pdf.stat().st_size // 2])
    return pkg


def empty_dir(sample: Path, tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def empty_zip(sample: Path, tmp: Path) -> Path:
    out = tmp / "empty.zip"
    zipfile.ZipFile(out, "w").close()
    return out


def truncated_zip(sample: Path, tmp: Path) -> Path:
    good = sorted(p for p in sample.iterdir() if p.name.endswith("-bag.zip"))[0]
    out = tmp / "truncated.zip"
    out.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    return out


def truncated_targz(sample: Path, tmp: Path) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(_bag_dir(sample), arcname="bag")
    out = tmp / "truncated.tar.gz"
    out.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return out


def bag_sha1_only_wrong(sample: Path, tmp: Path) -> Path:
    """A bag made with md5 whose manifest entry is wrong: weak algorithms are still checked."""
    src = tmp / "src"
    shutil.copytree(_jats_dir(sample), src)
    bagit.make_bag(str(src), checksums=["md5"])
    manifest = src / "manifest-md5.txt"
    lines = manifest.read_text().splitlines()
    lines[0] = "0" * 32 + lines[0][32:]
    manifest.write_text("\n".join(lines) + "\n")
    return src


CASES: dict[str, tuple[Maker, str]] = {
    "zip-slip": (zip_slip, "P001"),
    "zip-absolute-path": (zip_absolute, "P001"),
    "symlink-in-directory": (symlink_dir, "P002"),
    "symlink-in-tar": (tar_symlink, "P002"),
    "zip-bomb": (zip_bomb, "P003"),
    "latin1-name-in-directory": (latin1_name_in_directory, "P007"),
    "latin1-name-in-tar": (latin1_name_in_tar, "P007"),
    "xml-external-entity": (xxe, "P031"),
    "xml-entity-expansion": (billion_laughs, "P031"),
    "invalid-jats": (invalid_jats, "P032"),
    "malformed-xml": (malformed_xml, "P030"),
    "wrong-checksum": (wrong_checksum, "P020"),
    "missing-payload-file": (missing_payload, "P021"),
    "unlisted-payload-file": (unlisted_payload, "P022"),
    "non-pdf-named-pdf": (fake_pdf, "P040"),
    "truncated-pdf": (truncated_pdf, "P041"),
    "empty-directory": (empty_dir, "P011"),
    "empty-zip": (empty_zip, "P011"),
    "truncated-zip": (truncated_zip, "P004"),
    "truncated-tar-gz": (truncated_targz, "P004"),
    "wrong-md5": (bag_sha1_only_wrong, "P020"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_package_is_refused_and_nothing_is_written(
    case: str, node: Node, sample_dir: Path, tmp_path: Path, snap: Snap
) -> None:
    maker, code = CASES[case]
    bad = maker(sample_dir, tmp_path)
    before = snap(node)
    staging_before = sorted(node.settings.resolved_staging().iterdir())
    with pytest.raises(PackageRejected) as info:
        node.ingest.deposit(bad)
    codes = {f.code for f in info.value.findings}
    assert code in codes, f"expected {code}, got {info.value}"
    assert all(f.message for f in info.value.findings)
    assert snap(node) == before
    assert sorted(node.settings.resolved_staging().iterdir()) == staging_before  # work files cleaned up
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert not Path("/tmp/strongroom-absolute-escape.txt").exists()
    # The node keeps working: a good package goes in afterwards.
    good = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]
    assert node.ingest.deposit(good).version == 1


def test_a_rejection_reports_every_problem_not_just_the_first(node: Node, sample_dir: Path, tmp_path: Path) -> None:
    pkg = wrong_checksum(sample_dir, tmp_path)
    (pkg / "data" / "smuggled.txt").write_text("x")
    with pytest.raises(PackageRejected) as info:
        node.ingest.deposit(pkg)
    codes = {f.code for f in info.value.findings}
    assert {"P020", "P022"} <= codes
    message = str(info.value)
    assert "smuggled.txt" in message and ".pdf" in message and "docs/findings.md" in message


def test_jasper_row_without_folder_names_the_line(node: Node, sample_dir: Path, tmp_path: Path) -> None:
    src = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-jasper.zip"))[0]
    with zipfile.ZipFile(src) as zf:
        zf.extractall(tmp_path / "j")
    csv = next((tmp_path / "j").rglob("identifiers.csv"))
    csv.write_text(csv.read_text() + "10.5555/not-there,,no-such-folder\n")
    with pytest.raises(PackageRejected) as info:
        node.ingest.deposit(csv.parent)
    assert any(f.code == "P050" and "identifiers.csv:" in f.path for f in info.value.findings)
