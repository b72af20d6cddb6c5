"""One crawl of a site by a plan: permission first, then breadth first through what is in scope, each address
mapped to its archival unit, with the traps real sites have detected and every outcome kept for the report."""

from __future__ import annotations

import contextlib
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree, html

from strongroom.domain.links import page_origin, resolved
from strongroom.errors import ExitCode, StrongroomError
from strongroom.formats.web_addresses import (
    MOST_CSS_ADDRESSES,
    MOST_CSS_CHARS,
    REQUISITES_IN,
    SPACE,
    SRCSET_IN,
    css_addresses,
    srcset_urls,
    stylesheet_addresses,
)
from strongroom.harvest import schema_org
from strongroom.harvest.checkpoint import Checkpoint
from strongroom.harvest.fetch import Fetched, Fetcher, FetchError
from strongroom.harvest.permission import has_permission, how_to_fix
from strongroom.harvest.plans import Link, Plan

SESSION = re.compile(r"(?:^|[;&?])(?:phpsessid|jsessionid|sid|sessionid|session_id|cfid|cftoken)=", re.IGNORECASE)
MAX_REDIRECTS = 5
SAVE_SECONDS = 5.0  # between two saves of the frontier: a crash re-fetches at most this much work. (The frontier
# is written whole, so saving it after every few fetches made a long crawl quadratic.)
MAX_CHAIN = 20  # pages of one shape (digits masked) each linking to the next: a calendar or an endless pager
REQUISITE_LINKS = {  # the rels of a <link> to what a page needs
    "stylesheet",
    "icon",
    "apple-touch-icon",
    "apple-touch-icon-precomposed",
    "mask-icon",
    "preload",
}
STYLESHEET = "stylesheet"  # the text of an asset link to a stylesheet: its addresses are relative to it
HTML = ("text/html", "application/xhtml+xml")
STYLED = etree.XPath("//*[@style]")
HAS_BASE = re.compile(rb"<base", re.IGNORECASE)  # most pages have none: a look at the bytes is cheaper than a walk
HAS_STYLE = re.compile(rb"style\s*=", re.IGNORECASE)  # a style attribute (not rel=stylesheet: most pages have one)
PARTLY_READ = (
    f"partly read: only its first {MOST_CSS_CHARS:,} characters of CSS, and {MOST_CSS_ADDRESSES:,} addresses in them,"
    " were looked at for what its pages need (collected; what the rest names is not, unless linked elsewhere)"
)
FOLLOWED_ONLY = "read for its links, not kept"  # a start address of an AU that a one-AU harvest leaves out
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
CHARSET = re.compile(r";\s*charset=[\"']?([^\s;\"']+)", re.IGNORECASE)


class PermissionMissing(StrongroomError):
    exit_code = ExitCode.NOT_PERMITTED


class CrawlPaused(StrongroomError):
    """The crawl stopped on request with its progress saved; running it again resumes it."""

    exit_code = ExitCode.PAUSED


@dataclass
class Outcome:
    url: str
    au: str | None
    status: int | None
    size: int
    note: str  # "collected", "redirect", an HTTP error, or why it was not collected

    @property
    def missed(self) -> bool:
        """Whether something was not collected: not a capture, a redirect followed, a stylesheet collected but read
        only in part for what it names, nor the start page of an AU not harvested now, read for its links."""
        return self.note != "collected" and not self.note.startswith(("redirect", PARTLY_READ, FOLLOWED_ONLY))


@dataclass
class CrawlResult:
    spool: Checkpoint  # where the captures are
    outcomes: list[Outcome] = field(default_factory=list)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by AU label

    def captures(self) -> Iterator[tuple[str | None, Fetched]]:
        """Every response kept, in the order it came, with its AU label (None: of every AU); read back from the
        spool one at a time (a crawl of a large site never holds all its bodies in memory)."""
        return self.spool.captures()


def document(page: Fetched) -> html.HtmlElement | None:
    """The parsed page, when it is HTML (parsed once, for its links and its metadata)."""
    if page.media_type not in HTML or not page.body.strip():
        return None
    try:
        return html.document_fromstring(page.body)
    except (etree.ParserError, ValueError):
        return None


def links(page: Fetched, doc: html.HtmlElement | None = None, *, stylesheet: bool = False) -> list[Link]:
    """The links on an HTML page, in the order written, and what it needs to display (kind "asset"); or, for a
    stylesheet (served as text/css, or ``stylesheet``: fetched as a page's stylesheet), the addresses in it."""
    return _links(page, doc, stylesheet=stylesheet)[0]


