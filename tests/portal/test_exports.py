"""Telling the world: the Crossref resource-only deposit and the static copy of the portal, through the CLI."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from lxml import etree
from portal_fixtures import Archive

CR = {"c": "http://www.crossref.org/doi_resources_schema/4.4.2"}


def sr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli.main", *args], capture_output=True, text=True, timeout=300
    )


def test_crossref_file_repoints_every_released_doi_and_no_other(archive: Archive, tmp_path: Path) -> None:
    target = tmp_path / "crossref.xml"
    done = sr("portal", "crossref", "--home", str(archive.home), "--out", str(target))
    assert done.returncode == 2 and "--depositor" in done.stderr  # the options Crossref needs are required
    args = ["--depositor", "Strongroom Archive", "--email", "archive@example.org", "--out", str(target)]
    done = sr("portal", "crossref", "--home", str(archive.home), *args)
    assert done.returncode == 0, done.stderr
    assert f"{len(archive.released_dois)} released DOIs" in done.stdout
    doc = etree.parse(str(target))
    assert doc.getroot().get("version") == "4.4.2"
    assert doc.xpath("//c:depositor/c:email_address/text()", namespaces=CR) == ["archive@example.org"]
    pairs = {
        str(r.xpath("c:doi/text()", namespaces=CR)[0]): str(r.xpath(".//c:resource/text()", namespaces=CR)[0])
        for r in doc.xpath("//c:doi_resources", namespaces=CR)
    }
    assert set(pairs) == archive.released_dois
    released = archive.node.released()
    for doi, url in pairs.items():
        item = released.item_by_doi(doi)
        assert item is not None and url == f"http://127.0.0.1:8080/articles/{item.public_id}/"
    bad = sr("portal", "crossref", "--home", str(archive.home), *args[:2], "--email", "not-an-address", "--out", "x")
    assert bad.returncode != 0 and "not an email address" in bad.stderr


def test_static_export_is_the_released_portal(archive: Archive, tmp_path: Path) -> None:
    dest = tmp_path / "site"
    done = sr("portal", "export", str(dest), "--home", str(archive.home))
    assert done.returncode == 0, done.stderr
    assert "Exported" in done.stdout
    for public_id in archive.released_ids:
        page = (dest / "articles" / public_id / "index.html").read_text(encoding="utf-8")
        assert 'name="citation_title"' in page
        assert (dest / "fr" / "articles" / public_id / "index.html").is_file()
        assert (dest / "articles" / public_id / "cite.ris").is_file()
    for public_id in archive.dark_ids:
        assert not (dest / "articles" / public_id).exists()
    everything = b"".join(p.read_bytes() for p in dest.rglob("*") if p.is_file())
    for doi in archive.dark_dois:
        assert doi.encode() not in everything
    # a downloaded file is the preserved file, byte for byte
    item = next(i for i in archive.node.released().page(limit=1000) if i.pdf is not None)
    assert item.pdf is not None
    stored = archive.node.store.object_path(item.object_id) / archive.node.store.content_path(
        item.object_id, item.pdf.logical_path
    )
    exported = dest / "articles" / item.public_id / item.pdf.name
    assert hashlib.sha256(exported.read_bytes()).digest() == hashlib.sha256(stored.read_bytes()).digest()
    assert (dest / "sitemap.xml").is_file() and (dest / "releases.atom").is_file() and (dest / "index.html").is_file()
    # never over an existing folder, and a refused export leaves no partial folder behind
    again = sr("portal", "export", str(dest), "--home", str(archive.home))
    assert again.returncode != 0 and "not empty" in again.stderr
    assert not list(tmp_path.glob(".*partial"))
