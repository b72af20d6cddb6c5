"""The sitemap index and KBART cost what they output (issue 16): the index finds the id ranges holding released items
with one statement and counts the other pages in the database, and both agree exactly with what the parts list;
KBART is written title by title, a batch at a time, reads "preserved" from what each AU keeps (never asking the store
object by object), and says the same as the whole report, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from portal_fixtures import Archive

from strongroom.catalog.models import ArchivalUnit, Publisher, Title
from strongroom.errors import NotFound
from strongroom.formats import kbart
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.portal.feeds import FIXED_PAGES, SitemapPlan, page_paths
from strongroom.services import title_summaries
from strongroom.services.holdings import HoldingsReports, Scope

NOW = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)


def test_the_index_finds_the_same_ranges_and_counts_the_pages_it_lists(archive: Archive) -> None:
    released = archive.node.released()
    last = released.last_item_id()
    for size in (1, 2, 3, 5, 7, 1000):
        probed = [
            n for n in range(1, -(-last // size) + 1) if released.any_released_between((n - 1) * size + 1, n * size)
        ]
        assert released.released_ranges(size) == probed, size
    volumes = released.title_volumes()
    assert released.page_counts() == (
        len(released.countries()),
        len(released.publishers()),
        len(volumes),
        sum(len(v) for _, _, v in volumes),
    )
    assert SitemapPlan(released, 7).page_count == len(page_paths(released))


def _au(title: Title, n: int, *, released: bool = True, items: int = 3, **kept: Any) -> ArchivalUnit:
    return ArchivalUnit(
        key=f"{title.key}/au-{n}",
        title=title,
        label=str(n),
        state="collected",
        object_id=f"strongroom:au/{title.key}/au-{n}",
        head_version=kept.pop("head_version", 1),
        item_count=items,
        created_at=NOW,
        updated_at=NOW,
        released_at=NOW if released else None,
        **kept,
    )


@pytest.fixture
def shaped(node: Node) -> Node:
    """Titles whose AUs share volumes, hold none, hold nothing, or are dark; and AUs audited well and badly."""
    with node.catalog.session() as s:
        ghana = Publisher(key="gh-press", name="GH Press", country="GH", created_at=NOW)
        nowhere = Publisher(key="no-country", name="Nowhere Press", country=None, created_at=NOW)
        shared = Title(
            key="issn:1111-1111", name="Shared volumes", publisher=ghana, issn_print="1111-1111", created_at=NOW
        )
        empty = Title(key="issn:2222-2222", name="Empty AU", publisher=ghana, created_at=NOW)
        dark = Title(key="issn:3333-3333", name="Dark", publisher=nowhere, created_at=NOW)
        flat = Title(key="issn:4444-4444", name="No volumes", publisher=nowhere, created_at=NOW)
        issue = [["1", "1", "2024-03-01", 2024]]
        s.add_all(
            [
                _au(shared, 1, volumes=[["1", 2024, 2]], issues=issue),
                _au(shared, 2, volumes=[["1", 2024, 1], ["2", 2025, 2]], issues=[["2", "1", "2025-02-01", 2025]]),
                _au(shared, 3, last_audit_ok=False, issues=[["3", "1", "2026-01-01", 2026]]),  # found damaged
                _au(shared, 4, head_version=0, issues=[["4", "1", "2026-06-01", 2026]]),  # never committed
                _au(empty, 1, items=0, volumes=[["9", 2020, 0]]),
                _au(dark, 1, released=False, volumes=[["7", 2019, 3]], issues=issue),
                _au(flat, 1, volumes=[], last_audit_ok=True, issues=issue),
            ]
        )
        s.flush()
        title_summaries.rebuild(s.connection())  # AUs written here, not through the services that keep them
        s.commit()
    return node


def test_pages_are_counted_once_per_title_and_volume_of_released_content(shaped: Node) -> None:
    released = shaped.released()
    # GH (the only country), both publishers, the two titles with released items, volumes 1 and 2 of one title
    assert released.page_counts() == (1, 2, 2, 2)
    assert FIXED_PAGES + sum(released.page_counts()) == len(page_paths(released))


class NoStore:
    """A store that must not be asked: the reports read what each AU keeps."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store was asked: {name}")


def test_kbart_reads_preserved_from_the_aus_and_never_asks_the_store(shaped: Node) -> None:
    alone = SimpleNamespace(joined=False)
    reports = HoldingsReports(
        shaped.catalog,
        NoStore(),
        alone,
        lambda: None,
        provider="P",
        base_url="http://x",  # type: ignore[arg-type]
    )
    report = reports.report()
    assert report.basis == "held by this node, which is in no network: one copy"
    shared = next(t for t in report.titles if t.key == "issn:1111-1111")
    assert [(i.volume, i.preserved) for i in shared.issues] == [("1", True), ("2", True), ("3", False)]
    preserved, _ = reports.preserved(au.object_id for au, *_ in shaped.catalog.aus())
    assert {o.rsplit("/", 1)[1] for o in preserved if "1111" in o} == {"au-1", "au-2"}
    assert "strongroom:au/issn:4444-4444/au-1" in preserved  # audited intact
    assert "strongroom:au/issn:3333-3333/au-1" in preserved  # dark, but held: preserved is not released
    rows = [dict(zip(kbart.COLUMNS, line.rstrip("\n").split("\t"), strict=True)) for line in reports.kbart_lines()[1]]
    assert [(r["title_id"], r["num_first_vol_online"]) for r in rows[1:]] == [
        ("issn:3333-3333", "1"),
        ("issn:4444-4444", "1"),
        ("issn:1111-1111", "1"),
    ]
    assert rows[3]["num_last_vol_online"] in ("2", "")  # (blank: runs to the present); never 3 (damaged) or 4
    assert reports.title("issn:1111-1111") == shared


@pytest.fixture
def holdings(archive: Archive) -> Iterator[HoldingsReports]:
    reports = archive.node.holdings
    batch = reports.batch
    yield reports
    reports.batch = batch


@pytest.mark.parametrize("batch", [1, 2, 500])
def test_kbart_written_title_by_title_says_what_the_whole_report_says(
    archive: Archive, holdings: HoldingsReports, batch: int
) -> None:
    holdings.batch = batch
    report = holdings.report()
    name, lines = holdings.kbart_lines()
    assert name == kbart.file_name(holdings.provider, "AllTitles", report.generated.date())
    assert next(lines) == "\t".join(kbart.COLUMNS) + "\n"
    text = "\t".join(kbart.COLUMNS) + "\n" + "".join(lines)
    assert text == kbart.write(report.titles, generated=report.generated.date())
    assert len(text.splitlines()) == 7  # six titles, one coverage run each
    for t in report.titles:
        assert holdings.title(t.key) == t  # one title's page reads that title only, and says the same
    with pytest.raises(NotFound):
        holdings.kbart_lines(Scope(publisher="nobody"))  # refused before the first line, not while streaming


def test_the_portal_streams_kbart(archive: Archive) -> None:
    with TestClient(create_portal(archive.node), base_url="http://127.0.0.1:8080") as client:
        response = client.get("/holdings/kbart.txt")
        assert response.status_code == 200 and "content-length" not in response.headers  # streamed
        assert response.text == archive.node.holdings.kbart()[1]
        assert client.get("/holdings/kbart/publishers/nobody.txt").status_code == 404
