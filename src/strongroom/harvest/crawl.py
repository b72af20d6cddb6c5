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

from strongroom.errors import ExitCode, StrongroomError
from strongroom.harvest.checkpoint import Checkpoint
from strongroom.harvest.fetch import Fetched, Fetcher, FetchError
from strongroom.harvest.pages import PARTLY_READ, STYLESHEET, document, landing_item, page_links
from strongroom.harvest.permission import has_permission, how_to_fix
from strongroom.harvest.plans import Link, Plan

SESSION = re.compile(r"(?:^|[;&?])(?:phpsessid|jsessionid|sid|sessionid|session_id|cfid|cftoken)=", re.IGNORECASE)
MAX_REDIRECTS = 5
SAVE_SECONDS = 5.0  # between two saves of the frontier: a crash re-fetches at most this much work. (The frontier
# is written whole, so saving it after every few fetches made a long crawl quadratic.)
MAX_CHAIN = 20  # pages of one shape (digits masked) each linking to the next: a calendar or an endless pager
FOLLOWED_ONLY = "read for its links, not kept"  # a start address of an AU that a one-AU harvest leaves out


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
            found_links, capped = page_links(
                fetched, doc, stylesheet=came_by is not None and came_by.text == STYLESHEET
            )
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
