"""Holdings reports (issue 15 item 4) on an archive holding released and dark content side by side: KBART checked
column by column, the ONIX-PH feed well-formed and holding exactly the preserved issues, DOAJ's values, the
command line, and the portal's stable addresses, which never carry an item, an abstract or a file."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from portal_fixtures import Archive, follow_pages
from sqlalchemy import select

from strongroom.catalog.models import ArchivalUnit, Item, Publisher, Title
from strongroom.domain.names import sort_key
from strongroom.errors import NotFound
from strongroom.formats import kbart
from strongroom.formats.holdings import Holdings, IssueHolding, TitleHolding
from strongroom.formats.onix_ph import write as onix_write
from strongroom.formats.xmlsafe import parse_xml
from strongroom.network.config import NetworkPolicy
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.services import keyset
from strongroom.services.holdings import HoldingsReports, Scope
from strongroom.services.network_status import CopyStatus, NetworkCopies

# The 25 columns of KBART Phase II (NISO RP-9-2014), in order, as written in the recommended practice.
KBART_COLUMNS = [
    "publication_title",
    "print_identifier",
    "online_identifier",
    "date_first_issue_online",
    "num_first_vol_online",
    "num_first_issue_online",
    "date_last_issue_online",
    "num_last_vol_online",
    "num_last_issue_online",
    "title_url",
    "first_author",
    "title_id",
    "embargo_info",
    "coverage_depth",
    "notes",
    "publisher_name",
    "publication_type",
    "date_monograph_published_print",
    "date_monograph_published_online",
    "monograph_volume",
    "monograph_edition",
    "first_editor",
    "parent_publication_title_id",
    "preceding_publication_title_id",
    "access_type",
]
ONIX = "{http://www.editeur.org/onix/serials/SOH}"
BASE = "http://127.0.0.1:8080"
EAST = "issn:3907-6563"  # East African Journal of Public Health: released whole
GHANA = "issn:7631-7064"  # Ghana Journal of Agricultural Science: 2023 released, 2024 dark


@pytest.fixture(scope="module")
def client(archive: Archive) -> Iterator[TestClient]:
    with TestClient(create_portal(archive.node), base_url=BASE) as c:
        yield c


def issues_in_catalog(archive: Archive, au_keys: set[str] | None = None) -> set[tuple[str, str, str]]:
    """(ISSN, volume, issue) of every enumerated issue the catalog holds (in ``au_keys``), read straight from it."""
    with archive.node.catalog.session() as s:
        rows = s.execute(
            select(Title.issn_online, Title.issn_print, ArchivalUnit.key, Item.volume, Item.issue)
            .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
            .join(Title, ArchivalUnit.title_id == Title.id)
            .where(Item.volume.is_not(None))
        ).all()
    return {(o or p, v, i) for o, p, au, v, i in rows if au_keys is None or au in au_keys}


def parse_tsv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    assert text.endswith("\n") and "\r" not in text
    header, *lines = [line.split("\t") for line in text[:-1].split("\n")]
    assert all(len(line) == 25 for line in lines)
    return header, [dict(zip(header, line, strict=True)) for line in lines]


def test_kbart_is_checked_column_by_column(archive: Archive) -> None:
    name, text = archive.node.holdings.kbart()
    assert name == "StrongroomTestArchive_Global_AllTitles_2026-01-15.txt"
    header, rows = parse_tsv(text)
    assert header == KBART_COLUMNS
    assert [r["publication_title"] for r in rows] == sorted((r["publication_title"] for r in rows), key=sort_key)
    assert len(rows) == 6  # six titles, each deposited for 2023 and 2024 without a gap of 12 months
    east = next(r for r in rows if r["title_id"] == EAST)
    assert east == {
        "publication_title": "East African Journal of Public Health",
        "print_identifier": "8962-2464",
        "online_identifier": "3907-6563",
        "date_first_issue_online": "2023-01-12",
        "num_first_vol_online": "1",
        "num_first_issue_online": "1",
        "date_last_issue_online": "2024-07-14",
        "num_last_vol_online": "2",
        "num_last_issue_online": "2",
        "title_url": f"{BASE}/holdings/titles/{EAST}/",
        "first_author": "",
        "title_id": EAST,
        "embargo_info": "",
        "coverage_depth": "fulltext",
        "notes": kbart.NOTE_RELEASED,
        "publisher_name": "Nairobi Health Sciences Publishers",
        "publication_type": "serial",
        "date_monograph_published_print": "",
        "date_monograph_published_online": "",
        "monograph_volume": "",
        "monograph_edition": "",
        "first_editor": "",
        "parent_publication_title_id": "",
        "preceding_publication_title_id": "",
        "access_type": "F",
    }
    ghana = next(r for r in rows if r["title_id"] == GHANA)  # partly released: not free to read as a whole
    assert (ghana["access_type"], ghana["notes"]) == ("P", kbart.NOTE_DARK)
    for row in rows:
        assert row["publication_type"] == "serial" and row["coverage_depth"] == "fulltext"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["date_first_issue_online"])
        assert row["date_first_issue_online"] <= row["date_last_issue_online"]
        assert row["title_url"] == f"{BASE}/holdings/titles/{row['title_id']}/"
    assert {r["title_id"] for r in rows if r["access_type"] == "F"} == {EAST}


def test_kbart_per_publisher_and_per_programme(archive: Archive) -> None:
    node = archive.node
    ghana_publisher = "kumasi-academic-press-gh"
    name, text = node.holdings.kbart(Scope(publisher=ghana_publisher))
    assert name == "StrongroomTestArchive_Global_KumasiAcademicPressGh_2026-01-15.txt"
    assert [r["title_id"] for r in parse_tsv(text)[1]] == [GHANA]
    with pytest.raises(NotFound):
        node.holdings.kbart(Scope(publisher="no-such-publisher"))
    name, text = node.holdings.kbart(Scope(programme=True))
    assert name.split("_")[2] == "AccessProgramme" and parse_tsv(text)[1] == []  # nothing enrolled yet
    node.programme.enroll(GHANA, {"A"}, by="test")
    assert [r["title_id"] for r in parse_tsv(node.holdings.kbart(Scope(programme=True))[1])[1]] == [GHANA]
    node.programme.withdraw(GHANA, by="test")
    assert parse_tsv(node.holdings.kbart(Scope(programme=True))[1])[1] == []


def _holding(*issues: tuple[str, str, dt.date, bool], kind: str = "journal") -> TitleHolding:
    return TitleHolding(
        "issn:1234-5678",
        "A\tTitle",
        kind,
        "1234-5678",
        None,
        None,
        "p",
        "P",
        "u",
        False,
        tuple(IssueHolding(v, i, d, "au", p) for v, i, d, p in issues),
    )


def test_kbart_repeats_a_title_after_a_gap_of_twelve_months_and_lists_preserved_issues_only() -> None:
    title = _holding(
        ("1", "1", dt.date(2019, 1, 1), True),
        ("1", "2", dt.date(2019, 7, 1), True),
        ("1", "3", dt.date(2019, 10, 1), False),  # held, not preserved: not listed
        ("3", "1", dt.date(2020, 7, 1), True),  # exactly 12 months after 1(2): a new row
        ("10", "1", dt.date(2020, 9, 1), True),
    )
    rows = [dict(zip(KBART_COLUMNS, r, strict=True)) for r in kbart.rows([title])]
    assert [(r["num_first_vol_online"], r["num_first_issue_online"], r["num_last_issue_online"]) for r in rows] == [
        ("1", "1", "2"),
        ("3", "1", "1"),
    ]
    assert rows[1]["num_last_vol_online"] == "10" and rows[1]["date_last_issue_online"] == "2020-09-01"
    assert rows[0]["publication_title"] == "A Title"  # a tab would break the row
    assert kbart.rows([_holding(("1", "1", dt.date(2019, 1, 1), False))]) == []
    assert kbart.file_name("Strongroom node at Dakar", "my_package", dt.date(2026, 12, 1)) == (
        "StrongroomNodeAtDakar_Global_MyPackage_2026-12-01.txt"
    )


def test_kbart_dates_at_the_precision_known_and_books_as_monographs() -> None:
    title = _holding(("4", "1", dt.date(2021, 1, 1), True), ("4", "2", dt.date(2021, 6, 5), True))
    year_only = replace(title, issues=(replace(title.issues[0], exact=False), title.issues[1]))
    [row] = [dict(zip(KBART_COLUMNS, r, strict=True)) for r in kbart.rows([year_only])]
    assert (row["date_first_issue_online"], row["date_last_issue_online"]) == ("2021", "2021-06-05")
    feed = parse_xml(onix_write(Holdings("P", BASE, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "b", (year_only,))), "x")
    dates = [(d.findtext(f"{ONIX}DateFormat"), d.findtext(f"{ONIX}Date")) for d in feed.iter(f"{ONIX}NominalDate")]
    assert dates == [("05", "2021"), ("00", "20210605")]
    book = replace(title, kind="book", isbn="9780306406157", issn_print=None, issues=(title.issues[1],))
    [row] = [dict(zip(KBART_COLUMNS, r, strict=True)) for r in kbart.rows([book])]
    assert row["publication_type"] == "monograph" and row["print_identifier"] == "9780306406157"
    assert row["date_monograph_published_online"] == "2021" and row["date_first_issue_online"] == ""


def onix_issues(feed: bytes) -> set[tuple[str, str, str]]:
    root = parse_xml(feed, "onix.xml")
    found = set()
    for record in root.iter(f"{ONIX}HoldingsRecord"):
        issn = record.findtext(f"{ONIX}ResourceVersion/{ONIX}ResourceVersionIdentifier/{ONIX}IDValue")
        for detail in record.iter(f"{ONIX}PackageDetail"):
            assert detail.findtext(f"{ONIX}PreservationStatus/{ONIX}PreservationStatusCode") == "05"
            numbers = {
                lvl.findtext(f"{ONIX}Unit"): lvl.findtext(f"{ONIX}Number")
                for lvl in detail.iter(f"{ONIX}Level1", f"{ONIX}Level2")
            }
            key = (issn, numbers["Volume"], numbers["Issue"])
            assert key not in found, f"{key} listed twice"
            found.add(key)
    return found


def test_onix_ph_is_well_formed_and_holds_every_preserved_issue(archive: Archive, client: TestClient) -> None:
    response = client.get("/holdings/onix.xml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    assert response.headers["x-content-type-options"] == "nosniff"
    root = parse_xml(response.content, "onix.xml")
    assert root.tag == f"{ONIX}ONIXPreservationHoldings" and root.get("version") == "0.2"
    header = root.find(f"{ONIX}Header")
    assert header is not None
    assert header.findtext(f"{ONIX}Sender/{ONIX}SenderName") == "Strongroom test archive"
    assert header.findtext(f"{ONIX}SentDateTime") == "20260115"
    assert header.find(f"{ONIX}CompleteFile") is not None
    listing = root.find(f"{ONIX}HoldingsList")
    assert listing is not None
    assert listing.findtext(f"{ONIX}PreservationAgency/{ONIX}PreservationAgencyName") == "Strongroom test archive"
    # a single node: every AU it holds is preserved (one copy), so every enumerated issue is listed
    assert onix_issues(response.content) == issues_in_catalog(archive)
    record = next(root.iter(f"{ONIX}HoldingsRecord"))
    assert [c.tag.removeprefix(ONIX) for c in record] == ["NotificationType", "ResourceVersion"]
    assert record.findtext(f"{ONIX}NotificationType") == "00"
    assert record.findtext(f".//{ONIX}ResourceVersionIDType") == "07"
    assert record.findtext(f".//{ONIX}Website/{ONIX}WebsiteRole") == "05"
    detail = record.find(f".//{ONIX}PackageDetail")
    assert detail is not None
    assert detail.findtext(f"{ONIX}Coverage/{ONIX}CoverageDescriptionLevel") == "03"
    assert re.fullmatch(r"\d{8}", detail.findtext(f".//{ONIX}NominalDate/{ONIX}Date") or "")
    assert detail.findtext(f"{ONIX}VerificationStatus") == "01"


def network_reports(archive: Archive, preserved: set[str], asked: list[int] | None = None) -> HoldingsReports:
    """The node's reports as a member of a network whose members hold enough copies of ``preserved`` only (the
    answer ``network status`` would compute from the members' listings); ``asked`` counts the questions."""
    joined = SimpleNamespace(joined=True, config=lambda: SimpleNamespace(policy=NetworkPolicy()))
    node = archive.node

    def ask() -> set[str]:
        if asked is not None:
            asked.append(1)
        return set(preserved)

    return HoldingsReports(
        node.catalog,
        node.store,
        joined,
        ask,
        provider="Net",
        base_url=BASE,
    )


