"""Harvesting an OJS-like journal site over real HTTP on loopback: permission, scope, AU mapping, WARC and CDXJ
checked by independent tools (warcio, webrecorder's cdxj-indexer), catalogued articles, incremental re-collection,
the faults real sites have, crawl reports and replay."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from strongroom.harvest.crawl import PermissionMissing
from strongroom.harvest.fetch import Fetcher
from strongroom.node import Node
from strongroom.samples.ojs_site import OjsSite, serve_site
from strongroom.services import harvests as hs
from tests_support import add_ojs_title, cli

BIN = Path(sys.executable).parent
TITLE = "issn:3907-6563"


@pytest.fixture
def site() -> Iterator[tuple[OjsSite, str]]:
    s = OjsSite()
    with serve_site(s) as url:
        yield s, url


def configure(node: Node, site: OjsSite, url: str, plan: str = "ojs", **extra: object) -> None:
    settings = {"start_url": f"{url}{site.base}/gateway/clockss", "delay": 0, **extra}
    node.harvests.configure(
        TITLE,
        name=site.title.title,
        publisher="Nairobi Health Sciences Publishers",
        country="KE",
        plan=plan,
        settings=settings,
    )


def fast() -> Fetcher:
    return Fetcher(delay=0, retries=1, max_bytes=1024 * 1024, timeout=5)


def test_an_ojs_site_is_collected_completely_and_nothing_out_of_scope(node: Node, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    configure(node, ojs, url)
    result = node.web_harvest.run(TITLE, fetcher=fast())
    assert [a.au_key for a in result.aus] == [f"{TITLE}/2023", f"{TITLE}/2024"]
    collected = {o.url.removeprefix(url) for o in result.outcomes if o.note == "collected"}
    for aid in ojs.articles:
        for path in (
            f"/article/view/{aid}",
            f"/article/view/{aid}/html",
            f"/article/view/{aid}/{aid}",
            f"/article/download/{aid}/{aid}",
        ):
            assert ojs.base + path in collected
    assert {f"{ojs.base}/issue/view/{i.id}" for i in ojs.issues} <= collected
    assert {"/styles/ojs.css", "/public/cover.png", f"{ojs.base}/gateway/clockss"} <= collected
    asked = " ".join(ojs.state.requests)
    for outside in ("/search", "/login", "/user/", "/stats"):
        assert outside not in asked  # never requested, not just not stored
    # every article is catalogued from its landing page, in the AU of its year
    items = node.browse.items(limit=100)
    assert len(items) == len(ojs.articles) and all(i.doi and i.title and i.authors for i in items)
    # the landing pages with schema.org JSON-LD only are catalogued as fully as those with Highwire tags
    by_doi = {i.doi: i for i in items}
    schema_only = [aid for aid in ojs.articles if ojs.schema_only(aid)]
    assert schema_only
    for aid in schema_only:
        issue, a = ojs.articles[aid]
        item = by_doi[a.doi]
        assert (item.title, item.publication_date, item.volume, item.issue, item.pages) == (
            a.title,
            a.published,
            issue.volume,
            issue.number,
            f"{a.fpage}-{a.lpage}",
        )
        assert [x["name"] for x in item.authors] == [au.name for au in a.authors] and list(item.keywords) == list(
            a.keywords
        )
        assert item.licence == ojs.title.licence and item.language == a.language
    by_au = {au.key: n for au, n, *_ in node.catalog.aus()}
    assert by_au == {f"{TITLE}/2023": 6, f"{TITLE}/2024": 6}


def test_warcs_pass_warcio_check_and_an_independent_indexer_agrees(node: Node, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    configure(node, ojs, url)
    node.web_harvest.run(TITLE, fetcher=fast())
    object_id = node.browse.object_id(f"{TITLE}/2023")
    root = node.store.object_path(object_id)
    warcs = sorted(root.glob("v*/content/harvest/warcs/*.warc.gz"))
    assert warcs
    for warc in warcs:
        check = subprocess.run([str(BIN / "warcio"), "check", "-v", str(warc)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    independent = subprocess.run(
        [str(BIN / "cdxj-indexer"), *map(str, warcs)], capture_output=True, text=True, check=True
    ).stdout

    def captures(cdxj: str) -> set[tuple[str, str, str]]:
        fields = [json.loads(line.split(" ", 2)[2]) for line in cdxj.splitlines() if line.strip()]
        return {(f["url"], f["offset"], f["digest"]) for f in fields if f.get("status") == "200"}

    with node.store.open_file(object_id, hs.CDXJ) as fh:
        ours = captures(fh.read().decode())
    # the same captures at the same offsets, with the same payload digests (pages came chunked: the digest is of
    # the content, which the WARC's own WARC-Payload-Digest header also says)
    assert captures(independent) and captures(independent) == ours


def test_without_the_permission_statement_nothing_is_collected(node: Node, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    ojs.state.permission = False
    configure(node, ojs, url)
    with pytest.raises(PermissionMissing) as refused:
        node.web_harvest.run(TITLE, fetcher=fast())
    assert "CLOCKSS system has permission to ingest, preserve, and serve this Archival Unit" in refused.value.hint
    assert "gateway/clockss" in refused.value.hint and node.catalog.aus() == []
    assert ojs.state.requests == [f"{ojs.base}/gateway/clockss"]  # it asked for the manifest and stopped
    ojs.state.permission, ojs.state.permission_as_comment = True, True  # an HTML comment is enough
    assert node.web_harvest.run(TITLE, fetcher=fast()).aus


def test_a_recrawl_after_a_new_issue_stores_only_what_is_new(node: Node, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    ojs.state.hidden_years = {2024}
    configure(node, ojs, url)
    first = node.web_harvest.run(TITLE, fetcher=fast())
    assert [a.au_key for a in first.aus] == [f"{TITLE}/2023"]
    ojs.state.hidden_years = set()  # the publisher puts 2024 online
    second = node.web_harvest.run(TITLE, fetcher=fast())
    by_key = {a.au_key: a for a in second.aus}
    old, new = by_key[f"{TITLE}/2023"], by_key[f"{TITLE}/2024"]
    assert new.version == 1 and new.new == new.captures and new.items == 6
    assert old.version == 2 and old.new <= 3  # the manifest changed (it lists 2024 now); the rest is unchanged
    assert old.unchanged >= old.captures - 3
    object_id = node.browse.object_id(f"{TITLE}/2023")
    newest = max(node.store.object_path(object_id).glob("v2/content/harvest/warcs/*.warc.gz"))
    with newest.open("rb") as fh:
        kinds = [r.rec_type for r in ArchiveIterator(fh)]
    assert kinds.count("response") == old.new and kinds.count("revisit") == old.unchanged  # no PDF stored twice
    assert not list(node.store.object_path(object_id).glob("v2/content/harvest/warcs/*v1*"))
    pdf = f"{url}{ojs.base}/article/download/1/1"
    replayed = node.replay.replay(f"{TITLE}/2023", pdf)
    assert replayed.status == 200 and replayed.body == ojs.pdfs[1]  # a revisit resolves to the first capture


def test_the_faults_of_real_sites_have_clear_outcomes(node: Node, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    ojs.state.faults = True
    configure(
        node,
        ojs,
        url,
        plan="generic",
        start_urls=[f"{url}{ojs.base}/gateway/clockss"],
        include=[rf"{url}/.*"],
        exclude=[r"/(search|login|user|stats)"],
        au_rule=r"/issue/view/(\d+)$",
        depth=100,  # so the calendar is stopped as a trap, not by depth
    )
    result = node.web_harvest.run(TITLE, fetcher=fast())
    notes = {o.url.removeprefix(url): o.note for o in result.outcomes}
    assert any(n == "trap: redirect loop" for n in notes.values())
    assert any(n.startswith("trap: an endless chain of pages of one shape") for n in notes.values())
    assert notes[f"{ojs.base}/issue/view/1?PHPSESSID=abc123"] == "trap: session id in the address"
    assert notes[f"{ojs.base}/broken"] == "HTTP 500"
    assert notes[f"{ojs.base}/issue/view/999"] == "HTTP 404"
    assert "allowed for one resource" in notes[f"{ojs.base}/article/download/huge/1"]
    assert notes[f"{ojs.base}/latin1"] == "collected" and notes[f"{ojs.base}/slow"] == "collected"
    assert sum(1 for p in ojs.state.requests if "/calendar/" in p) <= 22  # the calendar was left, not walked


def test_the_cli_reports_replays_and_closes(tmp_path: Path, db_url: str, site: tuple[OjsSite, str]) -> None:
    ojs, url = site
    home = tmp_path / "home"

    sr = cli(home)

    assert sr("init", "--database-url", db_url).returncode == 0
    manifest = f"{url}{ojs.base}/gateway/clockss"
    added = add_ojs_title(
        sr, TITLE, manifest, ojs.title.title, "--publisher", "Nairobi Health Sciences Publishers", "--country", "KE"
    )
    assert added.returncode == 0, added.stderr
    run = sr("harvest", TITLE, "--au", "2024", "--json")  # short for `harvest run TITLE`
    assert run.returncode == 0, run.stderr
    assert [a["au_key"] for a in json.loads(run.stdout)["aus"]] == [f"{TITLE}/2024"]
    [report] = json.loads(sr("crawl-report", f"{TITLE}/2024", "--json").stdout)
    assert report["new"] == report["captures"] > 0 and report["unchanged"] == 0
    assert all(o["url"].startswith(url) for o in report["outcomes"])
    aid = next(a for a, (issue, _) in ojs.articles.items() if issue.year == 2024)
    target = tmp_path / "article.pdf"
    replay = sr(
        "replay", f"{TITLE}/2024", f"{url}{ojs.base}/article/download/{aid}/{aid}", "--out", str(target), "--headers"
    )
    assert replay.returncode == 0, replay.stderr
    assert target.read_bytes() == ojs.pdfs[aid] and "200" in replay.stderr and "application/pdf" in replay.stderr
    missing = sr("replay", f"{TITLE}/2024", f"{url}/never-collected")
    assert missing.returncode != 0 and "was not collected" in missing.stderr
    assert sr("harvest", "close", TITLE, "2024").returncode == 0
    closed = sr("harvest", "run", TITLE, "--au", "2024")
    assert closed.returncode != 0 and "closed" in closed.stderr
    unknown = sr(
        "harvest", "add", "x", "--plan", "ojs", "--start-url", "http://example.org/", "--name", "X", "--publisher", "P"
    )
    assert unknown.returncode != 0 and "not an OJS journal address" in unknown.stderr


def harvest_and_release_2023(node: Node, site: tuple[OjsSite, str]) -> None:
    """The OJS fixture journal harvested, and its 2023 AU released by the board (2024 stays dark)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
    from strongroom.keys import public_key_text
    from strongroom.services.triggers import sign_ballot

    ojs, url = site
    configure(node, ojs, url)
    node.web_harvest.run(TITLE, fetcher=fast())
    workflow = node.triggers
    keys = {n: Ed25519PrivateKey.generate() for n in ("ama", "bakari", "chiara")}
    for n, k in keys.items():
        workflow.add_member(n, public_key_text(k.public_key()))
    t = workflow.propose(ScopeKind.AUS, [f"{TITLE}/2023"], TriggerReason.PUBLISHER_CEASED, ["gone"], "operator")
    for n, k in keys.items():
        workflow.vote(
            t.key,
            n,
            VoteChoice.FOR,
            "2026-01-01T00:00:00Z",
            sign_ballot(k, t.key, n, VoteChoice.FOR, "2026-01-01T00:00:00Z"),
        )
    workflow.release(t.key, "operator")