def _links(page: Fetched, doc: html.HtmlElement | None, *, stylesheet: bool) -> tuple[list[Link], bool]:
    """:func:`links`, and whether a stylesheet or inline CSS was too long to be read whole for its addresses."""
    if page.media_type == "text/css" or (stylesheet and page.media_type not in HTML):
        css = stylesheet_addresses(page.body, _charset(page))
        return _assets(page.url, page_origin(page.url), css.addresses), css.capped
    doc = doc if doc is not None else document(page)
    if doc is None:
        return [], False
    out = []
    wide = page.body.startswith((b"\xff\xfe", b"\xfe\xff"))  # UTF-16: the bytes do not spell the tags out
    base = _base(doc, page.url) if wide or HAS_BASE.search(page.body) else page.url
    origin = page_origin(base)
    css_read = _CssRead()
    for el in doc.iter(*REQUISITES_IN, "a"):
        tag = el.tag
        assert isinstance(tag, str)
        if tag == "a":
            href = el.get("href")
            if href:
                with contextlib.suppress(ValueError):  # not an address (such as "http://[": a bad IPv6 host)
                    out.append(Link(_absolute(base, href, origin), "".join(map(str, el.itertext())).strip(), "a"))
            continue
        if tag == "link":
            rel = set((el.get("rel") or "").lower().split())
            written = [el.get("href") or ""] if rel & REQUISITE_LINKS else []
            what = STYLESHEET if "stylesheet" in rel else ""
        elif tag == "style":
            written, what = css_read(el.text or ""), ""
        elif tag == "input" and (el.get("type") or "").strip().lower() != "image":
            continue
        else:
            written = [el.get(attribute) or "" for attribute in REQUISITES_IN[tag]]
            if tag in SRCSET_IN and el.get("srcset"):
                written += srcset_urls(el.get("srcset") or "")
            what = ""
        out += _assets(base, origin, written, what)
    styled_elements = STYLED(doc) if wide or HAS_STYLE.search(page.body) else []
    assert isinstance(styled_elements, list)
    for styled in styled_elements:
        assert isinstance(styled, etree._Element)
        out += _assets(base, origin, css_read(styled.get("style") or ""))
    return out, css_read.capped


@dataclass
class _CssRead:
    """The addresses in the CSS of one page, its ``<style>`` elements and ``style`` attributes read together up to
    ``MOST_CSS_CHARS`` (a page of many MB of CSS, in one place or in thousands, cannot hold the crawl up)."""

    left: int = MOST_CSS_CHARS
    capped: bool = False

    def __call__(self, css: str) -> list[str]:
        found = css_addresses(css, most_chars=max(0, self.left))
        self.left -= len(css)
        self.capped = self.capped or found.capped
        return found.addresses


def _assets(base: str, origin: str, written: list[str], what: str = "") -> list[Link]:
    """The addresses ``written`` (in a page or a stylesheet at ``base``) of what a page needs, resolved; a
    ``data:`` URL or another scheme than http(s) is none to collect."""
    out = []
    for href in written:
        href = href.strip(SPACE)
        if not href or (SCHEME.match(href) and not href.lower().startswith(("http:", "https:"))):
            continue
        try:
            out.append(Link(_absolute(base, href, origin), what, "asset"))
        except ValueError:
            continue  # not an address (such as "http://[": a bad IPv6 host); a page cannot stop the crawl with it
    return out


def _base(doc: html.HtmlElement, page_url: str) -> str:
    """What the page's addresses are relative to: its first ``<base href>`` as a browser takes it (an address
    that is not http(s), or none, is ignored), else its own address."""
    for el in doc.iter("base"):
        href = el.get("href")
        if href is not None:
            try:
                base = urljoin(page_url, href.strip(SPACE))
                return base if urlsplit(base).scheme in ("http", "https") else page_url
            except ValueError:
                return page_url
    return page_url


def _charset(page: Fetched) -> str | None:
    """The charset its Content-Type names, if any."""
    m = CHARSET.search(page.header("content-type") or "")
    return m.group(1) if m else None


def _absolute(base: str, href: str, origin: str) -> str:
    """``href`` resolved against ``base`` (whose scheme and host are ``origin``), without its fragment. (Links on
    a journal site are mostly absolute or from the root, which urljoin gives back unchanged or after the origin;
    those skip it: urljoin was a fifth of the time spent handling a page.)"""
    url = resolved(base, origin, href)
    return urldefrag(url)[0] if "#" in url else url


