"""The harvester collects what a page needs to display, as a browser would ask for it: stylesheets and what their
``url()``s and ``@import``s name (relative to the stylesheet), images in ``srcset``, icons, posters, media, inline
CSS, all relative to the page's ``<base href>``; never a ``data:`` URL or what is out of scope. Then the portal's
replay points each of them at a capture it serves. CSS read for addresses is bounded: a hostile stylesheet cannot
hold the crawl up."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html

from strongroom.formats.web_addresses import MOST_CSS_ADDRESSES, MOST_CSS_CHARS, css_addresses, srcset_urls
from strongroom.harvest.checkpoint import Checkpoint
from strongroom.harvest.crawl import crawl
from strongroom.harvest.fetch import Fetched, Fetcher
from strongroom.harvest.pages import PARTLY_READ, links
from strongroom.harvest.plans import make_plan
from strongroom.node import Node
from strongroom.services import harvests as hs
from tests_support import board_release, serving

TITLE = "issn:3907-6563"
PERMISSION = "LOCKSS system has permission to collect, preserve, and serve this Archival Unit"

PAGE = f"""<!DOCTYPE html><html><head><base href="/assets/">
<link rel="stylesheet" href="css/site.css"><link rel="icon" href="/favicon.ico">
<link rel="preload" href="fonts/preloaded.woff2" as="font">
<style>.hero {{ background: url("img/hero.png") }} .dot {{ background: url(data:image/png;base64,iVBORw0KGgo=) }}
</style></head><body><p>{PERMISSION}</p>
<img src="img/small.png" srcset="img/medium.png 2x, img/large.png 3x" alt="">
<picture><source srcset="img/photo.avif 1x, img/photo@2x.avif 2x" type="image/avif"><img src="img/photo.jpg"></picture>
<div style="background-image: url('img/banner.png')">banner</div>
<video poster="media/poster.jpg"><source src="media/clip.webm" type="video/webm"></video>
<audio><source src="media/talk.mp3"></audio>
<object data="media/figure.svg"></object><embed src="media/chart.svg">
<input type="image" src="img/go.png" alt="go"><input type="text" src="img/not-an-image-button.png">
<img src="https://cdn.elsewhere.example/logo.png" alt=""><img src="/private/secret.png" alt="">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
<a href="about.html">About</a></body></html>"""

SITE_CSS = """@import "print.css";
@font-face { font-family: J; src: url(../fonts/j.woff2) format("woff2"), url('../fonts/j.ttf') format("truetype") }
body { background: url("../img/paper.png") }
@media screen { @supports (display: grid) { .n { background-image: image-set("../img/a.png" 1x, url(../img/b.png) 2x) } } }
.svg { background: url("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg'/>") }
.far { background: url(https://cdn.elsewhere.example/bg.png) } .secret { background: url(/private/bg.png) }
"""
PRINT_CSS = ".p { background: url(print-bg.png) }"

# what the page needs, each from where it is named (the page's base is /assets/; a stylesheet's own address)
IN_CSS = {
    "/assets/css/print.css",
    "/assets/fonts/j.woff2",
    "/assets/fonts/j.ttf",
    "/assets/img/paper.png",
    "/assets/img/a.png",
    "/assets/img/b.png",
}
ON_PAGE = {
    "/assets/css/site.css",
    "/favicon.ico",
    "/assets/fonts/preloaded.woff2",
    "/assets/img/hero.png",
    "/assets/img/small.png",
    "/assets/img/medium.png",
    "/assets/img/large.png",
    "/assets/img/photo.avif",
    "/assets/img/photo@2x.avif",
    "/assets/img/photo.jpg",
    "/assets/img/banner.png",
    "/assets/media/poster.jpg",
    "/assets/media/clip.webm",
    "/assets/media/talk.mp3",
    "/assets/media/figure.svg",
    "/assets/media/chart.svg",
    "/assets/img/go.png",
}
REQUISITES = ON_PAGE | IN_CSS | {"/assets/css/print-bg.png"}
TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".webm": "video/webm", ".mp3": "audio/mpeg", ".html": "text/html"}


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    """The journal's page, its stylesheets and every requisite over real HTTP (a requisite's body is its path);
    anything else is 404. Every path asked for is listed."""
    asked: list[str] = []
    bodies = {
        "/": PAGE.encode(),
        "/assets/css/site.css": SITE_CSS.encode(),
        "/assets/css/print.css": PRINT_CSS.encode(),
    }
    bodies["/assets/about.html"] = b"<html><body>about us</body></html>"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            path = urlsplit(self.path).path
            if path not in REQUISITES | set(bodies):
                self.send_response(404)
                self.end_headers()
                return
            suffix = path[path.rfind(".") :] if "." in path else ".html"
            self.send_response(200)
            self.send_header("Content-Type", TYPES.get(suffix, "application/octet-stream"))
            self.end_headers()
            self.wfile.write(bodies.get(path, path.encode()))

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, asked


def harvest(node: Node, url: str) -> list[tuple[str, str]]:
    """The site harvested by the generic plan (``/private/`` excluded) into one AU, ``all``: (URL, note) of each
    outcome."""
    node.harvests.configure(
        TITLE,
        name="Journal of Requisites",
        publisher="Nairobi Health Sciences Publishers",
        country="KE",
        plan="generic",
        settings={"start_urls": [f"{url}/"], "exclude": ["/private/"], "delay": 0},
    )
    result = node.web_harvest.run(TITLE, fetcher=Fetcher(delay=0, retries=1, max_bytes=1024 * 1024, timeout=5))
    return [(o.url, o.note) for o in result.outcomes]


def test_a_page_s_requisites_are_collected_and_nothing_else(node: Node, site: tuple[str, list[str]]) -> None:
    url, asked = site
    outcomes = harvest(node, url)
    collected = {u.removeprefix(url) for u, note in outcomes if note == "collected"}
    assert collected == REQUISITES | {"/", "/assets/about.html"}
    # the data: URLs, the excluded and the other host's addresses, the text input's src: never asked for
    assert {urlsplit(p).path for p in asked} == REQUISITES | {"/", "/assets/about.html", "/robots.txt"}
    object_id = node.browse.object_id(f"{TITLE}/all")
    with node.store.open_file(object_id, hs.CDXJ) as fh:
        indexed = [json.loads(line.split(" ", 2)[2]) for line in fh.read().decode().splitlines() if line.strip()]
    assert {f["url"].removeprefix(url) for f in indexed if f.get("status") == "200"} >= REQUISITES


def release(node: Node, au_key: str) -> None:
    """``au_key`` released by a board of three (its pages are replayed on the portal from then on)."""
    board_release(node, "aus", [au_key])


ARCHIVED = re.compile(r"/archive/[^\"')\s,]+")


def archived_targets(addresses: list[str]) -> set[str]:
    """The original URLs of the archived addresses among ``addresses`` (``/archive/AU/?url=…``)."""
    return {parse_qs(urlsplit(a).query)["url"][0] for a in addresses if a.startswith("/archive/")}


def test_the_replayed_page_and_stylesheets_point_every_requisite_at_a_capture(
    node: Node, site: tuple[str, list[str]]
) -> None:
    from strongroom.inprocess import TestClient
    from strongroom.portal.app import create_portal

    url, _ = site
    harvest(node, url)
    release(node, f"{TITLE}/all")
    client = TestClient(create_portal(node))
    page = client.get(f"/archive/{TITLE}/all/", params={"url": f"{url}/"})
    assert page.status_code == 200
    doc = html.fromstring(page.content)
    written = [v for attribute in ("href", "src", "poster", "data") for v in doc.xpath(f"//@{attribute}")]
    written += [u for v in doc.xpath("//@srcset") for u in srcset_urls(v)]
    written += [
        m.group(0) for css in [*doc.xpath("//style/text()"), *doc.xpath("//@style")] for m in ARCHIVED.finditer(css)
    ]
    assert {t.removeprefix(url) for t in archived_targets(written)} == ON_PAGE | {"/assets/about.html"}
    assert all(client.get(a).status_code == 200 for a in written if a.startswith("/archive/"))
    # what was not collected leads where it led (written in full: the page's <base> is taken off)
    assert {"https://cdn.elsewhere.example/logo.png", f"{url}/private/secret.png"} <= set(written)

    [site_css] = [a for a in written if a.endswith("site.css")]
    replayed_css = client.get(site_css)
    assert replayed_css.status_code == 200
    in_css = ARCHIVED.findall(replayed_css.text)
    assert {t.removeprefix(url) for t in archived_targets(in_css)} == IN_CSS
    assert all(client.get(a).status_code == 200 for a in in_css)
    [print_css] = [a for a in in_css if "print.css" in a]
    [print_bg] = ARCHIVED.findall(client.get(print_css).text)
    assert archived_targets([print_bg]) == {f"{url}/assets/css/print-bg.png"}
    assert client.get(print_bg).content == b"/assets/css/print-bg.png"


def fetched(url: str, body: str | bytes, media_type: str) -> Fetched:
    data = body.encode() if isinstance(body, str) else body
    return Fetched(url, 200, "OK", "HTTP/1.1", [("Content-Type", media_type)], data, [], dt.datetime.now(dt.UTC))


def test_a_stylesheet_s_addresses_are_relative_to_it_in_every_nested_block() -> None:
    css = fetched("http://j.example/themes/default/css/main.css", SITE_CSS, "text/css; charset=utf-8")
    found = links(css)
    assert {x.url for x in found} == {
        "http://j.example/themes/default/css/print.css",
        "http://j.example/themes/default/fonts/j.woff2",
        "http://j.example/themes/default/fonts/j.ttf",
        "http://j.example/themes/default/img/paper.png",
        "http://j.example/themes/default/img/a.png",  # in an image-set, in @supports, in @media
        "http://j.example/themes/default/img/b.png",
        "https://cdn.elsewhere.example/bg.png",  # scope is the plan's to decide
        "http://j.example/private/bg.png",
    }
    assert {x.kind for x in found} == {"asset"}
    escaped = fetched(
        "http://j.example/c/s.css", r".e { background: u\72l(\2e./i.png) } .f{b:url( ' sp.png ' )}", "text/css"
    )
    assert {x.url for x in links(escaped)} == {"http://j.example/i.png", "http://j.example/c/sp.png"}


def test_a_stylesheet_served_under_another_type_is_read_when_a_page_linked_it_as_one() -> None:
    misserved = fetched("http://j.example/theme?v=3", ".x { background: url(x.png) }", "application/octet-stream")
    assert links(misserved) == []
    assert [x.url for x in links(misserved, stylesheet=True)] == ["http://j.example/x.png"]
    error_page = fetched("http://j.example/theme", "<html><a href='/home'>home</a></html>", "text/html")
    assert [x.url for x in links(error_page, stylesheet=True)] == ["http://j.example/home"]  # HTML stays HTML
    page = fetched("http://j.example/", "<link rel='StyleSheet alternate' href='/theme?v=3'>", "text/html")
    [link] = links(page)
    assert (link.url, link.text, link.kind) == ("http://j.example/theme?v=3", "stylesheet", "asset")


def test_hostile_css_is_read_only_so_far() -> None:
    # a million url()s: the first MOST_CSS_ADDRESSES listed, and the text read only to MOST_CSS_CHARS
    many = css_addresses("a{b:url(x.png)}" * 1_000_000)
    assert len(many.addresses) <= MOST_CSS_ADDRESSES and many.capped
    started = time.perf_counter()
    huge = fetched("http://j.example/huge.css", "a{b:url(x.png)}" * 1_000_000, "text/css")
    assert len(links(huge)) == MOST_CSS_ADDRESSES
    # nested ten thousand deep (no recursion), and the address after the cut is not read
    deep = "@media a{" * 10_000 + ".d{background:url(deep.png)}" + "}" * 10_000
    assert css_addresses(deep).addresses == ["deep.png"]
    tail = css_addresses("a{}" + " " * MOST_CSS_CHARS + "b{c:url(late.png)}")
    assert tail.addresses == [] and tail.capped
    cut = css_addresses("a{b:url(whole.png)}c{d:url(cut-in-two.png)}", most_chars=30)
    assert cut.addresses == ["whole.png"] and cut.capped  # never half an address
    # a page's inline CSS shares one budget: thousands of style attributes are read only to MOST_CSS_CHARS
    styled = "".join(f"<p style='background:url(s{i}.png);{' ' * 1000}'>" for i in range(5_000))
    found = links(fetched("http://j.example/", f"<html><body>{styled}</body></html>", "text/html"))
    assert 0 < len(found) <= MOST_CSS_CHARS // 1000 + 1
    assert time.perf_counter() - started < 60  # seconds: under a second a megabyte when nothing else runs


def test_a_crawl_reads_a_misserved_stylesheet_and_notes_one_read_only_in_part(tmp_path: Path) -> None:
    theme = ("a{b:url(x.png)}" * 70_000).encode()  # over MOST_CSS_CHARS, served as no stylesheet should be
    bodies = {"/": f"<html><link rel=stylesheet href=/t/theme><p>{PERMISSION}</p></html>".encode(), "/t/theme": theme}
    bodies["/t/x.png"] = b"png"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html" if self.path == "/" else "application/octet-stream")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        plan = make_plan("generic", {"start_urls": [f"{url}/"]})
        fetcher = Fetcher(delay=0, retries=1, timeout=5)
        result = crawl(plan, fetcher, checkpoint=Checkpoint(tmp_path / "crawl", "requisites"))
    notes = [(o.url.removeprefix(url), o.note) for o in result.outcomes]
    assert ("/t/theme", "collected") in notes and ("/t/x.png", "collected") in notes
    assert ("/t/theme", PARTLY_READ) in notes


def test_srcset_candidates_are_found_as_the_html_spec_parses_them() -> None:
    assert srcset_urls("a.png 1x,b.png 2x") == ["a.png", "b.png"]
    assert srcset_urls(" x,,.png  100w , y.png,, z.png") == ["x,,.png", "y.png", "z.png"]
    assert srcset_urls("f.png (max-width: 1px, 2px) 2x, g.png") == ["f.png", "g.png"]
    assert len(srcset_urls(", ".join(f"i{n}.png {n}w" for n in range(1, 10_000)))) == 100
