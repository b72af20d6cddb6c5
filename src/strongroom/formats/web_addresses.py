"""The addresses a web page's CSS and ``srcset`` attributes hold, found one way for the harvester (which collects
what a page needs to display) and the portal's replay (which points them at archived copies): in CSS, ``url(…)``
quoted or not, ``@import "…"`` and the image candidates of ``image-set(…)``, in every nested block; in a
``srcset``, each candidate's URL, parsed as the HTML spec's "parse a srcset attribute" does; and which HTML
attributes hold what a page needs.

Hostile input is bounded: blocks nested thousands deep are walked with a stack, not recursion; a srcset is read
for its first ``MOST_CANDIDATES`` candidates; :func:`css_addresses` reads the first ``MOST_CSS_CHARS`` characters
and lists at most ``MOST_CSS_ADDRESSES`` addresses (tinycss2 is pure Python, about a second a megabyte).

Imports tinycss2 and the standard library, nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tinycss2 import parse_component_value_list
from tinycss2.ast import (
    AtKeywordToken,
    CurlyBracketsBlock,
    FunctionBlock,
    Node,
    ParenthesesBlock,
    SquareBracketsBlock,
    StringToken,
    URLToken,
    WhitespaceToken,
)
from tinycss2.bytes import decode_stylesheet_bytes

# CSS without any of these holds no address (a backslash may spell "url(" with escapes): not tokenised
MAYBE_ADDRESS = re.compile(r"url\(|@import|image-set|\\", re.IGNORECASE)
IMAGE_SETS = ("image-set", "-webkit-image-set")
MOST_CSS_CHARS = 1_000_000  # of one stylesheet (or <style> element, or style attribute) read for its addresses
MOST_CSS_ADDRESSES = 5_000  # listed from one of them
MOST_CANDIDATES = 100  # of one srcset
SPACE = " \t\n\r\f"  # the HTML spec's ASCII white space
# the attributes of each HTML element that hold what a page needs to display (a <link>'s only for some rels, an
# <input>'s only an image button's; a <style> element's text is CSS), and the elements with a srcset too
REQUISITES_IN: dict[str, tuple[str, ...]] = {
    "link": ("href",),
    "style": (),
    "script": ("src",),
    "img": ("src",),
    "iframe": ("src",),
    "source": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "object": ("data",),
    "embed": ("src",),
    "input": ("src",),
}
SRCSET_IN = ("img", "source")


def css_address_tokens(nodes: list[Node]) -> Iterator[URLToken | StringToken]:
    """The URL and string tokens of parsed CSS that are addresses, in every nested block (walked with a stack, not
    recursion: a hostile stylesheet may nest blocks thousands deep)."""
    stack = [nodes]
    while stack:
        tokens = stack.pop()
        after_import = False
        for token in tokens:
            if isinstance(token, WhitespaceToken):
                continue
            if isinstance(token, URLToken) or (after_import and isinstance(token, StringToken)):
                yield token
            elif isinstance(token, FunctionBlock):
                if token.lower_name == "url":
                    yield from (a for a in token.arguments if isinstance(a, StringToken))
                elif token.lower_name in IMAGE_SETS:
                    yield from (a for a in token.arguments if isinstance(a, StringToken))
                    stack.append(token.arguments)
                else:
                    stack.append(token.arguments)
            elif isinstance(token, (CurlyBracketsBlock, SquareBracketsBlock, ParenthesesBlock)):
                stack.append(token.content)
            after_import = isinstance(token, AtKeywordToken) and token.lower_value == "import"


@dataclass(frozen=True)
class CssAddresses:
    """The addresses written in a CSS text, as written (CSS escapes undone, not resolved), in no set order."""

    addresses: list[str]
    capped: bool  # only part of the text was read, or more addresses were in it than were listed


def css_cut(css: str, most_chars: int = MOST_CSS_CHARS) -> int:
    """Where a CSS text is cut to be read for its addresses: all of it when it has at most ``most_chars``
    characters, else at the end of the last rule or declaration before them (cut anywhere, a ``url(`` cut in two
    would give half an address)."""
    if len(css) <= most_chars:
        return len(css)
    return max(css.rfind("}", 0, most_chars), css.rfind(";", 0, most_chars)) + 1


def css_addresses(css: str, *, most_chars: int = MOST_CSS_CHARS, most: int = MOST_CSS_ADDRESSES) -> CssAddresses:
    """The addresses in ``css``: a stylesheet, a ``<style>`` element's text or a ``style`` attribute; a text longer
    than ``most_chars`` is read up to :func:`css_cut`."""
    capped = len(css) > most_chars
    if capped:
        css = css[: css_cut(css, most_chars)]
    if not MAYBE_ADDRESS.search(css):
        return CssAddresses([], capped)
    found: list[str] = []
    for token in css_address_tokens(parse_component_value_list(css, skip_comments=True)):
        if len(found) == most:
            return CssAddresses(found, True)
        if token.value.strip(SPACE):
            found.append(token.value.strip(SPACE))
    return CssAddresses(found, capped)


def stylesheet_addresses(
    body: bytes, charset: str | None, *, most_chars: int = MOST_CSS_CHARS, most: int = MOST_CSS_ADDRESSES
) -> CssAddresses:
    """The addresses in a stylesheet's bytes (``charset``: its Content-Type's, if any), decoded as a browser
    decodes them (a byte order mark, then ``charset``, then ``@charset``, then UTF-8). Only the first
    ``most_chars`` bytes and one more are decoded (a character is at least one byte): a longer one is capped."""
    css, _ = decode_stylesheet_bytes(body[: most_chars + 1], protocol_encoding=charset)
    return css_addresses(css, most_chars=most_chars, most=most)


def srcset_spans(value: str, most: int = MOST_CANDIDATES) -> Iterator[tuple[int, int]]:
    """Where each candidate's URL stands in a srcset (start, end), for its first ``most`` candidates, as the HTML
    spec's "parse a srcset attribute" finds them: a URL runs to white space, and commas ending it belong to the
    separator; its descriptors run to a comma outside parentheses. A candidate whose URL is only commas is
    skipped."""
    i = 0
    n = len(value)
    candidates = 0
    while candidates < most:
        while i < n and (value[i] in SPACE or value[i] == ","):
            i += 1
        if i >= n:
            return
        start = i
        while i < n and value[i] not in SPACE:
            i += 1
        end = i
        while end > start and value[end - 1] == ",":
            end -= 1
        candidates += 1
        if end > start:
            yield start, end
        if end < i:  # the URL ended with commas: no descriptors
            continue
        depth = False
        while i < n:
            c = value[i]
            i += 1
            if depth:
                depth = c != ")"
            elif c == "(":
                depth = True
            elif c == ",":
                break


def srcset_urls(value: str) -> list[str]:
    """The URLs of a srcset's candidates, as written."""
    return [value[start:end] for start, end in srcset_spans(value)]
