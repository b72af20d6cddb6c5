"""The OJS PKP Preservation Network plugin's package: a zipped BagIt bag with the OJS Native XML export of an issue,
its galleys, the schemas and the terms. Built as the plugin builds it (OJS 3.4 and OJS 2 shapes), deposited on a
real node, every article catalogued; broken packages refused with the right finding and nothing stored; entities,
network schema locations and path traversal refused."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest

from strongroom.errors import PackageRejected
from strongroom.formats.ojs_native import bcp47, read_native, validate_native
from strongroom.ingest.deposit import DepositOptions
from strongroom.ingest.package import PackageForm, open_package
from strongroom.node import Node
from strongroom.samples.ojs_site import OjsSite
from strongroom.samples.pkppn_package import SCHEMA_DIR, SCHEMAS, build_package, eicar
from strongroom.settings import IngestLimits

Snap = Callable[[Node], tuple[list[str], dict[str, int]]]
UUID = "5F5C84B1-80BF-4071-8D3F-057AA3184FC9"


@pytest.fixture(scope="module")
def ojs() -> OjsSite:
    return OjsSite()


def write(tmp_path: Path, data: bytes, name: str = "package.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def options(site: OjsSite) -> DepositOptions:
    """What the SWORD deposit (the Atom entry) says of the journal: the plugin's bag does not name it."""
    t = site.title
    return DepositOptions(title=t.title, publisher=t.publisher.name, issn=t.issn_online, platform="ojs")


def opened(tmp_path: Path, data: bytes) -> object:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return open_package(write(tmp_path, data), work, IngestLimits())


def rejected_codes(tmp_path: Path, data: bytes) -> set[str]:
    with pytest.raises(PackageRejected) as info:
        opened(tmp_path, data)
    return {f.code for f in info.value.findings}


@pytest.mark.parametrize("version", ["3.4.0.5", "2.4.8.5"])
def test_a_plugin_package_is_preserved_and_every_article_catalogued(
    node: Node, ojs: OjsSite, tmp_path: Path, version: str
) -> None:
    issue = ojs.issues[0]
    pkg = write(tmp_path, build_package(ojs, issue, UUID.lower(), ojs_version=version))
    result = node.ingest.deposit(pkg, options(ojs))
    assert result.items == len(issue.articles)
    assert result.au_key.endswith(f"/{issue.year}")
    for aid, a in issue.articles:
        item = node.catalog.find_item(a.doi)
        assert item.title == a.title and item.doi == a.doi.lower()
        assert [x["name"] for x in item.authors] == [au.name for au in a.authors]
        assert [x.get("orcid") for x in item.authors] == [au.orcid for au in a.authors]
        assert [x["affiliations"] for x in item.authors] == [[au.affiliation] for au in a.authors]
        assert item.abstract == a.abstract
        assert item.pages == f"{a.fpage}-{a.lpage}"
        assert item.licence == "https://creativecommons.org/licenses/by/4.0/"
        assert item.volume == issue.volume and item.issue == issue.number and item.year == issue.year
        assert list(item.keywords) == list(a.keywords)
        [galley] = [f for f in item.files if f.role == "fulltext"]
        assert galley.media_type == "application/pdf" and galley.size == len(ojs.pdfs[aid])
    [(au, _items, _files, _size)] = node.catalog.aus()
    events = node.catalog.events(object_key=au.key)
    assert [e.type for e in events] == ["ingestion"]


def test_the_package_form_and_its_files(ojs: OjsSite, tmp_path: Path) -> None:
    package = opened(tmp_path, build_package(ojs, ojs.issues[0], UUID))
    assert package.form == PackageForm.OJS_NATIVE  # type: ignore[attr-defined]
    roles = {f.relpath: str(f.role) for f in package.files}  # type: ignore[attr-defined]
    assert roles[f"Issue{UUID}.xml"] == "metadata"
    assert roles[f"terms{UUID}.xml"] == "other"
    assert all(roles[name] == "other" for name in SCHEMAS)
    assert package.bag_info["PKP-PLN-OJS-Version"] == ["3.4.0.5"]  # type: ignore[attr-defined]


