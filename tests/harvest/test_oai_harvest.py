"""Harvesting an OJS-style OAI-PMH feed: tokens followed, OJS's broken tokens survived by date windows,
incremental re-harvests, and clear outcomes for noRecordsMatch, refused tokens and malformed XML."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from lxml import etree

from strongroom.harvest.fetch import Fetcher
from strongroom.harvest.oai import OaiHarvester, OaiHarvestError, dc_item
from strongroom.node import Node
from strongroom.samples.ojs_site import OjsSite, serve_site
from strongroom.services.oai_harvest import FeedTitleUnknown
from tests_support import add_ojs_title, cli, configure_ojs_harvest, serving

TITLE = "issn:3907-6563"


@pytest.fixture
def site() -> Iterator[tuple[OjsSite, str]]:
    s = OjsSite()
    with serve_site(s) as url:
        yield s, url


def fast() -> Fetcher:
    return Fetcher(delay=0, retries=1, timeout=5)


def configured(node: Node, ojs: OjsSite, url: str) -> str:
    return configure_ojs_harvest(node, TITLE, ojs, url)


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


def _dc_record(*fields: str) -> etree._Element:
    return etree.fromstring(
        '<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>oai:x:1</identifier></header>'
        '<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/">{"".join(fields)}</oai_dc:dc></metadata></record>'
    )


@pytest.mark.parametrize(
    "written",
    [
        "10.5555/Abc.2024.7",
        "doi:10.5555/Abc.2024.7",
        "DOI: 10.5555/Abc.2024.7",
        "https://doi.org/10.5555/Abc.2024.7",
        "http://dx.doi.org/10.5555/Abc.2024.7",
        "info:doi/10.5555/Abc.2024.7",
    ],
)
def test_a_doi_is_recognised_in_every_form_providers_write(written: str) -> None:
    """OJS 3 writes the DOI bare; others prefix doi:, info:doi/ or the resolver. Each is the same DOI, in the case
    the publisher wrote it (as a web crawl's citation_doi has it, so the two merge)."""
    item = dc_item(
        _dc_record(
            "<dc:identifier>https://j.example.org/index.php/j/article/view/7</dc:identifier>",
            f"<dc:identifier>{written}</dc:identifier>",
            "<dc:source>J; Vol. 2 No. 1 (2024)</dc:source><dc:source>3907-6563</dc:source>",
        )
    )
    assert item is not None
    assert item["doi"] == item["key"] == "10.5555/Abc.2024.7"
    assert item["url"] == "https://j.example.org/index.php/j/article/view/7"
    assert item["issn"] == "3907-6563" and (item["volume"], item["issue"]) == ("2", "1")


def test_without_a_title_the_feed_names_it(tmp_path: Path, db_url: str, site: tuple[OjsSite, str]) -> None:
    """`oai-harvest BASE_URL` alone, as users type it: the journal and ISSN in dc:source make the title."""
    ojs, url = site
    sr = cli(tmp_path / "home")
    assert sr("init", "--database-url", db_url).returncode == 0
    done = sr("oai-harvest", f"{url}{ojs.base}/oai", "--delay", "0", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["title_key"] == f"issn:{ojs.title.issn_online}" and result["title_created"] is True
    assert result["records"] == len(ojs.articles)
    [title] = json.loads(sr("titles", "--json").stdout)["titles"]
    assert (title["key"], title["name"], title["publisher"]) == (
        f"issn:{ojs.title.issn_online}",
        ojs.title.title,
        ojs.title.publisher.name,
    )
    items = json.loads(sr("items", "--all", "--json").stdout)["items"]
    assert {i["doi"] for i in items} == {a.doi for _, a in ojs.articles.values()}
    again = sr("oai-harvest", f"{url}{ojs.base}/oai", "--delay", "0")
    assert again.returncode == 0, again.stderr
    assert f"issn:{ojs.title.issn_online}" in again.stdout and "found by the feed" in again.stdout


def test_without_a_title_an_already_configured_title_is_found(node: Node, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    base = configured(node, ojs, url)
    found = node.oai_harvest.feed_title(base, fetcher=fast())
    assert (found.key, found.created) == (TITLE, False)
    assert node.harvests.config(TITLE).settings["start_url"] == f"{url}{ojs.base}/gateway/clockss"  # as it was


SITE_WIDE = """<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2026-11-24T00:00:00Z</responseDate><request>x</request>{}</OAI-PMH>"""


def _site_wide_record(n: int, journal: str, issn: str) -> str:
    return (
        f"<record><header><identifier>oai:u:{n}</identifier><datestamp>2024-01-0{n}</datestamp></header><metadata>"
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Article {n}</dc:title>'
        f"<dc:source>{journal}; Vol. 1 No. 1 (2024)</dc:source><dc:source>{issn}</dc:source></oai_dc:dc>"
        "</metadata></record>"
    )


class SiteWideFeed(BaseHTTPRequestHandler):
    """A university's one OAI-PMH endpoint for all its journals (OJS's /index.php/index/oai)."""

    def do_GET(self) -> None:
        if "verb=ListSets" in self.path:
            body = "<ListSets><set><setSpec>ajph</setSpec><setName>African Journal of Public Health</setName></set>"
            body += "<set><setSpec>eajs</setSpec><setName>East African Journal of Soils</setName></set></ListSets>"
        elif "verb=Identify" in self.path:
            body = "<Identify><repositoryName>University Journals</repositoryName></Identify>"
        else:
            body = "<ListRecords>" + _site_wide_record(1, "African Journal of Public Health", "2536-0035")
            body += _site_wide_record(2, "East African Journal of Soils", "3907-6563") + "</ListRecords>"
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.end_headers()
        self.wfile.write(SITE_WIDE.format(body).encode())

    def log_message(self, *args: object) -> None:
        pass


def test_a_feed_of_several_journals_says_how_to_choose(node: Node) -> None:
    with serving(SiteWideFeed) as url:
        with pytest.raises(FeedTitleUnknown) as refused:
            node.oai_harvest.feed_title(f"{url}/index.php/index/oai", fetcher=fast())
        sr = cli(node.settings.home)
        done = sr("oai-harvest", f"{url}/index.php/index/oai", "--delay", "0")
    assert "2 journals" in str(refused.value)
    assert done.returncode == 2 and "--set SET --title KEY" in done.stderr
    assert "ajph (African Journal of Public Health)" in done.stderr and "eajs" in done.stderr
    assert json.loads(sr("titles", "--json").stdout)["titles"] == []  # nothing was configured or harvested


def test_records_merge_with_the_web_crawls_articles_by_doi(node: Node, site: tuple[OjsSite, str]) -> None:
    """The same articles collected from the web site and from the feed are one item each, with its DOI."""
    ojs, url = site
    base = configured(node, ojs, url)
    node.web_harvest.run(TITLE, fetcher=fast())
    crawled = {i.doi for i in node.browse.items(limit=100)}
    assert crawled == {a.doi for _, a in ojs.articles.values()}
    node.oai_harvest.run(TITLE, base, fetcher=fast())
    items = node.browse.items(limit=100)
    assert len(items) == len(ojs.articles) and {i.doi for i in items} == crawled


class SiteWideFeedOneJournalFirst(SiteWideFeed):
    """The same endpoint whose first page of records happens to be all of one journal: its sets still show two."""

    def do_GET(self) -> None:
        if "verb=ListSets" in self.path:
            sets = [("ajph", "African Journal of Public Health"), ("ajph:ART", "Articles")]
            sets += [("eajs", "East African Journal of Soils"), ("eajs:ART", "Articles"), ("driver", "driver")]
            body = (
                "<ListSets>"
                + "".join(f"<set><setSpec>{k}</setSpec><setName>{n}</setName></set>" for k, n in sets)
                + "</ListSets>"
            )
        else:
            body = "<ListRecords>" + _site_wide_record(1, "African Journal of Public Health", "2536-0035")
            body += _site_wide_record(2, "African Journal of Public Health", "2536-0035") + "</ListRecords>"
        self.send_response(200)
        self.end_headers()
        self.wfile.write(SITE_WIDE.format(body).encode())


def test_a_platforms_endpoint_is_refused_even_when_its_first_records_are_of_one_journal(node: Node) -> None:
    with serving(SiteWideFeedOneJournalFirst) as url:
        with pytest.raises(FeedTitleUnknown, match="2 journals") as refused:
            node.oai_harvest.feed_title(f"{url}/index.php/index/oai", fetcher=fast())
        assert "--set SET --title KEY" in str(refused.value)
        chosen = node.oai_harvest.feed_title(f"{url}/index.php/index/oai", set_spec="ajph", fetcher=fast())
    assert (chosen.key, chosen.name, chosen.created) == ("issn:2536-0035", "African Journal of Public Health", True)
    manifest = node.harvests.config(chosen.key).settings["start_url"]
    assert manifest == f"{url}/index.php/ajph/gateway/clockss"  # the set's journal, not the platform's index


def test_without_a_title_a_deposited_title_is_found_by_issn(
    node: Node, site: tuple[OjsSite, str], sample_dir: Path
) -> None:
    """A journal first preserved from a publisher's package: its feed harvests into the same title."""
    ojs, url = site
    [package] = [p for p in sample_dir.iterdir() if p.name == f"{ojs.slug}-2023-jasper.zip"]
    node.ingest.deposit(package)
    [(title, *_)] = node.catalog.titles()
    found = node.oai_harvest.feed_title(f"{url}{ojs.base}/oai", fetcher=fast())
    assert (found.key, found.name, found.created) == (title.key, title.name, True)
    config = node.harvests.config(found.key)
    assert (config.publisher, config.country) == (title.publisher.name, title.publisher.country)
    node.oai_harvest.run(found.key, f"{url}{ojs.base}/oai", fetcher=fast())
    assert [t.key for t, *_ in node.catalog.titles()] == [title.key]  # no second title
