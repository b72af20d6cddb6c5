"""What a page needs to display is archived in every AU whose pages need it: a theme's stylesheet, its font and a
script shared by the issues of 2022 and 2023 are collected for each AU (each is preserved, audited and released on
its own), over real HTTP; pages are still collected once. The OJS plan's manifest assets, kept for every AU, are
not fetched again; a paused crawl, from a spool of today or of before, resumes to the same captures."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from strongroom.harvest.checkpoint import Checkpoint
from strongroom.harvest.crawl import FOLLOWED_ONLY, CrawlPaused, crawl
from strongroom.harvest.fetch import Fetcher
from strongroom.harvest.plans import make_plan
from strongroom.node import Node
from strongroom.samples.ojs_site import OjsSite, serve_site
from strongroom.services import harvests as hs
from tests_support import configure_ojs_harvest, serving

TITLE = "issn:3907-6563"
PERMISSION = "LOCKSS system has permission to collect, preserve, and serve this Archival Unit"
THEME = {"/theme/site.css", "/theme/fonts/serif.woff2", "/theme/app.js"}  # what every page needs
HEAD = '<link rel="stylesheet" href="/theme/site.css"><script src="/theme/app.js"></script>'


def page(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head>{HEAD}</head><body>{body}</body></html>".encode()


BODIES = {
    "/": page(f'<p>{PERMISSION}</p><a href="/2022/issue.html">2022</a> <a href="/2023/issue.html">2023</a>'),
    "/2022/issue.html": page('<h1>2022</h1><a href="/2022/article.html">An article</a>'),
    "/2023/issue.html": page('<h1>2023</h1><a href="/2023/article.html">An article</a>'),
    "/2022/article.html": page("<p>of 2022</p>"),
    "/2023/article.html": page('<p>of 2023</p><a href="/2022/article.html">cited</a>'),
    "/theme/site.css": b"@font-face { font-family: S; src: url(fonts/serif.woff2) } body { font-family: S }",
    "/theme/fonts/serif.woff2": b"wOF2 font",
    "/theme/app.js": b"console.log('theme')",
}
TYPES = {".css": "text/css", ".js": "text/javascript", ".woff2": "font/woff2", ".html": "text/html"}
SETTINGS = {"au_rule": r"/(\d{4})/", "delay": 0}  # the generic plan, an AU a year; the start page's AU is "all"


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    """The journal over real HTTP; every path asked for is listed."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = BODIES.get(urlsplit(self.path).path)
            self.send_response(200 if body is not None else 404)
            suffix = self.path[self.path.rfind(".") :] if "." in self.path else ".html"
            self.send_header("Content-Type", TYPES.get(suffix, "application/octet-stream"))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, asked


def fast() -> Fetcher:
    return Fetcher(delay=0, retries=1, max_bytes=1024 * 1024, timeout=5)


def harvested(node: Node, object_id: str) -> tuple[set[str], set[str]]:
    """The paths of an AU's 200 captures as its CDXJ index lists them, and as its WARC files hold them."""
    with node.store.open_file(object_id, hs.CDXJ) as fh:
        lines = [json.loads(line.split(" ", 2)[2]) for line in fh.read().decode().splitlines() if line.strip()]
    indexed = {urlsplit(f["url"]).path for f in lines if f.get("status") == "200"}
    in_warcs = set()
    for warc in sorted(node.store.object_path(object_id).glob("v*/content/harvest/warcs/*.warc.gz")):
        with warc.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response" and record.http_headers.get_statuscode() == "200":
                    in_warcs.add(urlsplit(record.rec_headers.get_header("WARC-Target-URI")).path)
    return indexed, in_warcs


def test_each_au_holds_the_stylesheet_font_and_script_its_pages_need(node: Node, site: tuple[str, list[str]]) -> None:
    url, asked = site
    node.harvests.configure(
        TITLE,
        name="Journal of Themes",
        publisher="P",
        country="KE",
        plan="generic",
        settings={"start_urls": [f"{url}/"], **SETTINGS},
    )
    result = node.web_harvest.run(TITLE, fetcher=fast())
    assert [a.au_key for a in result.aus] == [f"{TITLE}/2022", f"{TITLE}/2023", f"{TITLE}/all"]
    for label, pages in (("all", {"/"}), ("2022", {"/2022/issue.html", "/2022/article.html"})):
        indexed, in_warcs = harvested(node, node.browse.object_id(f"{TITLE}/{label}"))
        assert indexed == in_warcs == pages | THEME, label
    indexed, in_warcs = harvested(node, node.browse.object_id(f"{TITLE}/2023"))
    assert indexed == in_warcs == {"/2023/issue.html", "/2023/article.html"} | THEME
    # each fetch for another AU is an outcome of its own, in that AU's crawl report
    collected = Counter((urlsplit(o.url).path, o.au) for o in result.outcomes if o.note == "collected")
    assert {(p, au) for p in THEME for au in ("all", "2022", "2023")} <= set(collected)
    assert max(collected.values()) == 1
    for label in ("all", "2022", "2023"):
        [report] = node.store.object_path(node.browse.object_id(f"{TITLE}/{label}")).glob(
            "v*/content/strongroom/crawls/*.json"
        )
        outcomes = json.loads(report.read_text())["outcomes"]
        assert {urlsplit(o["url"]).path for o in outcomes if o["note"] == "collected" and o["au"] == label} >= THEME
    # fetched once for each AU that needs it; a page once, however many AUs link it (2022's article, cited in 2023)
    paths = Counter(urlsplit(p).path for p in asked if p not in ("/robots.txt", "/"))  # "/": permission, then page
    assert paths == {**dict.fromkeys(THEME, 3), **dict.fromkeys(BODIES.keys() - THEME - {"/"}, 1)}


