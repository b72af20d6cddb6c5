"""The bytes a reader gets for a representative archived page, pinned: links to addresses the AU holds and to
addresses it does not; relative, absolute, protocol-relative, rooted and fragment links; a page that is not UTF-8.
``srcset`` candidates and CSS ``url()`` are rewritten too; ``<base href>`` is resolved against, then taken off (what
it resolved that the AU does not hold is written out in full). Some is left as the publisher wrote it today (an
upper-case host): this pins that too, so a change to it is made on purpose. The AU's index is
looked up as a replay does (a CDXJ index searched on disk, and its memory of earlier look-ups), and as a set."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import pytest

from strongroom.domain.links import page_origin, resolved
from strongroom.harvest.cdxj import CdxIndex
from strongroom.harvest.fetch import Fetched
from strongroom.harvest.warc import WarcSink
from strongroom.portal.replay import rewrite

PAGE = "https://journal.example/index.php/j/article/view/3"
HELD = {
    "https://journal.example/index.php/j/article/view/3/3",
    "https://journal.example/styles/site.css",
    "https://journal.example/public/cover.png",
    "https://journal.example/public/cover-2x.png",
    "https://journal.example/index.php/j/issue/view/1",
    "https://journal.example/index.php/j/about",
    "https://cdn.example/fonts.css",
    "https://journal.example/index.php/j",
    "https://journal.example/js/app.js",
}
NOT_HELD = {  # collected, but not as a page the AU holds: a 404, and an address SURT takes as a held one
    ("https://journal.example/favicon.ico", 404),
    ("https://www.journal.example/index.php/j", 200),
}
BODY = (
    "<!DOCTYPE html>\n<html lang='fr'><head>"
    "<meta http-equiv='Content-Type' content='text/html; charset=windows-1252'>"
    "<base href='https://journal.example/index.php/j/'>"
    "<title>R\xe9sum\xe9 \u2013 \xabl\u2019article\xbb</title>"
    "<link rel='stylesheet' href='/styles/site.css'><link rel='stylesheet' href='//cdn.example/fonts.css'>"
    "<link rel='icon' href='https://journal.example/favicon.ico'>"
    "<style>body { background: url('/public/cover.png') }</style>"
    "<script src='../../../../js/app.js'></script></head><body>"
    "<a href='3/3'>PDF</a> <a href=' https://journal.example/index.php/j/issue/view/1#toc '>Issue</a> "
    "<a href='https://journal.example/index.php/j/about?x'>About (other query)</a> "
    "<a href='about'>About (relative to base)</a> <a href='#top'>Top</a> <a href=''>empty</a> <a>none</a> "
    "<a href='/index.php/j'>Journal</a> <a href='HTTPS://JOURNAL.EXAMPLE/index.php/j/issue/view/1'>upper</a> "
    "<img src='/public/cover.png' srcset='/public/cover.png 1x, /public/cover-2x.png 2x' alt='couverture \xe9'> "
    "<div style=\"background-image: url('/public/cover.png')\">styled</div> "
    "<iframe src='3/3'></iframe><map><area href='/index.php/j/issue/view/1#a' shape='rect'></map> "
    "<a href='/index.php/j/search?q=caf\xe9&amp;a=1'>Search</a> <a href='http://['>broken</a> "
    "<a href='mailto:ed@journal.example'>Editor</a> <a href='javascript:void(0)'>js</a></body></html>"
).encode("cp1252")
EXPECTED = (
    b'<!DOCTYPE html>\n<html lang="fr"><head><title>R\xc3\xa9sum\xc3\xa9 \xe2\x80\x93 \xc2\xabl\xe2\x80\x99arti'
    b'cle\xc2\xbb</title><link rel="stylesheet" href="/archive/issn:1/2023/?url=https%3A%2F%2Fjournal.example%2'
    b'Fstyles%2Fsite.css"><link rel="stylesheet" href="/archive/issn:1/2023/?url=https%3A%2F%2Fcdn.example%2Ffo'
    b'nts.css"><link rel="icon" href="https://journal.example/favicon.ico"><style>body { background: url("/arch'
    b'ive/issn:1/2023/?url=https%3A%2F%2Fjournal.example%2Fpublic%2Fcover.png") }</style><script src="/archive/'
    b'issn:1/2023/?url=https%3A%2F%2Fjournal.example%2Fjs%2Fapp.js"></script></head><body><a href="https://jour'
    b'nal.example/index.php/j/3/3">PDF</a> <a href="/archive/issn:1/2023/?url=https%3A%2F%2Fjournal.example%2Fi'
    b'ndex.php%2Fj%2Fissue%2Fview%2F1#toc">Issue</a> <a href="https://journal.example/index.php/j/about?x">Abou'
    b't (other query)</a> <a href="/archive/issn:1/2023/?url=https%3A%2F%2Fjournal.example%2Findex.php%2Fj%2Fab'
    b'out">About (relative to base)</a> <a href="#top">Top</a> <a href="">empty</a> <a>none</a> <a href="/archi'
    b've/issn:1/2023/?url=https%3A%2F%2Fjournal.example%2Findex.php%2Fj">Journal</a> <a href="HTTPS://JOURNAL.E'
    b'XAMPLE/index.php/j/issue/view/1">upper</a> <img src="/archive/issn:1/2023/?url=https%3A%2F%2Fjournal.exam'
    b'ple%2Fpublic%2Fcover.png" srcset="/archive/issn:1/2023/?url=https%3A%2F%2Fjournal.example%2Fpublic%2Fcove'
    b'r.png 1x, /archive/issn:1/2023/?url=https%3A%2F%2Fjournal.example%2Fpublic%2Fcover-2x.png 2x" alt="couver'
    b'ture \xc3\xa9"> <div style=\'background-image: url("/archive/issn:1/2023/?url=https%3A%2F%2Fjournal.examp'
    b'le%2Fpublic%2Fcover.png")\'>styled</div> <iframe src="https://journal.example/index.php/j/3/3"></iframe><'
    b'map><area href="/archive/issn:1/2023/?url=https%3A%2F%2Fjournal.example%2Findex.php%2Fj%2Fissue%2Fview%2F'
    b'1#a" shape="rect"></map> <a href="https://journal.example/index.php/j/search?q=caf%C3%A9&amp;a=1">Search<'
    b'/a> <a href="http://[">broken</a> <a href="mailto:ed@journal.example">Editor</a> <a href="javascript:void'
    b'(0)">js</a></body></html>'
)


def index_of(workdir: Path) -> Path:
    """The CDXJ index of a crawl that collected what ``HELD`` and ``NOT_HELD`` name, sorted as a harvest writes it."""
    sink = WarcSink(workdir, prefix="crawl")
    when = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    for url, status in [*((u, 200) for u in sorted(HELD)), *sorted(NOT_HELD)]:
        headers = [("Content-Type", "text/html")]
        sink.write(Fetched(url, status, "OK", "HTTP/1.1", headers, b"x", [("User-Agent", "test")], when))
    sink.close()
    path = workdir / "index.cdxj"
    path.write_text("".join(c.text() + "\n" for c in sorted(sink.cdx, key=lambda c: (c.key, c.timestamp))))
    return path


def test_a_page_is_rewritten_to_the_same_bytes_from_a_set() -> None:
    assert rewrite(BODY, PAGE, "issn:1/2023", HELD) == EXPECTED


@pytest.mark.parametrize("times", [1, 2], ids=["first look-up", "looked up again"])
def test_a_page_is_rewritten_to_the_same_bytes_from_the_aus_index(tmp_path: Path, times: int) -> None:
    with index_of(tmp_path).open("rb") as fh:
        index = CdxIndex(fh)
        assert index.mapped
        for _ in range(times):  # the second time, what the index remembers of the first answers
            assert rewrite(BODY, PAGE, "issn:1/2023", index) == EXPECTED
        index.close()


HREFS = [
    "3/3",
    "/styles/site.css",
    "//cdn.example/x.css",
    "https://journal.example/a#b",
    "https://journal.example/a#",
    "http://other.example",
    "http://other.example/",
    "https://journal.example/a/../b",
    "/a/./b",
    "/a/../b",
    "/",
    "/a?",
    "/a;p",
    "/a#",
    "/a#f",
    "#top",
    "?q=1",
    "../x",
    "https://h/a?b",
    "https://[::1]/a",
    "http://[",
    "/a b",
    "/caf\u00e9",
    "https://h:8080/p",
    "HTTPS://H/p",
    "mailto:x@y",
    "javascript:void(0)",
    "data:,x",
    "/a//b",
    "https:relative",
    "https://",
    "https:///p",
    "http://h\\a",
    "/\\x",
]


@pytest.mark.parametrize(
    "page", [PAGE, "http://journal.example/", "https://journal.example:8443/j/a/b?q=1", "file:///x/y", "http://["]
)
def test_links_resolve_as_urljoin_resolves_them(page: str) -> None:
    origin = page_origin(page)
    for href in HREFS:
        try:
            expected = urldefrag(urljoin(page, href))
        except ValueError:
            with pytest.raises(ValueError):
                urldefrag(resolved(page, origin, href))
            continue
        assert urldefrag(resolved(page, origin, href)) == expected, href