def landing_item(page: Fetched, doc: html.HtmlElement | None = None) -> dict[str, Any] | None:
    """An item record from a landing page: its Highwire ``citation_*`` tags, with what its schema.org JSON-LD
    says filling what they leave out (or alone, on a page without them). None when the page describes no article."""
    if page.media_type != "text/html":
        return None
    tagged, linked = b"citation_title" in page.body, b"application/ld+json" in page.body
    if not (tagged or linked):
        return None
    doc = doc if doc is not None else document(page)
    if doc is None:
        return None
    fields = schema_org.article_fields(doc) if linked else {}
    if tagged:
        fields.update({k: v for k, v in _citation_fields(doc).items() if v not in (None, "", [])})
    if not fields.get("title"):
        return None
    doi = fields.get("doi")
    return {
        "key": doi or page.url,
        "doi": doi,
        "url": page.url,
        "title": fields["title"],
        "contributors": fields.get("contributors", []),
        "publication_date": fields.get("publication_date"),
        "year": fields.get("year"),
        "volume": fields.get("volume"),
        "issue": fields.get("issue"),
        "pages": fields.get("pages"),
        "abstract": fields.get("abstract") or _abstract(doc),
        "keywords": fields.get("keywords", []),
        "language": fields.get("language"),
        "licence": fields.get("licence"),
        "item_type": "research-article",
        "journal": fields.get("journal"),
        "issn": fields.get("issn"),
        "pdf_url": fields.get("pdf_url"),
        "files": [],
        "metadata_file": None,
    }