def test_an_au_left_out_by_only_au_is_not_fetched_for(tmp_path: Path, site: tuple[str, list[str]]) -> None:
    url, asked = site
    starts = [f"{url}/2022/issue.html", f"{url}/2023/issue.html"]
    plan = make_plan("generic", {"start_urls": starts, "permission_url": f"{url}/", **SETTINGS})
    result = crawl(plan, fast(), only_au="2023", checkpoint=Checkpoint(tmp_path / "crawl", "only"))
    captured = sorted((au, urlsplit(f.url).path) for au, f in result.captures())
    assert captured == sorted(("2023", p) for p in {"/2023/issue.html", "/2023/article.html", *THEME})
    assert not any(p.startswith("/2022/") for p in asked)


def test_one_au_of_a_generic_title_is_reached_through_its_start_page(
    tmp_path: Path, site: tuple[str, list[str]]
) -> None:
    """``harvest run --au 2023`` of a generic title whose start page is of the AU "all": the start page is read for
    its links and not kept, so 2023's pages are reached (before, nothing at all was collected)."""
    url, asked = site
    plan = make_plan("generic", {"start_urls": [f"{url}/"], **SETTINGS})
    result = crawl(plan, fast(), only_au="2023", checkpoint=Checkpoint(tmp_path / "crawl", "start"))
    captured = sorted((au, urlsplit(f.url).path) for au, f in result.captures())
    assert captured == sorted(("2023", p) for p in {"/2023/issue.html", "/2023/article.html", *THEME})
    [start] = [o for o in result.outcomes if urlsplit(o.url).path == "/" and o.status == 200]
    assert start.au == "all" and start.note.startswith(FOLLOWED_ONLY)
    assert not any(p.startswith("/2022/") for p in asked)


def test_the_ojs_manifest_s_assets_are_kept_for_every_au_and_fetched_once(node: Node) -> None:
    ojs = OjsSite()
    with serve_site(ojs) as url:
        configure_ojs_harvest(node, TITLE, ojs, url)
        result = node.web_harvest.run(TITLE, fetcher=fast())
    shared = {"/styles/ojs.css", "/public/cover.png"}  # on the manifest, and on every issue and article page
    assert Counter(p for p in ojs.state.requests if p in shared) == dict.fromkeys(shared, 1)
    assert {(o.url.removeprefix(url), o.au) for o in result.outcomes if o.url.removeprefix(url) in shared} == {
        (p, None) for p in shared
    }
    for label in ("2023", "2024"):
        indexed, in_warcs = harvested(node, node.browse.object_id(f"{TITLE}/{label}"))
        assert shared <= indexed and shared <= in_warcs


def captures_of(
    tmp_path: Path, url: str, *, pause_after: int | None, old_spool: bool = False
) -> list[tuple[str | None, str]]:
    """The crawl's captures (AU, path), in order; paused every ``pause_after`` fetches and resumed until done
    (``old_spool``: each saved frontier rewritten as the crawler before assets per AU wrote it, URLs alone)."""
    plan = make_plan("generic", {"start_urls": [f"{url}/"], **SETTINGS})
    spool = tmp_path / f"crawl-{pause_after}-{old_spool}"
    pauses = 0
    while True:
        checkpoint = Checkpoint(spool, "shared")
        try:
            result = crawl(plan, fast(), checkpoint=checkpoint, pause_after=pause_after)
        except CrawlPaused:
            pauses += 1
            if old_spool:
                frontier_path = spool / "frontier.json"
                frontier = json.loads(frontier_path.read_text())
                assert isinstance(frontier["seen"], dict)
                frontier["seen"] = sorted(frontier["seen"])
                frontier_path.write_text(json.dumps(frontier))
            continue
        assert pauses > 3 or pause_after is None
        return [(au, urlsplit(f.url).path) for au, f in result.captures()]


def test_a_crawl_paused_and_resumed_makes_the_same_captures(tmp_path: Path, site: tuple[str, list[str]]) -> None:
    url, asked = site

    def fetches() -> Counter[str]:
        """What was asked for, less robots.txt and the start page (each run asks it for the permission first)."""
        return Counter(p for p in asked if p not in ("/robots.txt", "/"))

    whole = captures_of(tmp_path, url, pause_after=None)
    assert {au for au, path in whole if path == "/theme/fonts/serif.woff2"} == {"all", "2022", "2023"}
    assert len(whole) == len(set(whole))
    once = fetches()
    for every in (1, 2, 3):
        asked.clear()
        assert captures_of(tmp_path, url, pause_after=every) == whole, every
        assert fetches() == once, every  # nothing fetched again on resuming
    asked.clear()
    assert captures_of(tmp_path, url, pause_after=2, old_spool=True) == whole
    assert fetches() == once


def test_what_a_harvest_run_counts_as_not_collected() -> None:
    """The run's summary ("N not collected") counts misses only: not a redirect followed, a stylesheet collected but
    read in part, nor a start page of an AU not harvested now, read for its links."""
    from strongroom.harvest.crawl import Outcome
    from strongroom.harvest.pages import PARTLY_READ

    def missed(note: str) -> bool:
        return Outcome("http://j.example/x", "2023", None, 0, note).missed

    assert not any(
        missed(n)
        for n in (
            "collected",
            "redirect to http://j.example/y",
            PARTLY_READ,
            f"{FOLLOWED_ONLY} (AU all is not harvested now)",
        )
    )
    assert all(missed(n) for n in ("HTTP 404", "trap: redirect loop", "not collected: robots.txt disallows it"))