def test_released_harvested_pages_are_replayed_on_the_portal_and_dark_ones_are_not(
    node: Node, site: tuple[OjsSite, str]
) -> None:
    from lxml import html

    from strongroom.inprocess import TestClient
    from strongroom.portal.app import create_portal

    ojs, url = site
    harvest_and_release_2023(node, site)
    client = TestClient(create_portal(node))
    released = client.get("/titles/" + TITLE + "/").text
    article = next(
        h
        for h in html.fromstring(
            client.get(next(v for v in html.fromstring(released).xpath("//main//a/@href") if v.count("/") == 4)).text
        ).xpath("//main//a/@href")
        if h.startswith("/articles/")
    )
    page = html.fromstring(client.get(article).text)
    archived = next(h for h in page.xpath("//main//a/@href") if h.startswith("/archive/"))
    replayed = client.get(archived)
    assert replayed.status_code == 200 and "application/ld+json" in replayed.text  # the publisher's landing page
    assert replayed.headers["content-security-policy"].startswith("sandbox") and replayed.headers["memento-datetime"]
    # the reader stays in the archive: what the AU holds is linked to its archived copy, the rest is left alone
    archived_page = html.fromstring(replayed.content)
    galleys = archived_page.xpath("//a[@class='galley']/@href")
    assert galleys and all(g.startswith(f"/archive/{TITLE}/2023/?url=") for g in galleys)
    assert all(client.get(g).status_code == 200 for g in galleys)
    [css] = archived_page.xpath("//link[@rel='stylesheet']/@href")
    assert css.startswith(f"/archive/{TITLE}/2023/?url=") and client.get(css).content == ojs_css()
    assert all(not h.startswith("/archive/") for h in archived_page.xpath("//a/@href") if "/search" in h)
    pdf = client.get(f"/archive/{TITLE}/2023/", params={"url": f"{url}{ojs.base}/article/download/1/1"})
    assert pdf.status_code == 200 and pdf.content == ojs.pdfs[1]
    aid_2024 = next(a for a, (issue, _) in ojs.articles.items() if issue.year == 2024)
    dark = client.get(f"/archive/{TITLE}/2024/", params={"url": f"{url}{ojs.base}/article/view/{aid_2024}"})
    assert dark.status_code == 404 and b"application/ld+json" not in dark.content
    assert client.get(f"/archive/{TITLE}/2023/", params={"url": f"{url}/never"}).status_code == 404


