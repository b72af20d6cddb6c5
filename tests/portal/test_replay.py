"""Rewriting an archived page so that its links to what the AU holds lead to the archived copies."""

from __future__ import annotations

from lxml import html

from strongroom.portal.replay import archived_address, rewrite

PAGE = "http://journal.example/index.php/j/article/view/3"
HELD = {
    "http://journal.example/index.php/j/article/view/3/3",
    "http://journal.example/styles/site.css",
    "http://journal.example/public/cover.png",
    "http://journal.example/index.php/j/issue/view/1",
}


def test_what_the_au_holds_is_linked_to_its_archived_copy_and_the_rest_is_left() -> None:
    body = (
        "<html><head><meta charset='iso-8859-1'><link rel='stylesheet' href='/styles/site.css'>"
        "<title>R\xe9sum\xe9</title></head><body>"
        "<a href='3/3'>PDF</a> <a href='http://journal.example/index.php/j/issue/view/1#toc'>Issue</a> "
        "<img src='../../../../public/cover.png'> <a href='/index.php/j/search'>Search</a> "
        "<a href='http://['>broken</a> <a href='mailto:ed@journal.example'>Editor</a></body></html>"
    ).encode("latin-1")
    out = rewrite(body, PAGE, "issn:1/2023", HELD)
    assert out is not None
    doc = html.fromstring(out.decode("utf-8"))
    assert doc.xpath("//a/@href") == [
        archived_address("issn:1/2023", "http://journal.example/index.php/j/article/view/3/3"),
        archived_address("issn:1/2023", "http://journal.example/index.php/j/issue/view/1") + "#toc",
        "/index.php/j/search",  # not held: as the publisher wrote it
        "http://[",
        "mailto:ed@journal.example",
    ]
    assert doc.xpath("//link/@href") == [archived_address("issn:1/2023", "http://journal.example/styles/site.css")]
    assert doc.xpath("//img/@src") == [archived_address("issn:1/2023", "http://journal.example/public/cover.png")]
    assert doc.xpath("string(//title)") == "Résumé"  # decoded from Latin-1, served as UTF-8
    assert not doc.xpath("//meta[@charset]")
    assert archived_address("a/b", "http://x/?q=1&r=2") == "/archive/a/b/?url=http%3A%2F%2Fx%2F%3Fq%3D1%26r%3D2"


def test_what_is_not_html_is_left_to_be_served_as_it_is() -> None:
    assert rewrite(b"", PAGE, "a", HELD) is None
