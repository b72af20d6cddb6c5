"""One crawl of a site by a plan: permission first, then breadth first through what is in scope, each address
mapped to its archival unit, with the traps real sites have detected and every outcome kept for the report."""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree, html

from strongroom.errors import StrongroomError
from strongroom.harvest.fetch import Fetched, Fetcher, FetchError
from strongroom.harvest.permission import has_permission, how_to_fix
from strongroom.harvest.plans import Link, Plan

SESSION = re.compile(r"(?:^|[;&?])(?:phpsessid|jsessionid|sid|sessionid|session_id|cfid|cftoken)=", re.IGNORECASE)
MAX_REDIRECTS = 5
MAX_SHAPE = 50  # addresses of one shape (digits masked) before it is treated as a trap (calendars, paging loops)


class PermissionMissing(StrongroomError):
    exit_code = 4


@dataclass
class Outcome:
    url: str
    au: str | None
    status: int | None
    size: int
    note: str  # "collected", "redirect", an HTTP error, or why it was not collected


@dataclass
class CrawlResult:
    captures: dict[str | None, list[Fetched]] = field(default_factory=dict)  # by AU label (None: every AU)
    outcomes: list[Outcome] = field(default_factory=list)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by AU label

    @property
    def aus(self) -> list[str]:
        return sorted(k for k in self.captures if k is not None)


def links(page: Fetched) -> list[Link]:
    if page.media_type not in ("text/html", "application/xhtml+xml") or not page.body.strip():
        return []
    try:
        doc = html.document_fromstring(page.body)
    except (etree.ParserError, ValueError):
        return []
    out = []
    for el in doc.iter("a", "link", "script", "img", "iframe"):
        if el.tag == "a" and el.get("href"):
            out.append(Link(urljoin(page.url, el.get("href")), "".join(str(t) for t in el.itertext()).strip(), "a"))
        elif el.tag == "link" and el.get("href") and "stylesheet" in (el.get("rel") or ""):
            out.append(Link(urljoin(page.url, el.get("href")), "", "asset"))
        elif el.tag in ("script", "img", "iframe") and el.get("src"):
            out.append(Link(urljoin(page.url, el.get("src")), "", "asset"))
    return [Link(urldefrag(link.url)[0], link.text, link.kind) for link in out]


def citation_item(page: Fetched) -> dict[str, Any] | None:
    """An item record from a landing page's Highwire ``citation_*`` tags (None when the page has none)."""
    if page.media_type != "text/html" or b"citation_title" not in page.body:
        return None
    doc = html.document_fromstring(page.body)
    meta: dict[str, list[str]] = {}
    for el in doc.iter("meta"):
        name, content = (el.get("name") or "").lower(), el.get("content")
        if name.startswith(("citation_", "dc.")) and content:
            meta.setdefault(name, []).append(content.strip())

    def one(name: str) -> str | None:
        return meta.get(name, [None])[0]

    date = one("citation_publication_date") or one("citation_date")
    year = int(date[:4]) if date and date[:4].isdigit() else None
    iso = date.replace("/", "-") if date and re.match(r"^\d{4}[/-]\d{2}[/-]\d{2}$", date) else None
    doi = one("citation_doi")
    first, last = one("citation_firstpage"), one("citation_lastpage")
    return {
        "key": doi or page.url,
        "doi": doi,
        "url": page.url,
        "title": one("citation_title"),
        "contributors": [{"name": n, "role": "author"} for n in meta.get("citation_author", [])],
        "publication_date": iso,
        "year": year,
        "volume": one("citation_volume"),
        "issue": one("citation_issue"),
        "pages": f"{first}-{last}" if first and last else first,
        "abstract": _abstract(doc),
        "keywords": meta.get("citation_keywords", []),
        "language": one("citation_language"),
        "licence": one("dc.rights"),
        "item_type": "research-article",
        "journal": one("citation_journal_title"),
        "issn": one("citation_issn"),
        "pdf_url": one("citation_pdf_url"),
        "files": [],
        "metadata_file": None,
    }