def test_in_a_network_the_feed_holds_exactly_the_preserved_issues(archive: Archive) -> None:
    aus = {au.key: au.object_id for au, *_ in archive.node.catalog.aus()}
    chosen = {f"{GHANA}/2023", f"{EAST}/2024"}
    reports = network_reports(archive, {aus[k] for k in chosen})
    report = reports.report()
    assert "at least 5 members" in report.basis and "3 countries" in report.basis
    assert onix_issues(onix_write(report)) == issues_in_catalog(archive, chosen)
    rows = parse_tsv(kbart.write(report.titles))[1]
    assert [(r["title_id"], r["date_first_issue_online"][:4], r["date_last_issue_online"][:4]) for r in rows] == [
        (EAST, "2024", "2024"),
        (GHANA, "2023", "2023"),
    ]
    values = {v["key"]: v for v in reports.doaj()}
    assert values[GHANA]["has_preservation"] and values[GHANA]["coverage"] == "2023/2023"
    jarida = next(k for k, v in values.items() if v["title"] == "Jarida la Sayansi ya Kilimo")
    assert values[jarida] | {"title": None, "key": None, "issn_print": None, "issn_online": None} == {
        "title": None,
        "key": None,
        "issn_print": None,
        "issn_online": None,
        "has_preservation": False,
        "service": [],
        "service_other": None,
        "national_library": [],
        "url": None,
        "policy_url": f"{BASE}/holdings/",
        "coverage": None,
        "preserved_issues": 0,
    }
    nothing = network_reports(archive, set()).report()
    assert b"HoldingsRecord" not in onix_write(nothing) and kbart.rows(nothing.titles) == []