def _citation_fields(doc: html.HtmlElement) -> dict[str, Any]:
    """The fields Highwire ``citation_*`` (and ``DC.*``) meta tags give, named as item records name them."""
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
    first, last = one("citation_firstpage"), one("citation_lastpage")
    return {
        "doi": one("citation_doi"),
        "title": one("citation_title"),
        "contributors": [{"name": n, "role": "author"} for n in meta.get("citation_author", [])],
        "publication_date": iso,
        "year": year,
        "volume": one("citation_volume"),
        "issue": one("citation_issue"),
        "pages": f"{first}-{last}" if first and last else first,
        "keywords": meta.get("citation_keywords", []),
        "language": one("citation_language"),
        "licence": one("dc.rights"),
        "journal": one("citation_journal_title"),
        "issn": one("citation_issn"),
        "pdf_url": one("citation_pdf_url"),
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


Entry = tuple[str, int, str | None, Link | None]  # a queued address: (URL, depth, its parent's AU, the link to it)


def _is_asset(link: Link | None) -> bool:
    return link is not None and link.kind == "asset"


def _label_order(au: str | None) -> tuple[bool, str]:
    return au is not None, au or ""  # None (every AU) first


class Seen:
    """The addresses taken from the queue, each with the AU labels it was taken for (None: every AU). A page is
    taken once, for the AU it was first reached in; an asset once for each AU whose pages need it, a capture for
    every AU counting for each: in CLOCKSS and LOCKSS an AU is preserved, audited and released on its own, so it
    must hold the stylesheets, scripts, fonts and images its pages are replayed with."""

    def __init__(self) -> None:
        self._aus: dict[str, set[str | None]] = {}
        self._count = 0  # (URL, AU) pairs taken: what ``max_pages`` bounds

    def __len__(self) -> int:
        return self._count

    def holds(self, url: str, au: str | None, link: Link | None) -> bool:
        """Whether ``url``, reached by ``link`` for ``au``, was taken already (a page: for any AU)."""
        taken = self._aus.get(url)
        return taken is not None and (not _is_asset(link) or None in taken or au in taken)

    def add(self, url: str, au: str | None) -> None:
        taken = self._aus.setdefault(url, set())
        if au not in taken:
            taken.add(au)
            self._count += 1

    def saved(self, inflight: list[tuple[str, str | None]]) -> dict[str, list[str | None]]:
        """For the frontier: each URL and the AUs it was taken for, less those under way (they are queued again)."""
        out = {url: set(aus) for url, aus in self._aus.items()}
        for url, au in inflight:
            out[url].discard(au)
        return {url: sorted(aus, key=_label_order) for url, aus in sorted(out.items()) if aus}

    @classmethod
    def loaded(cls, saved: dict[str, list[str | None]] | list[str], outcomes: list[Outcome]) -> Seen:
        """The addresses a frontier saved. One saved before assets were taken per AU lists URLs alone: each is
        taken for the AUs its outcomes name (every AU when none does), so the crawl resumes where it was."""
        seen = cls()
        if isinstance(saved, list):
            noted: dict[str, set[str | None]] = {}
            for o in outcomes:
                noted.setdefault(o.url, set()).add(o.au)
            saved = {url: sorted(noted.get(url, {None}), key=_label_order) for url in saved}
        for url, aus in saved.items():
            for au in aus:
                seen.add(url, au)
        return seen


def crawl(
    plan: Plan,
    fetcher: Fetcher,
    *,
    only_au: str | None = None,
    max_pages: int = 20_000,
    concurrency: int = 4,
    progress: Callable[[Outcome], None] | None = None,
    checkpoint: Checkpoint,
    pause_after: int | None = None,
) -> CrawlResult:
    """Crawl the site; every response kept goes to ``checkpoint``'s spool as it arrives, which also lets an
    interrupted crawl resume."""
    result = CrawlResult(spool=checkpoint)
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
    seen = Seen()
    chains: dict[str, int] = {}  # URL -> how many pages of its own shape led to it, one after another
    queue: deque[Entry] = deque((s, 0, None, None) for s in plan.seeds())
    frontier = checkpoint.load()
    if frontier is not None:
        result.outcomes = [Outcome(**o) for o in frontier["outcomes"]]
        result.items = frontier["items"]
        seen, chains = Seen.loaded(frontier["seen"], result.outcomes), dict(frontier["chains"])
        queue = deque((u, d, a, Link(*link) if link else None) for u, d, a, link in frontier["queue"])

    inflight: list[tuple[Entry, str | None]] = []  # taken from the queue for an AU, not yet handled

    def save() -> None:
        todo = [entry for entry, _ in inflight] + list(queue)
        checkpoint.save(
            {
                "seen": seen.saved([(entry[0], au) for entry, au in inflight]),
                "chains": chains,
                "queue": [(u, d, a, (link.url, link.text, link.kind) if link else None) for u, d, a, link in todo],
                "outcomes": [o.__dict__ for o in result.outcomes],
                "items": result.items,
            }
        )

    def note(url: str, au: str | None, status: int | None, size: int, what: str) -> None:
        outcome = Outcome(url, au, status, size, what)
        result.outcomes.append(outcome)
        if progress:
            progress(outcome)

    # Breadth first, with up to ``concurrency`` fetches from the host under way at once (one when a delay is set:
    # a polite crawl asks one thing at a time); results are handled in the order they were queued, so the crawl
    # is the same whatever order the answers come in, and the next fetches go on while a page is handled.
    width = max(1, concurrency if fetcher.delay <= 0 else 1)
    try:
        _pipeline(
            plan,
            fetcher,
            result,
            queue,
            inflight,
            seen,
            chains,
            width,
            only_au,
            max_pages,
            note,
            checkpoint,
            save,
            pause_after,
        )
    except BaseException:
        save()  # interrupted (Ctrl-C, an error, a pause): what was fetched is kept for the next run
        raise
    return result


def _pipeline(
    plan: Plan,
    fetcher: Fetcher,
    result: CrawlResult,
    queue: deque[Entry],
    inflight: list[tuple[Entry, str | None]],
    seen: Seen,
    chains: dict[str, int],
    width: int,
    only_au: str | None,
    max_pages: int,
    note: Callable[[str, str | None, int | None, int, str], None],
    checkpoint: Checkpoint,
    save: Callable[[], None],
    pause_after: int | None,
) -> None:
    fetched_now = 0
    last_save = time.monotonic()
    # submitted fetches, oldest first (``inflight`` holds their queue entries, in the same order)
    pending: deque[tuple[int, str | None, bool, Future[_Followed]]] = deque()  # (depth, AU, kept, fetch)
    with ThreadPoolExecutor(max_workers=width) as pool:
        while True:
            while (
                queue
                and len(pending) < width
                and len(seen) < max_pages
                and (pause_after is None or fetched_now + len(pending) < pause_after)
            ):
                entry = queue.popleft()
                url, depth, parent_au, link = entry
                au = plan.au_for(url, parent_au, link)
                if seen.holds(url, au, link):
                    continue
                seen.add(url, au)
                keep = only_au is None or au in (None, only_au)
                if not keep and (link is not None or not _enter_through_seeds(plan, only_au)):
                    continue
                if not url.startswith(("http://", "https://")) or not plan.in_scope(url):
                    continue
                refused = _refusal(plan, fetcher, url, depth, chains)
                if refused:
                    note(url, au, None, 0, refused)
                    continue
                inflight.append((entry, au))
                pending.append((depth, au, keep, pool.submit(_fetch_following, plan, fetcher, url)))
            if not pending:
                if queue and pause_after is not None and fetched_now >= pause_after:
                    raise CrawlPaused(
                        f"paused after {fetched_now} fetches, {len(seen)} addresses seen; {len(queue)} still queued",
                        hint="run the same harvest again to resume it",
                    )
                return
            depth, au, keep, future = pending.popleft()
            fetched, hops, notes = future.result()
            (url, _, _, came_by), _ = inflight.pop(0)
            fetched_now += 1
            for n in notes:
                note(n[0], au, n[1], 0, n[2])
            for f in hops if keep else ():
                checkpoint.add(au, f)
            if time.monotonic() - last_save >= SAVE_SECONDS:
                save()
                last_save = time.monotonic()
            if fetched is None:
                continue
            if fetched.status != 200:
                note(fetched.url, au, fetched.status, len(fetched.body), f"HTTP {fetched.status}")
                continue
            doc = document(fetched)
            if keep:
                checkpoint.add(au, fetched)
                note(fetched.url, au, 200, len(fetched.body), "collected")
                item = landing_item(fetched, doc)
                if item is not None and au is not None:
                    result.items.setdefault(au, []).append(item)
            else:
                note(fetched.url, au, 200, len(fetched.body), f"{FOLLOWED_ONLY} (AU {au} is not harvested now)")
            found_links, capped = _links(fetched, doc, stylesheet=came_by is not None and came_by.text == STYLESHEET)
            if capped:
                note(fetched.url, au, None, 0, PARTLY_READ)
            for found in found_links:
                found_au = plan.au_for(found.url, au, found) if _is_asset(found) else None  # a page's: by URL
                if not seen.holds(found.url, found_au, found):
                    if shape(found.url) == shape(fetched.url) and found.url != fetched.url:
                        chains[found.url] = max(chains.get(found.url, 0), chains.get(url, 0) + 1)
                    queue.append((found.url, depth + (found.kind == "a"), au, found))


def _enter_through_seeds(plan: Plan, only_au: str | None) -> bool:
    """Whether a harvest of ``only_au`` alone reads the start addresses of other AUs for their links (without keeping
    them): when none of them is of that AU or of every AU, as a generic plan's start page of its own AU "all", the
    pages of the AU harvested are reached only through them."""
    starts = {plan.au_for(s, None, None) for s in plan.seeds()}
    return only_au is not None and only_au not in starts and None not in starts


def _refusal(plan: Plan, fetcher: Fetcher, url: str, depth: int, chains: dict[str, int]) -> str | None:
    """Why an in-scope address is not fetched (None: fetch it)."""
    if SESSION.search(urlsplit(url).query) or ";jsessionid=" in url.lower():
        return "trap: session id in the address"
    if chains.get(url, 0) > MAX_CHAIN:
        return "trap: an endless chain of pages of one shape (a calendar or a pager)"
    if depth > plan.max_depth():
        return f"not collected: deeper than {plan.max_depth()} links"
    if not fetcher.allowed(url):
        return "not collected: robots.txt disallows it"
    return None


_Followed = tuple[Fetched | None, list[Fetched], list[tuple[str, int | None, str]]]


def _fetch_following(plan: Plan, fetcher: Fetcher, url: str) -> _Followed:
    """Fetch ``url``, following redirects that stay in scope: the final response (None when there is none to
    keep), the redirect responses on the way, and notes (url, status, what) for the report."""
    chain: list[Fetched] = []
    notes: list[tuple[str, int | None, str]] = []
    visited = {url}
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            fetched = fetcher.fetch(current)
        except FetchError as exc:
            notes.append((current, None, f"error: {exc}"))
            return None, chain, notes
        location = fetched.header("location")
        if fetched.status not in (301, 302, 303, 307, 308) or not location:
            return fetched, chain, notes
        chain.append(fetched)
        try:
            target = urldefrag(urljoin(current, location))[0]
        except ValueError:
            notes.append((current, fetched.status, f"not collected: the redirect goes to no address ({location!r})"))
            return None, chain, notes
        notes.append((current, fetched.status, f"redirect to {target}"))
        if target in visited:
            notes.append((target, None, "trap: redirect loop"))
            return None, chain, notes
        if not plan.in_scope(target):
            notes.append((target, None, "not collected: redirect out of scope"))
            return None, chain, notes
        visited.add(target)
        current = target
    notes.append((current, None, f"trap: more than {MAX_REDIRECTS} redirects"))
    return None, chain, notes