def _abstract(doc: html.HtmlElement) -> str | None:
    for h in doc.iter("h2", "h3"):
        if h.text_content().strip().lower() == "abstract":
            nxt = h.getnext()
            if nxt is not None:
                return str(nxt.text_content()).strip() or None
    return None


def shape(url: str) -> str:
    return re.sub(r"\d+", "#", url)


def crawl(
    plan: Plan,
    fetcher: Fetcher,
    *,
    only_au: str | None = None,
    max_pages: int = 20_000,
    progress: Callable[[Outcome], None] | None = None,
) -> CrawlResult:
    result = CrawlResult()
    start = plan.permission_url()
    try:
        first = fetcher.fetch(start)
    except FetchError as exc:
        raise StrongroomError(
            f"cannot reach {start}: {exc}", hint="check the start URL and that the site is up"
        ) from None
    if first.status != 200 or not has_permission(first.body):
        raise PermissionMissing(
            f"{start} does not carry the permission statement, so nothing was collected",
            hint=how_to_fix(start),
        )
    shapes: Counter[str] = Counter()
    seen: set[str] = set()
    queue: deque[tuple[str, int, str | None, Link | None]] = deque((s, 0, None, None) for s in plan.seeds())

    def note(url: str, au: str | None, status: int | None, size: int, what: str) -> None:
        outcome = Outcome(url, au, status, size, what)
        result.outcomes.append(outcome)
        if progress:
            progress(outcome)

    while queue and len(seen) < max_pages:
        url, depth, parent_au, link = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        au = plan.au_for(url, parent_au, link)
        if only_au is not None and au not in (None, only_au):
            continue
        if not url.startswith(("http://", "https://")) or not plan.in_scope(url):
            continue
        if SESSION.search(urlsplit(url).query) or ";jsessionid=" in url.lower():
            note(url, au, None, 0, "trap: session id in the address")
            continue
        shapes[shape(url)] += 1
        if shapes[shape(url)] > MAX_SHAPE:
            note(url, au, None, 0, "trap: too many addresses of one shape (a calendar or endless paging)")
            continue
        if depth > plan.max_depth():
            note(url, au, None, 0, f"not collected: deeper than {plan.max_depth()} links")
            continue
        if not fetcher.allowed(url):
            note(url, au, None, 0, "not collected: robots.txt disallows it")
            continue
        fetched, hops = _fetch_following(plan, fetcher, url, note, au)
        if fetched is None:
            continue
        for f in hops:
            result.captures.setdefault(au, []).append(f)
        if fetched.status != 200:
            note(fetched.url, au, fetched.status, len(fetched.body), f"HTTP {fetched.status}")
            continue
        result.captures.setdefault(au, []).append(fetched)
        note(fetched.url, au, 200, len(fetched.body), "collected")
        item = citation_item(fetched)
        if item is not None and au is not None:
            result.items.setdefault(au, []).append(item)
        for found in links(fetched):
            if found.url not in seen:
                queue.append((found.url, depth + (found.kind == "a"), au, found))
    return result


def _fetch_following(
    plan: Plan,
    fetcher: Fetcher,
    url: str,
    note: Callable[[str, str | None, int | None, int, str], None],
    au: str | None,
) -> tuple[Fetched | None, list[Fetched]]:
    """Fetch ``url``, following redirects that stay in scope; returns the final response and the redirects."""
    chain: list[Fetched] = []
    visited = {url}
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            fetched = fetcher.fetch(current)
        except FetchError as exc:
            note(current, au, None, 0, f"error: {exc}")
            return None, chain
        location = fetched.header("location")
        if fetched.status not in (301, 302, 303, 307, 308) or not location:
            return fetched, chain
        chain.append(fetched)
        target = urldefrag(urljoin(current, location))[0]
        note(current, au, fetched.status, 0, f"redirect to {target}")
        if target in visited:
            note(target, au, None, 0, "trap: redirect loop")
            return None, chain
        if not plan.in_scope(target):
            note(target, au, None, 0, "not collected: redirect out of scope")
            return None, chain
        visited.add(target)
        current = target
    note(current, au, None, 0, f"trap: more than {MAX_REDIRECTS} redirects")
    return None, chain