def test_packages_are_deterministic_and_a_corrected_issue_differs(tmp_path: Path) -> None:
    site = OjsSite()
    issue = site.issues[0]
    first = build_package(site, issue, UUID)
    assert build_package(site, issue, UUID) == first
    aid, a = issue.articles[0]
    from dataclasses import replace

    issue.articles[0] = (aid, replace(a, title=a.title + " (corrected)"))
    corrected = build_package(site, issue, UUID)
    assert corrected != first
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert f"{UUID}/bagit.txt" in names and f"{UUID}/tagmanifest-sha512.txt" in names
    assert f"{UUID}/manifest-sha512.txt" in names and f"{UUID}/data/Issue{UUID}.xml" in names


@pytest.mark.parametrize(("fault", "code"), [("broken-bag", "P020"), ("bad-xml", "P060"), ("missing-file", "P061")])
def test_a_faulty_package_is_refused_and_nothing_stored(
    node: Node, ojs: OjsSite, tmp_path: Path, snap: Snap, fault: str, code: str
) -> None:
    before = snap(node)
    pkg = write(tmp_path, build_package(ojs, ojs.issues[0], UUID, fault=fault))
    with pytest.raises(PackageRejected) as info:
        node.ingest.deposit(pkg, options(ojs))
    assert code in {f.code for f in info.value.findings}
    assert snap(node) == before


def test_the_virus_package_builds_with_the_eicar_galley_and_passes_package_checks(ojs: OjsSite, tmp_path: Path) -> None:
    data = build_package(ojs, ojs.issues[0], UUID, fault="virus")
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.read(f"{UUID}/data/files/eicar.txt") == eicar()
    assert b"files/eicar.txt" in zf.read(f"{UUID}/data/Issue{UUID}.xml")
    assert eicar() not in Path(__file__).read_bytes()
    package = opened(tmp_path, data)  # virus scanning is clamd's, elsewhere
    owner = {f.relpath: f.item_key for f in package.files}  # type: ignore[attr-defined]
    assert owner["files/eicar.txt"] == ojs.issues[0].articles[0][1].doi.lower()


