"""Links found on a page resolve exactly as urljoin would resolve them (the crawler skips urljoin for addresses
that are already absolute, which must not change a single one)."""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import urldefrag, urljoin

from hypothesis import given
from hypothesis import strategies as st

from strongroom.harvest.fetch import Fetched
from strongroom.harvest.pages import links

BASE = "http://journal.example/index.php/j/issue/view/3"
HREFS = [
    "/index.php/j/article/view/1",
    "../article/view/2#sec1",
    "view/4?x=1&y=2",
    "http://journal.example/a/../b/./c",
    "https://other.example/x#frag",
    "HTTP://Journal.Example/upper",
    "//cdn.example/style.css",
    "?page=2",
    "#top",
    "mailto:editor@journal.example",
    "javascript:void(0)",
]


def page(body: str) -> Fetched:
    return Fetched(
        BASE, 200, "OK", "HTTP/1.1", [("Content-Type", "text/html")], body.encode(), [], dt.datetime.now(dt.UTC)
    )


def expected(href: str) -> str:
    return urldefrag(urljoin(BASE, href))[0]


def resolved(href: str) -> list[str]:
    try:
        return [expected(href)] if href else []  # an empty href is no link
    except ValueError:
        return []  # urljoin refuses it (a bad IPv6 host): no link either


def test_every_kind_of_link_resolves_as_urljoin_does() -> None:
    body = "<html><head><link rel='stylesheet' href='/s.css'><script src='j.js'></script></head><body>"
    body += "".join(f"<a href='{h}'>link {i}</a>" for i, h in enumerate(HREFS)) + "<img src='../i.png'></body></html>"
    found = links(page(body))
    assert [(x.url, x.kind) for x in found] == [
        (expected("/s.css"), "asset"),
        (expected("j.js"), "asset"),
        *[(expected(h), "a") for h in HREFS],
        (expected("../i.png"), "asset"),
    ]
    assert [x.text for x in found if x.kind == "a"] == [f"link {i}" for i in range(len(HREFS))]


@given(
    st.sampled_from(["http://", "https://", "HTTP://", "http:", "", "/", "//", "/.", "/a/", "../"]),
    st.text(alphabet="abc/.?#=&%:;[] \t\n", max_size=30),
)
def test_any_address_resolves_as_urljoin_does(prefix: str, rest: str) -> None:
    href = prefix + rest
    found = links(page(f"<html><body><a href='{escape(href)}'>x</a></body></html>"))
    assert [x.url for x in found] == resolved(href)


def test_a_malformed_address_is_skipped_not_fatal() -> None:
    found = links(page("<a href='http://['>bad</a><a href='https://[::1'>bad</a><a href='/ok'>ok</a>"))
    assert [x.url for x in found] == [expected("/ok")]
