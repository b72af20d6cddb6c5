"""Harvesting an OJS-style OAI-PMH feed: tokens followed, OJS's broken tokens survived by date windows,
incremental re-harvests, and clear outcomes for noRecordsMatch, refused tokens and malformed XML."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.harvest.fetch import Fetcher
from strongroom.harvest.oai import OaiHarvester, OaiHarvestError
from strongroom.node import Node
from strongroom.samples.ojs_site import OjsSite, serve_site
from tests_support import add_ojs_title, cli

TITLE = "issn:3907-6563"


@pytest.fixture
def site() -> Iterator[tuple[OjsSite, str]]:
    s = OjsSite()
    with serve_site(s) as url:
        yield s, url


def fast() -> Fetcher:
    return Fetcher(delay=0, retries=1, timeout=5)


def configured(node: Node, ojs: OjsSite, url: str) -> str:
    node.harvests.configure(
        TITLE,
        name=ojs.title.title,
        publisher="Nairobi Health Sciences Publishers",
        country="KE",
        plan="ojs",
        settings={"start_url": f"{url}{ojs.base}/gateway/clockss", "delay": 0},
    )
    return f"{url}{ojs.base}/oai"


def test_tokens_are_followed_and_records_catalogued_by_year(node: Node, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    base = configured(node, ojs, url)
    result = node.oai_harvest.run(TITLE, base, fetcher=fast())
    assert result.records == len(ojs.articles) and result.pages == 3 and not result.fallback  # 12 records, 5 a page
    assert sorted(a for a, _, _ in result.aus) == [f"{TITLE}/2023", f"{TITLE}/2024"]
    items = node.browse.items(limit=100)
    assert {i.doi for i in items} == {a.doi for _, a in ojs.articles.values()}
    assert all(i.title and i.authors and i.abstract for i in items)


def test_broken_tokens_fall_back_to_date_windows(node: Node, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    ojs.state.oai_broken_tokens = True
    base = configured(node, ojs, url)
    result = node.oai_harvest.run(TITLE, base, since="2023-01-01", until="2024-12-31", fetcher=fast())
    assert result.fallback and "refused its own resumption token" in result.notes[0]
    assert result.records == len(ojs.articles)  # nothing lost: every window fitted in one response


def test_a_later_harvest_is_incremental(node: Node, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    ojs.state.hidden_years = {2024}
    base = configured(node, ojs, url)
    assert node.oai_harvest.run(TITLE, base, fetcher=fast()).records == 6
    ojs.state.hidden_years = set()  # the 2024 issue goes online after the first harvest
    ojs.state.online_since[2024] = "2026-11-25"
    ojs.state.requests.clear()
    again = node.oai_harvest.run(TITLE, base, fetcher=fast())
    assert any("from=" in r for r in ojs.state.requests)  # asked only for what changed since the last harvest
    assert again.records == 6 and [a for a, _, _ in again.aus] == [f"{TITLE}/2024"]


def test_provider_faults_have_clear_outcomes(site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    harvester = OaiHarvester(f"{url}{ojs.base}/oai", fast())
    empty = harvester.harvest(since="2030-01-01")
    assert empty.records == {} and not empty.fallback  # noRecordsMatch is an empty result
    ojs.state.oai_malformed = True
    with pytest.raises(OaiHarvestError, match="malformed XML"):
        harvester.harvest()
    with pytest.raises(OaiHarvestError, match="did not answer with an OAI-PMH document"):
        OaiHarvester(f"{url}{ojs.base}/gateway/clockss", fast()).harvest()


def test_the_cli(tmp_path: Path, db_url: str, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    home = tmp_path / "home"

    sr = cli(home)

    assert sr("init", "--database-url", db_url).returncode == 0
    added = add_ojs_title(sr, TITLE, f"{url}{ojs.base}/gateway/clockss", ojs.title.title, "--publisher", "P")
    assert added.returncode == 0
    done = sr("oai-harvest", f"{url}{ojs.base}/oai", "--title", TITLE, "--delay", "0", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["records"] == len(ojs.articles)
    [report] = json.loads(sr("crawl-report", f"{TITLE}/2023", "--json").stdout)
    assert report["plan"] == "oai-pmh" and report["captures"] > 0
    # the same timestamps as a web crawl's report (extended ISO 8601, as isoformat writes them), start first
    started, finished = dt.datetime.fromisoformat(report["started"]), dt.datetime.fromisoformat(report["finished"])
    assert report["started"] == started.isoformat() and started <= finished
    ojs.state.oai_malformed = True
    broken = sr("oai-harvest", f"{url}{ojs.base}/oai", "--title", TITLE, "--from", "2020-01-01", "--delay", "0")
    assert broken.returncode != 0 and "malformed XML" in broken.stderr


def test_jats_is_harvested_when_the_provider_offers_it(node: Node, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    ojs.state.oai_jats = True
    base = configured(node, ojs, url)
    result = node.oai_harvest.run(TITLE, base, fetcher=fast())
    assert result.records == len(ojs.articles)
    items = {i.doi: i for i in node.browse.items(limit=100)}
    for _, a in ojs.articles.values():
        item = items[a.doi]
        # what only JATS carries: pages, keywords, ORCIDs
        assert item.pages == f"{a.fpage}-{a.lpage}" and set(item.keywords) == set(a.keywords)
        assert any(au.get("orcid") for au in item.authors) == any(x.orcid for x in a.authors)
    object_id = node.browse.object_id(f"{TITLE}/2023")
    assert any(p.endswith(".jats.xml") for p in node.store.state(object_id))