def test_doaj_values_for_each_title(archive: Archive) -> None:
    values = archive.node.holdings.doaj()
    assert len(values) == 6 and all(v["has_preservation"] for v in values)
    east = next(v for v in values if v["key"] == EAST)
    assert east["service"] == ["other"] and east["service_other"] == "Strongroom test archive"
    assert east["url"] == f"{BASE}/holdings/titles/{EAST}/" and east["coverage"] == "2023/2024"
    assert "held by this node" in archive.node.holdings.report().basis


def sr(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli.main", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_the_command_line_writes_the_three_reports(archive: Archive, tmp_path: Path) -> None:
    done = sr(archive.home, "holdings", "kbart", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    [written] = tmp_path.iterdir()
    assert re.fullmatch(r"StrongroomTestArchive_Global_AllTitles_\d{4}-\d{2}-\d{2}\.txt", written.name)
    assert parse_tsv(written.read_text(encoding="utf-8")) == parse_tsv(archive.node.holdings.kbart()[1])
    done = sr(archive.home, "holdings", "kbart", "--publisher", "kumasi-academic-press-gh")
    assert [r["title_id"] for r in parse_tsv(done.stdout)[1]] == [GHANA]
    done = sr(archive.home, "holdings", "kbart", "--publisher", "nobody")
    assert done.returncode != 0 and "no publisher 'nobody'" in done.stderr
    done = sr(archive.home, "holdings", "onix", "--output", str(tmp_path / "feed.xml"))
    assert done.returncode == 0, done.stderr
    assert onix_issues((tmp_path / "feed.xml").read_bytes()) == issues_in_catalog(archive)
    done = sr(archive.home, "holdings", "doaj", "--json")
    assert [v["key"] for v in json.loads(done.stdout)] == [v["key"] for v in archive.node.holdings.doaj()]
    done = sr(archive.home, "holdings", "doaj")
    assert "Long-term preservation service: Other" in done.stdout and f"/holdings/titles/{EAST}/" in done.stdout


def test_the_portal_serves_them_at_stable_addresses(archive: Archive, client: TestClient) -> None:
    expected: dict[str, tuple[str, Any]] = {
        "/holdings/kbart.txt": ("text/tab-separated-values; charset=utf-8", archive.node.holdings.kbart()[1]),
        "/holdings/kbart/programme.txt": ("text/tab-separated-values; charset=utf-8", None),
        "/holdings/kbart/publishers/kumasi-academic-press-gh.txt": ("text/tab-separated-values; charset=utf-8", None),
        "/holdings/doaj.json": ("application/json", None),
    }
    for path, (kind, body) in expected.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == kind
        assert response.headers["x-content-type-options"] == "nosniff"
        if body is not None:
            assert response.text == body
    disposition = client.get("/holdings/kbart.txt").headers["content-disposition"]
    assert disposition == 'inline; filename="StrongroomTestArchive_Global_AllTitles_2026-01-15.txt"'
    assert client.get("/holdings/kbart/publishers/nobody.txt").status_code == 404
    assert client.get("/holdings/titles/issn:0000-0000/").status_code == 404
    assert client.get("/holdings/doaj.json").json() == json.loads(json.dumps(archive.node.holdings.doaj()))
    page = client.get(f"/fr/holdings/titles/{GHANA}/")
    assert page.status_code == 200 and "Numéros préservés" in page.text and "Lire le contenu ouvert" in page.text
    index = client.get("/holdings/")
    assert index.status_code == 200 and all(f"/holdings/titles/{k}/" in index.text for k in archive.dark_titles)


def test_holdings_never_carry_dark_items(archive: Archive, client: TestClient) -> None:
    """What is preserved is public; what is in it is not: no holdings answer names an item, a DOI, an abstract or a
    file of dark content."""
    with archive.node.catalog.session() as s:
        dark = s.execute(
            select(Item.title, Item.abstract, Item.public_id)
            .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
            .where(ArchivalUnit.released_at.is_(None))
        ).all()
    secrets = {t for t, _, _ in dark if t} | {a[:60] for _, a, _ in dark if a} | archive.dark_ids | archive.dark_dois
    secrets |= {name for names in archive.dark_files.values() for name in names}
    paths = ["/holdings/", "/holdings/kbart.txt", "/holdings/onix.xml", "/holdings/doaj.json"]
    paths += [f"/holdings/titles/{k}/" for k in [*archive.dark_titles, *archive.released_titles]]
    for path in paths:
        text = client.get(path).text
        assert not [x for x in secrets if x and x in text], path
    key = next(iter(archive.dark_titles))
    page = client.get(f"/holdings/titles/{key}/").text
    assert f"/titles/{key}/" not in page.replace("/holdings/titles/", "")  # no link to content not released


def test_the_members_answer_is_reused_for_a_while(archive: Archive) -> None:
    asked: list[int] = []
    joined = [True]

    def ask() -> list[CopyStatus]:
        asked.append(1)
        return [CopyStatus("o1", "au/1", ["n1"], {"n1": 1}, ["GH"], True, None)]

    copies = NetworkCopies(ask, lambda: joined[0], archive.node.clock, max_age=60)  # the clock steps 1 s a reading
    reports = network_reports(archive, set())
    reports.network_preserved = copies.preserved  # as the node wires it: one answer for every report and page
    reports.report()
    reports.report()
    assert copies.copies() is not None
    assert len(asked) == 1
    for _ in range(61):
        archive.node.clock.now()
    assert copies.preserved() == {"o1"}
    assert len(asked) == 2
    uncached = NetworkCopies(ask, lambda: True, archive.node.clock, max_age=0)
    uncached.copies()
    uncached.copies()
    assert len(asked) == 4
    joined[0] = False
    assert copies.copies() is None and copies.preserved() is None  # in no network, nobody is asked
    assert len(asked) == 4


def test_a_report_is_reused_for_its_max_age_then_made_again(archive: Archive) -> None:
    reports = network_reports(archive, set())
    assert reports.report() is not reports.report()  # by default (the CLI, tests) every report is made afresh
    reports.max_age = 30  # as `portal serve` sets it
    first = reports.report()
    assert reports.report() is first and reports.report(Scope(programme=True)) is not first
    for _ in range(31):  # the fixed clock steps 1 s per reading
        archive.node.clock.now()
    again = reports.report()
    assert again is not first and again.titles == first.titles


LAST_ISSUE = ("date_last_issue_online", "num_last_vol_online", "num_last_issue_online")


def kbart_row(title: TitleHolding, generated: dt.date | None) -> dict[str, str]:
    [row] = [dict(zip(KBART_COLUMNS, r, strict=True)) for r in kbart.rows([title], generated=generated)]
    return row


def test_kbart_leaves_the_last_issue_blank_when_coverage_runs_to_the_present() -> None:
    """A serial still being preserved as it appears (its last preserved issue in the report's year or the one
    before, neither released nor ceased) runs to the present: KBART's three last-issue fields are blank, and every
    other column is as it would be otherwise."""
    title = _holding(("5", "1", dt.date(2025, 1, 10), True), ("5", "2", dt.date(2025, 7, 1), True))
    closed = kbart_row(title, dt.date(2027, 1, 1))  # two calendar years on: the coverage ends at 5(2)
    assert [closed[c] for c in LAST_ISSUE] == ["2025-07-01", "5", "2"]
    for generated in (dt.date(2025, 9, 1), dt.date(2026, 1, 1), dt.date(2026, 12, 31)):
        open_row = kbart_row(title, generated)
        assert [open_row[c] for c in LAST_ISSUE] == ["", "", ""], generated
        assert {c: v for c, v in open_row.items() if c not in LAST_ISSUE} == {
            c: v for c, v in closed.items() if c not in LAST_ISSUE
        }
    assert open_row == {
        "publication_title": "A Title",
        "print_identifier": "1234-5678",
        "online_identifier": "",
        "date_first_issue_online": "2025-01-10",
        "num_first_vol_online": "5",
        "num_first_issue_online": "1",
        "date_last_issue_online": "",
        "num_last_vol_online": "",
        "num_last_issue_online": "",
        "title_url": "u",
        "first_author": "",
        "title_id": "issn:1234-5678",
        "embargo_info": "",
        "coverage_depth": "fulltext",
        "notes": kbart.NOTE_DARK,
        "publisher_name": "P",
        "publication_type": "serial",
        "date_monograph_published_print": "",
        "date_monograph_published_online": "",
        "monograph_volume": "",
        "monograph_edition": "",
        "first_editor": "",
        "parent_publication_title_id": "",
        "preceding_publication_title_id": "",
        "access_type": "P",
    }
    # no report date: never said to run to the present
    assert [kbart_row(title, None)[c] for c in LAST_ISSUE] == ["2025-07-01", "5", "2"]
    # released by a trigger, or its publisher ceased: no further issue will come
    released = kbart_row(replace(title, released=True), dt.date(2026, 1, 1))
    assert [released[c] for c in LAST_ISSUE] == ["2025-07-01", "5", "2"] and released["access_type"] == "F"
    ceased = kbart_row(replace(title, ceased=True), dt.date(2026, 1, 1))
    assert [ceased[c] for c in LAST_ISSUE] == ["2025-07-01", "5", "2"]
    # an undated last issue says nothing about the present
    undated = replace(title, issues=(*title.issues, IssueHolding("5", "3", None, "au", True)))
    assert [kbart_row(undated, dt.date(2026, 1, 1))[c] for c in LAST_ISSUE] == ["", "5", "3"]


def test_only_the_last_run_of_a_title_runs_to_the_present() -> None:
    title = _holding(
        ("1", "1", dt.date(2019, 1, 1), True),
        ("1", "2", dt.date(2019, 7, 1), True),
        ("7", "1", dt.date(2025, 3, 1), True),  # after a gap: a new row
        ("7", "2", dt.date(2026, 2, 1), False),  # held, not preserved: the row ends at 7(1)
    )
    rows = [dict(zip(KBART_COLUMNS, r, strict=True)) for r in kbart.rows([title], generated=dt.date(2026, 6, 1))]
    assert [[r[c] for c in ("date_first_issue_online", *LAST_ISSUE)] for r in rows] == [
        ["2019-01-01", "2019-07-01", "1", "2"],
        ["2025-03-01", "", "", ""],
    ]
    book = replace(title, kind="book", isbn="9780306406157", issn_print=None, issues=(title.issues[2],))
    row = kbart_row(book, dt.date(2026, 6, 1))
    assert (row["date_last_issue_online"], row["num_last_vol_online"], row["num_last_issue_online"]) == ("", "7", "1")


def test_the_reports_kbart_knows_released_and_ceased_titles(archive: Archive) -> None:
    """The node's report carries what the rule needs: the title released by a trigger keeps its last issue, a dark
    one still coming in does not, and a publisher marked ceased in the catalog closes its titles' coverage."""
    report = archive.node.holdings.report()
    assert all(t.issues and max(i.year or 0 for i in t.issues) == 2024 for t in report.titles)
    # the archive's clock says 2026-01-15: 2024 is two years back, so every title's last issue is named
    rows = parse_tsv(archive.node.holdings.kbart()[1])[1]
    assert all(r["date_last_issue_online"].startswith("2024") for r in rows)
    # as of 2025, a title whose last issue is of 2024 runs to the present, unless it is released
    in_2025 = {r["title_id"]: r for r in parse_tsv(kbart.write(report.titles, generated=dt.date(2025, 3, 1)))[1]}
    assert [in_2025[EAST][c] for c in LAST_ISSUE] == ["2024-07-14", "2", "2"]  # released whole
    assert [in_2025[GHANA][c] for c in LAST_ISSUE] == ["", "", ""]
    with archive.node.catalog.session() as s:
        publisher = s.scalars(select(Publisher).where(Publisher.key == "kumasi-academic-press-gh")).one()
        publisher.status = "ceased"
        s.commit()
    try:
        ghana = next(t for t in archive.node.holdings.report().titles if t.key == GHANA)
        assert ghana.ceased and not ghana.released
        [row] = parse_tsv(kbart.write([ghana], generated=dt.date(2025, 3, 1)))[1]
        assert row["date_last_issue_online"].startswith("2024") and row["num_last_vol_online"]
    finally:
        with archive.node.catalog.session() as s:
            publisher = s.scalars(select(Publisher).where(Publisher.key == "kumasi-academic-press-gh")).one()
            publisher.status = "active"
            s.commit()


@pytest.mark.parametrize(
    ("lang", "label"),
    [("", "Holdings"), ("/fr", "Fonds préservés"), ("/es", "Fondos preservados"), ("/pt", "Acervo preservado")],
)
def test_every_page_links_to_the_holdings_room(client: TestClient, lang: str, label: str) -> None:
    for path in ("/", "/titles/", f"/holdings/titles/{GHANA}/"):
        page = client.get(f"{lang}{path}")
        assert page.status_code == 200
        nav = page.text.split("<nav", 1)[1].split("</nav>", 1)[0]
        assert f'<a href="{lang}/holdings/">{label}</a>' in nav, path


def test_the_static_export_holds_the_holdings_room(archive: Archive, client: TestClient, tmp_path: Path) -> None:
    from strongroom.portal.static import export_static

    dest = tmp_path / "site"
    export_static(archive.node, dest)
    report = archive.node.holdings.report()
    assert len(report.titles) == 6
    for lang in ("", "/fr", "/es", "/pt"):
        index = (dest / lang.lstrip("/") / "holdings" / "index.html").read_text(encoding="utf-8")
        assert all(f"/holdings/titles/{t.key}/" in index for t in report.titles)
        for t in report.titles:
            page = dest / lang.lstrip("/") / "holdings" / "titles" / t.key / "index.html"
            assert page.read_bytes() == client.get(f"{lang}/holdings/titles/{t.key}/").content
    publishers = {t.publisher_key for t in report.titles if t.publisher_key}
    assert publishers
    reports = ["kbart.txt", "kbart/programme.txt", "onix.xml", "doaj.json"]
    reports += [f"kbart/publishers/{p}.txt" for p in publishers]
    for name in reports:
        assert (dest / "holdings" / name).read_bytes() == client.get(f"/holdings/{name}").content, name
    # the index links the reports at the addresses written, in every language
    fr_index = (dest / "fr" / "holdings" / "index.html").read_text(encoding="utf-8")
    assert all(f'href="/holdings/{n}"' in fr_index for n in ("kbart.txt", "onix.xml", "doaj.json"))


@pytest.fixture
def two_a_page(archive: Archive) -> Iterator[HoldingsReports]:
    """The node's reports with two titles on a page of the portal's list (the archive's six make three pages)."""
    reports = archive.node.holdings
    reports.page_size = 2
    try:
        yield reports
    finally:
        reports.page_size = 100


def test_the_holdings_list_is_walked_a_page_at_a_time_by_its_next_links(
    archive: Archive, client: TestClient, two_a_page: HoldingsReports
) -> None:
    every = {t.key: t.name for t in archive.node.holdings.report().titles}
    assert len(every) == 6
    for lang, total, next_words in (("", "6 titles", "Next page"), ("/fr", "6 titres", "Page suivante")):
        docs = list(follow_pages(client, f"{lang}/holdings/"))
        assert len(docs) == 3
        links = [a for doc in docs for a in doc.xpath("//ul[@class='list']/li/a[contains(@href, '/holdings/titles/')]")]
        keys = [str(a.get("href")).removeprefix(f"{lang}/holdings/titles/").removesuffix("/") for a in links]
        assert sorted(keys) == sorted(every)  # every title once, none twice
        names = [str(a.text_content()) for a in links]
        assert names == [every[k] for k in keys] and names == sorted(names, key=str.lower)
        for n, doc in enumerate(docs):
            assert total in doc.text_content()  # counted, on every page
            assert bool(doc.xpath("//p[@class='pager']//a[@href='./']")) == (n > 0)  # back to the first page
            assert [str(a.text_content()) for a in doc.xpath("//a[@rel='next']")] == ([next_words] if n < 2 else [])
            assert doc.xpath("//a[@href='/holdings/kbart.txt']")  # the reports are linked from every page
    # the service's pages: the same walk, scoped like the reports
    page = two_a_page.page(Scope(publisher="kumasi-academic-press-gh"))
    assert [t.key for t in page.rows] == [GHANA] and page.total == 1 and page.next is None
    with pytest.raises(NotFound):
        two_a_page.page(Scope(publisher="no-such-publisher"))
    first = two_a_page.page()
    assert first.total == 6 and len(first.rows) == 2 and first.next is not None
    second = two_a_page.page(after=first.next, limit=10)
    assert second.next is None
    # the pages hold each title's holdings as the whole report does (its names are ASCII: the same order too)
    assert first.rows + second.rows == archive.node.holdings.report().titles


@pytest.mark.parametrize(
    "after",
    ["garbage", keyset.encode("x"), keyset.encode(3, "x"), "W10", "%ff%fe", "x" * (keyset.MAX_TOKEN + 5)],
)
def test_a_holdings_page_after_a_position_no_page_gave_is_a_400(
    archive: Archive, client: TestClient, two_a_page: HoldingsReports, after: str
) -> None:
    for lang in ("", "/fr"):
        response = client.get(f"{lang}/holdings/", params={"after": after})
        assert response.status_code == 400, (lang, after)
        assert response.headers["content-type"].startswith("text/html") and "Traceback" not in response.text
    with pytest.raises(keyset.BadCursor):
        two_a_page.page(after=after)
    # a well-made position at the last title (in the database's order) is an empty page, not an error
    with archive.node.catalog.session() as s:
        sort = Title.sort_key
        last = s.execute(select(sort, Title.id).order_by(sort.desc(), Title.id.desc()).limit(1)).one()
    past = client.get("/holdings/", params={"after": keyset.encode(*last)})
    assert past.status_code == 200 and "/holdings/titles/" not in past.text and "6 titles" in past.text


def test_pages_of_titles_with_equal_names_show_each_title_once(node: Node) -> None:
    """Names with equal sort keys are ordered by id, and a page boundary inside such a run loses and repeats none."""
    names = ["journal", "Journal", "JOURNAL", "Annals", "journal", "Zeta", "annals"]
    now = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
    with node.catalog.session() as s:
        s.add_all(Title(key=f"t-{n}", name=name, created_at=now) for n, name in enumerate(names))
    for limit in (1, 2, 3):
        seen: list[str] = []
        after = None
        while True:
            page = node.holdings.page(after=after, limit=limit)
            assert page.total == len(names) and len(page.rows) <= limit
            seen += [t.key for t in page.rows]
            if page.next is None:
                break
            after = page.next
        assert seen == ["t-3", "t-6", "t-0", "t-1", "t-2", "t-4", "t-5"], limit