def test_the_live_portal_replays_a_page_from_storage_once_and_never_keeps_a_dark_one(
    node: Node, site: tuple[OjsSite, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from strongroom.inprocess import TestClient
    from strongroom.portal.app import create_portal

    ojs, url = site
    harvest_and_release_2023(node, site)
    client = TestClient(create_portal(node, cache_seconds=30.0))  # as `portal serve` runs it
    reads: list[str] = []

    def counting(real: Any) -> Any:
        def counted(object_id: str, path: str, *args: object, **kwargs: object) -> object:
            reads.append(path)
            return real(object_id, path, *args, **kwargs)

        return counted

    for method in ("open_file", "open_content"):  # by logical path, or by content path (the index, mapped)
        monkeypatch.setattr(node.store, method, counting(getattr(node.store, method)))
    article = f"{url}{ojs.base}/article/view/1"
    first = client.get(f"/archive/{TITLE}/2023/", params={"url": article})
    assert first.status_code == 200 and reads  # read from the WARC through the index
    reads.clear()
    again = client.get(f"/archive/{TITLE}/2023/", params={"url": article})
    assert again.content == first.content and again.headers["memento-datetime"] == first.headers["memento-datetime"]
    assert reads == []  # kept: neither the index nor the WARC is read again

    aid_2024 = next(a for a, (issue, _) in ojs.articles.items() if issue.year == 2024)
    dark = f"{url}{ojs.base}/article/view/{aid_2024}"
    for _ in range(2):
        refused = client.get(f"/archive/{TITLE}/2024/", params={"url": dark})
        assert refused.status_code == 404 and b"application/ld+json" not in refused.content
    missing = client.get(f"/archive/{TITLE}/2023/", params={"url": f"{url}/never"})
    assert missing.status_code == 404
    assert client.get(f"/archive/{TITLE}/2023/", params={"url": f"{url}/never"}).status_code == 404


def test_the_replay_cache_keeps_to_its_budget_and_forgets_after_its_time() -> None:
    from strongroom.portal.archive import ReplayCache, ReplayedPage

    now = [0.0]
    cache = ReplayCache(30.0, budget=3_000, clock=lambda: now[0])
    loads: list[str] = []

    def page(name: str) -> ReplayedPage:
        loads.append(name)
        return ReplayedPage(name.encode() * 1_000, 200, "text/html", "20260101000000")

    for name in ("a", "b", "c", "a"):  # three pages of 1,200 bytes each do not fit in 3,000
        cache.page("au", name, lambda name=name: page(name))  # type: ignore[misc]
    assert loads == ["a", "b", "c", "a"]  # "a" was dropped first, as the least recently used
    assert cache.used <= cache.budget
    cache.page("au", "c", lambda: page("c"))
    assert loads[-1] == "a"  # "c" is still kept
    now[0] = 31.0
    cache.page("au", "c", lambda: page("c"))
    assert loads[-1] == "c"  # and read again once its time is up
    idle = ReplayCache(0.0)
    idle.page("au", "x", lambda: page("x"))
    idle.page("au", "x", lambda: page("x"))
    assert loads[-2:] == ["x", "x"] and idle.used == 0  # seconds=0 (tests, the static export): nothing kept


def ojs_css() -> bytes:
    from strongroom.samples.ojs_site import CSS

    return CSS


def test_a_paused_crawl_resumes_without_fetching_again(node: Node, site: tuple[OjsSite, str]) -> None:
    from collections import Counter

    from strongroom.harvest.crawl import CrawlPaused

    ojs, url = site
    configure(node, ojs, url)
    with pytest.raises(CrawlPaused, match="paused after 10 fetches"):
        node.web_harvest.run(TITLE, fetcher=fast(), pause_after=10)
    assert node.catalog.aus() == []  # nothing stored yet: the crawl is not finished
    with pytest.raises(CrawlPaused):
        node.web_harvest.run(TITLE, fetcher=fast(), pause_after=7)  # a second pause keeps both runs' work
    result = node.web_harvest.run(TITLE, fetcher=fast())
    asked = Counter(p for p in ojs.state.requests if p != "/robots.txt" and not p.endswith("/gateway/clockss"))
    assert asked and max(asked.values()) == 1  # every resource was fetched once over the three runs
    collected = {o.url for o in result.outcomes if o.note == "collected"}
    assert {f"{url}{ojs.base}/article/download/{aid}/{aid}" for aid in ojs.articles} <= collected
    assert [a.items for a in result.aus] == [6, 6]
    assert not list(node.settings.resolved_staging().glob("crawl-*"))  # the spool is gone once stored


def test_titles_due_for_recollection_are_collected_by_the_scheduled_run(
    tmp_path: Path, db_url: str, site: tuple[OjsSite, str]
) -> None:
    ojs, url = site
    home = tmp_path / "home"

    sr = cli(home)

    assert sr("init", "--database-url", db_url).returncode == 0
    added = add_ojs_title(sr, TITLE, f"{url}{ojs.base}/gateway/clockss", "J", "--publisher", "P", "--every", "30")
    assert added.returncode == 0
    assert json.loads(sr("harvest", "due", "--json").stdout) == [TITLE]  # never collected: due now
    done = sr("harvest", "scheduled")
    assert done.returncode == 0 and "1 harvest due: 1 queued." in done.stdout
    if db_url.startswith("sqlite"):  # no serve or worker runs this node's jobs: the command runs them itself
        assert "1 run here: 1 collected, 0 failed." in done.stdout
        assert json.loads(sr("harvest", "due", "--json").stdout) == []  # not again before 30 days
    else:  # a worker runs it (tests/worker/test_harvest_scheduled.py); none runs here yet, and the command says so
        assert "no worker is taking jobs" in done.stderr


def test_a_refused_huge_resource_does_not_poison_the_next_request(site: tuple[OjsSite, str]) -> None:
    """The size cap stops reading mid-body; that connection must be closed, not reused (it was, once: the next
    response began in the middle of the huge file's bytes)."""
    from strongroom.harvest.fetch import FetchError

    ojs, url = site
    ojs.state.faults = True
    fetcher = Fetcher(delay=0, retries=0, max_bytes=1024 * 1024, timeout=5)
    for _ in range(10):
        with pytest.raises(FetchError, match="allowed for one resource"):
            fetcher.fetch(f"{url}{ojs.base}/article/download/huge/1")
        after = fetcher.fetch(f"{url}{ojs.base}/gateway/clockss")
        assert after.status == 200 and b"CLOCKSS system has permission" in after.body