def _rebag(tmp_path: Path, data: bytes, change: Callable[[Path], None]) -> bytes:
    """Unpack a package, change its payload, bag it again and zip it (a well-formed bag with bad content)."""
    root = tmp_path / "rebag"
    zipfile.ZipFile(io.BytesIO(data)).extractall(root)
    bag_dir = root / UUID
    payload = root / "payload"
    shutil.move(bag_dir / "data", payload)
    shutil.rmtree(bag_dir)
    change(payload)
    bagit.make_bag(str(payload), {"PKP-PLN-OJS-Version": "3.4.0.5"}, checksums=["sha512"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(payload.rglob("*")):
            if p.is_file():
                zf.writestr(p.relative_to(payload).as_posix(), p.read_bytes())
    return buf.getvalue()


XXE = b'<?xml version="1.0"?>\n<!DOCTYPE issue [ <!ENTITY x SYSTEM "file:///etc/passwd"> ]>\n'


def test_an_external_entity_in_the_native_xml_is_refused(ojs: OjsSite, tmp_path: Path) -> None:
    def inject(data: Path) -> None:
        xml = data / f"Issue{UUID}.xml"
        body = xml.read_bytes().split(b"\n", 1)[1].replace(b"<volume>", b"<volume>&x;", 1)
        xml.write_bytes(XXE + body)

    assert "P031" in rejected_codes(tmp_path, _rebag(tmp_path, build_package(ojs, ojs.issues[0], UUID), inject))


def test_a_network_schema_location_in_a_bundled_xsd_is_refused_not_fetched(ojs: OjsSite, tmp_path: Path) -> None:
    def point_away(data: Path) -> None:
        xsd = data / "native.xsd"
        xsd.write_bytes(
            xsd.read_bytes().replace(b'schemaLocation="pkp-native.xsd"', b'schemaLocation="http://127.0.0.1:9/x.xsd"')
        )

    with pytest.raises(PackageRejected) as info:
        opened(tmp_path, _rebag(tmp_path, build_package(ojs, ojs.issues[0], UUID), point_away))
    p060 = [f.message for f in info.value.findings if f.code == "P060"]
    assert p060 and any("never fetched" in m for m in p060)


def _schemas(tmp_path: Path) -> Path:
    folder = tmp_path / "schemas"
    folder.mkdir()
    for name in SCHEMAS:
        shutil.copy(SCHEMA_DIR / name, folder / name)
    return folder


def _xml(ojs: OjsSite, tmp_path: Path) -> Path:
    from strongroom.samples.pkppn_package import native_xml

    path = tmp_path / "Issue.xml"
    path.write_bytes(native_xml(ojs, ojs.issues[0]))
    return path


def test_schema_includes_outside_the_folder_or_with_entities_are_refused(ojs: OjsSite, tmp_path: Path) -> None:
    folder = _schemas(tmp_path)
    xml = _xml(ojs, tmp_path)
    assert validate_native(xml, folder) == []
    shutil.copy(SCHEMA_DIR / "pkp-native.xsd", tmp_path / "outside.xsd")
    native = folder / "native.xsd"
    good = native.read_bytes()
    native.write_bytes(good.replace(b'schemaLocation="pkp-native.xsd"', b'schemaLocation="../outside.xsd"'))
    errors = validate_native(xml, folder)
    assert errors and any("outside" in e for e in errors)
    native.write_bytes(good.replace(b"<xs:schema", b'<!DOCTYPE xs:schema [ <!ENTITY e "x"> ]>\n<xs:schema', 1))
    assert any("cannot be loaded" in e for e in validate_native(xml, folder))
    native.unlink()
    assert validate_native(xml, folder) == ["native.xsd: the package bundles no native.xsd"]


def test_schema_errors_name_the_line(ojs: OjsSite, tmp_path: Path) -> None:
    folder = _schemas(tmp_path)
    xml = _xml(ojs, tmp_path)
    xml.write_bytes(xml.read_bytes().replace(b"<pages>", b"<unknown/><pages>", 1))
    [error] = validate_native(xml, folder)
    assert error.startswith("Issue.xml:") and "unknown" in error


def test_a_zip_with_path_traversal_is_still_refused(ojs: OjsSite, tmp_path: Path) -> None:
    src = zipfile.ZipFile(io.BytesIO(build_package(ojs, ojs.issues[0], UUID)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in src.namelist():
            zf.writestr(name, src.read(name))
        zf.writestr("../evil.txt", b"x")
    assert "P001" in rejected_codes(tmp_path, buf.getvalue())


def test_an_ojs_bag_without_native_xml_is_refused(ojs: OjsSite, tmp_path: Path) -> None:
    def drop(data: Path) -> None:
        (data / f"Issue{UUID}.xml").unlink()

    assert "P062" in rejected_codes(tmp_path, _rebag(tmp_path, build_package(ojs, ojs.issues[0], UUID), drop))


def test_invalid_orcid_is_a_finding_and_locales_become_bcp47(ojs: OjsSite, tmp_path: Path) -> None:
    xml = _xml(ojs, tmp_path)
    data = xml.read_bytes()
    first_orcid = data.index(b"https://orcid.org/") + len(b"https://orcid.org/")
    xml.write_bytes(data[:first_orcid] + b"0000-0000-0000-0000" + data[first_orcid + 19 :])
    issue = read_native(xml)
    assert [f.code for f in issue.findings] == ["P052"]
    assert len(issue.articles) == len(ojs.issues[0].articles)
    assert [bcp47(x) for x in ("en_US", "en", "fr_CA", "fr_FR", "pt_BR", "sr_RS@latin")] == [
        "en",
        "en",
        "fr-CA",
        "fr",
        "pt-BR",
        "sr-Latn-RS",
    ]


def test_an_ojs_3_0_article_without_publication_is_read(tmp_path: Path) -> None:
    xml = tmp_path / "Submission.xml"
    xml.write_text(
        '<article xmlns="http://pkp.sfu.ca" locale="fr_CA"><id type="internal">7</id>'
        '<submission_file id="3"><revision><name>a.pdf</name><href src="files/a.pdf"/></revision></submission_file>'
        '<id type="doi">https://doi.org/10.5555/X.1</id><title locale="fr_CA">Le titre</title>'
        '<subtitle locale="fr_CA">sous-titre</subtitle><abstract locale="fr_CA">&lt;p&gt;Un &amp;amp; deux&lt;/p&gt;'
        "</abstract><authors><author><givenname>Ana</givenname><familyname>Lé</familyname>"
        "<orcid>https://orcid.org/0000-0002-1825-0097</orcid></author></authors><pages>5</pages>"
        '<article_galley><submission_file_ref id="3"/></article_galley></article>',
        encoding="utf-8",
    )
    [article] = read_native(xml).articles
    assert article.meta.title == "Le titre: sous-titre" and article.meta.doi == "10.5555/x.1"
    assert article.meta.language == "fr-CA" and article.meta.abstract == "Un & deux"
    assert article.meta.contributors[0].orcid == "0000-0002-1825-0097" and article.meta.first_page == "5"
