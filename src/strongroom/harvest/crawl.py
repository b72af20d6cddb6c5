"""One crawl of a site by a plan: permission first, then breadth first through what is in scope, each address
mapped to its archival unit, with the traps real sites have detected and every outcome kept for the report."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree, html

from strongroom.domain.links import resolved
from strongroom.errors import ExitCode, StrongroomError
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
    if page.media_type not in ("text/html", "application/xhtml+xml") or not page.body.strip():
        return None
    try:
        return html.document_fromstring(page.body)
    except (etree.ParserError, ValueError):
        return None


def links(page: Fetched, doc: html.HtmlElement | None = None) -> list[Link]:
    doc = doc if doc is not None else document(page)
    if doc is None:
        return []
    out = []
    parts = urlsplit(page.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    for el in doc.iter("a", "link", "script", "img", "iframe"):
        if el.tag == "a" and el.get("href"):
            href, text, kind = el.get("href"), "".join(str(t) for t in el.itertext()).strip(), "a"
        elif el.tag == "link" and el.get("href") and "stylesheet" in (el.get("rel") or ""):
            href, text, kind = el.get("href"), "", "asset"
        elif el.tag in ("script", "img", "iframe") and el.get("src"):
            href, text, kind = el.get("src"), "", "asset"
        else:
            continue
        try:
            out.append(Link(_absolute(page.url, href, origin), text, kind))
        except ValueError:
            continue  # not an address (such as "http://[": a bad IPv6 host); a page cannot stop the crawl with it
    return out


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
    seen: set[str] = set()
    chains: dict[str, int] = {}  # URL -> how many pages of its own shape led to it, one after another
    queue: deque[tuple[str, int, str | None, Link | None]] = deque((s, 0, None, None) for s in plan.seeds())
    frontier = checkpoint.load()
    if frontier is not None:
        result.outcomes = [Outcome(**o) for o in frontier["outcomes"]]
        result.items = frontier["items"]
        seen, chains = set(frontier["seen"]), dict(frontier["chains"])
        queue = deque((u, d, a, Link(*link) if link else None) for u, d, a, link in frontier["queue"])

    inflight: list[tuple[str, int, str | None, Link | None]] = []  # taken from the queue, not yet handled

    def save() -> None:
        todo = [*inflight, *queue]
        checkpoint.save(
            {
                "seen": sorted(seen - {u for u, *_ in inflight}),
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
    queue: deque[tuple[str, int, str | None, Link | None]],
    inflight: list[tuple[str, int, str | None, Link | None]],
    seen: set[str],
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
    pending: deque[tuple[int, str | None, Future[_Followed]]] = deque()
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
                if url in seen:
                    continue
                seen.add(url)
                au = plan.au_for(url, parent_au, link)
                if only_au is not None and au not in (None, only_au):
                    continue
                if not url.startswith(("http://", "https://")) or not plan.in_scope(url):
                    continue
                refused = _refusal(plan, fetcher, url, depth, chains)
                if refused:
                    note(url, au, None, 0, refused)
                    continue
                inflight.append(entry)
                pending.append((depth, au, pool.submit(_fetch_following, plan, fetcher, url)))
            if not pending:
                if queue and pause_after is not None and fetched_now >= pause_after:
                    raise CrawlPaused(
                        f"paused after {fetched_now} fetches, {len(seen)} addresses seen; {len(queue)} still queued",
                        hint="run the same harvest again to resume it",
                    )
                return
            depth, au, future = pending.popleft()
            fetched, hops, notes = future.result()
            url = inflight.pop(0)[0]
            fetched_now += 1
            for n in notes:
                note(n[0], au, n[1], 0, n[2])
            for f in hops:
                checkpoint.add(au, f)
            if time.monotonic() - last_save >= SAVE_SECONDS:
                save()
                last_save = time.monotonic()
            if fetched is None:
                continue
            if fetched.status != 200:
                note(fetched.url, au, fetched.status, len(fetched.body), f"HTTP {fetched.status}")
                continue
            checkpoint.add(au, fetched)
            note(fetched.url, au, 200, len(fetched.body), "collected")
            doc = document(fetched)
            item = landing_item(fetched, doc)
            if item is not None and au is not None:
                result.items.setdefault(au, []).append(item)
            for found in links(fetched, doc):
                if found.url not in seen:
                    if shape(found.url) == shape(fetched.url) and found.url != fetched.url:
                        chains[found.url] = max(chains.get(found.url, 0), chains.get(url, 0) + 1)
                    queue.append((found.url, depth + (found.kind == "a"), au, found))


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
