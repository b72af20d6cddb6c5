"""The addresses in CSS of a replayed page (a stylesheet, a ``<style>`` element, a ``style`` attribute): ``url(…)``
quoted or not, ``@import "…"`` and the image candidates of ``image-set(…)``. tinycss2 finds them, as
:mod:`strongroom.formats.web_addresses` finds them for the harvester too; each is replaced where it stands, so every
byte outside those tokens (comments, white space, odd but harmless syntax) is served as the publisher wrote it.
Which address replaces which is the caller's: :mod:`strongroom.portal.replay`.

Imports tinycss2, the formats layer and the standard library, nothing of the portal's web framework."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from tinycss2 import parse_component_value_list
from tinycss2.ast import Node, StringToken, URLToken
from tinycss2.bytes import decode_stylesheet_bytes
from tinycss2.serializer import serialize_string_value

from strongroom.formats.web_addresses import MAYBE_ADDRESS, MOST_CSS_ADDRESSES, css_address_tokens, css_cut

# an address as written (CSS escapes undone) -> the address to write instead, None to leave it
Replace = Callable[[str], str | None]

# what tinycss2 takes as a line break (it counts lines and columns in its text with these made "\n")
LINE_BREAK = re.compile(r"\r\n|[\r\n\f]")
# an address written in url() as it is, unquoted (the portal's archived addresses are)
PLAIN_URL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%]+\Z")
# what may be an address in url() (unquoted up to CSS white space or a parenthesis, or quoted) or after @import;
# a comment after @import (the last group) is not looked past: tinycss2 decides
# (in a lookahead, so that one match never hides the next: "xurl(url(a)" holds the address a)
QUICK_ADDRESS = re.compile(
    r"""(?=url\([ \t\n\r\f]*(?:"([^"]*)"|'([^']*)'|([^'"() \t\n\r\f]*))"""
    r"""|@import[ \t\n\r\f]*(?:"([^"]*)"|'([^']*)'|(/\*)))""",
    re.IGNORECASE,
)
IMAGE_SET = re.compile(r"image-set", re.IGNORECASE)
CHARSET_RULE = re.compile(r'@charset "[^"]*";')


def _token_end(css: str, start: int, token: Node) -> int | None:
    """Where ``token``, starting at ``start`` of ``css``, ends; None when it is not closed (at the end of the text)
    or not where tinycss2 said (never rewritten: the page would break)."""
    if isinstance(token, StringToken):
        quote, i = css[start : start + 1], start + 1
        if quote not in ("'", '"'):
            return None
    else:
        i = css.find("(", start)
        if i == -1:
            return None
        quote, i = ")", i + 1
    n = len(css)
    while i < n:
        c = css[i]
        if c == quote:
            return i + 1
        i += 2 if c == "\\" else 1
    return None


def _written(address: str, as_url: bool) -> str:
    """``address`` as a ``url()`` (quoted unless it is plain) or a string. ``<`` and ``>`` are escaped: in a
    ``<style>`` element, ``</style>`` would end it (the address may come from CSS escapes, ``\\3c /style\\3e``)."""
    if as_url and PLAIN_URL.match(address):
        return f"url({address})"
    quoted = serialize_string_value(address).replace("<", "\\3c ").replace(">", "\\3e ")
    return f'url("{quoted}")' if as_url else f'"{quoted}"'


def _nothing_replaced(css: str, replace: Replace) -> bool:
    """Whether ``replace`` surely replaces none of the addresses in ``css``, found without tinycss2 (pure Python,
    it takes about 2 µs a character: 0.4 s for a 160 KB theme): every text that could be an address in ``url()`` or
    ``@import`` is tried, a superset of what tinycss2 finds when no escape, NUL or ``image-set`` is in the way.
    False is not sure: tinycss2 decides."""
    if "\\" in css or "\0" in css or IMAGE_SET.search(css):
        return False
    for m in QUICK_ADDRESS.finditer(css):
        value = next((g for g in m.groups() if g is not None), "")
        if m.group(6) is not None or replace(value) is not None:
            return False
    return True


def rewrite_css(css: str, replace: Replace) -> str:
    """``css`` with each address that ``replace`` replaces written anew (``css`` itself when none is).

    Bounded as the harvester reads CSS (:mod:`strongroom.formats.web_addresses`): only the text up to
    :func:`css_cut` is looked at, and ``MOST_CSS_ADDRESSES`` addresses in it (those the harvester lists); the rest
    is served as it is (the harvester collected nothing it names, unless it was linked elsewhere). So a hostile
    stylesheet of many megabytes costs each request at most about a second of tinycss2, not a second a megabyte."""
    cut = css_cut(css)
    if cut < len(css):
        read = css[:cut]
        head = rewrite_css(read, replace)
        return css if head is read else head + css[cut:]
    if not MAYBE_ADDRESS.search(css) or _nothing_replaced(css, replace):
        return css
    line_starts: list[int] | None = None
    edits: list[tuple[int, int, str]] = []
    tokens = css_address_tokens(parse_component_value_list(css, skip_comments=True))
    for token in itertools.islice(tokens, MOST_CSS_ADDRESSES):
        new = replace(token.value)
        if new is None:
            continue
        if line_starts is None:
            line_starts = [0, *(m.end() for m in LINE_BREAK.finditer(css))]
        if token.source_line > len(line_starts):
            continue
        start = line_starts[token.source_line - 1] + token.source_column - 1
        end = _token_end(css, start, token)
        if end is None:
            continue
        edits.append((start, end, _written(new, isinstance(token, URLToken))))
    if not edits:
        return css
    out, at = [], 0
    for start, end, text in sorted(edits):
        if start < at:  # overlapping: cannot happen with tinycss2's tokens, but never write a broken stylesheet
            return css
        out += [css[at:start], text]
        at = end
    out.append(css[at:])
    return "".join(out)


def rewrite_stylesheet(body: bytes, charset: str | None, replace: Replace) -> bytes | None:
    """A stylesheet (``charset``: its Content-Type's, if any) with its addresses rewritten, as UTF-8; None when
    nothing in it is rewritten (then it is served as it was, in its own encoding).

    Its encoding is found as a browser finds it (a byte order mark, then ``charset``, then ``@charset``; UTF-8
    failing all three: the page that linked it is not known here). Served as UTF-8, with an ``@charset`` rule that
    says so, in case the file is saved and opened without the Content-Type that also says so."""
    css, _ = decode_stylesheet_bytes(body, protocol_encoding=charset)
    rewritten = rewrite_css(css, replace)
    if rewritten is css:
        return None
    if rewritten.startswith("@charset "):
        rewritten = CHARSET_RULE.sub('@charset "utf-8";', rewritten, count=1)
    return rewritten.encode("utf-8", "replace")
