"""The web archive's room: a released AU's harvested pages replayed from its WARC files; in an archived HTML page,
the addresses of what the AU also holds lead to their archived copies, so readers stay in the archive; in an
archived stylesheet, so do its ``url()``s and ``@import``s (fonts, background images).

``portal serve`` keeps the pages it replays a short while (:class:`ReplayCache`), so a page many readers open is
read from its WARC and rewritten once, not on every request. Only released AUs are replayed, and released content
never goes dark again, so what is kept can never show dark content; a miss (dark, unknown, not collected) is never
kept, so an AU released a moment ago is served at once."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom.errors import StrongroomError
from strongroom.portal.render import FILE_CSP, portal_of
from strongroom.portal.replay import rewrite, rewrite_css_file

router = APIRouter()

REPLAY_CACHE_BYTES = 64 * 1024 * 1024  # per portal process
LARGEST_KEPT = 2 * 1024 * 1024  # a bigger response (a PDF, a video) is streamed from storage each time
# a file's policy, and the fonts and media of an archived page from the portal itself (what its stylesheets and
# <video>/<audio> were pointed at): never from the publisher's live site
REPLAY_CSP = f"{FILE_CSP}; font-src 'self'; media-src 'self'"


@dataclass(frozen=True)
class ReplayedPage:
    body: bytes
    status: int
    media_type: str
    timestamp: str

    @property
    def size(self) -> int:
        return len(self.body) + 200  # and the object's own keep


class ReplayCache:
    """Replayed pages (and the object ids of released, harvested AUs) kept for ``seconds`` (0: nothing is kept),
    within a budget of bytes, the least recently used dropped first. Shared by the portal's request threads."""

    def __init__(
        self, seconds: float, budget: int = REPLAY_CACHE_BYTES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.budget = budget
        self.clock = clock
        self.used = 0
        self._pages: OrderedDict[tuple[str, str], tuple[float, ReplayedPage]] = OrderedDict()
        self._objects: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def object_id(self, au_key: str, load: Callable[[], str | None]) -> str | None:
        now = self.clock()
        hit = self._objects.get(au_key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = load()
        if found is not None and self.seconds > 0:
            with self._lock:
                if len(self._objects) >= 10_000:
                    self._objects.clear()
                self._objects[au_key] = (now + self.seconds, found)
        return found

    def page(self, au_key: str, url: str, load: Callable[[], ReplayedPage]) -> ReplayedPage:
        key = (au_key, url)
        now = self.clock()
        with self._lock:
            hit = self._pages.get(key)
            if hit is not None and hit[0] > now:
                self._pages.move_to_end(key)
                return hit[1]
        page = load()  # outside the lock: reading and rewriting take a while, and other pages need not wait
        if self.seconds > 0 and page.size <= min(LARGEST_KEPT, self.budget):
            with self._lock:
                old = self._pages.pop(key, None)
                if old is not None:
                    self.used -= old[1].size
                self._pages[key] = (now + self.seconds, page)
                self.used += page.size
                while self.used > self.budget:
                    _, (_, dropped) = self._pages.popitem(last=False)
                    self.used -= dropped.size
        return page


def _replayed(request: Request, au_key: str, object_id: str, url: str) -> ReplayedPage:
    replay = portal_of(request).node.replay
    with replay.index(object_id) as index:  # opened once: it finds the capture, then each link's target
        try:
            found = replay.replay_object(object_id, url, index=index)
        except StrongroomError:
            raise StarletteHTTPException(404) from None
        kind = next((v for k, v in found.headers if k.lower() == "content-type"), "application/octet-stream")
        body = found.body
        media_type, _, parameters = kind.partition(";")
        if media_type.strip().lower() in ("text/html", "application/xhtml+xml"):
            rewritten = rewrite(body, found.url, au_key, index)
            if rewritten is not None:
                body, kind = rewritten, "text/html; charset=utf-8"
        elif media_type.strip().lower() == "text/css":
            rewritten = rewrite_css_file(body, found.url, _charset(parameters), au_key, index)
            if rewritten is not None:
                body, kind = rewritten, "text/css; charset=utf-8"
    return ReplayedPage(body, found.status if 200 <= found.status < 300 else 200, kind, found.timestamp)


def _charset(parameters: str) -> str | None:
    """The charset of a Content-Type's ``parameters`` (what follows its media type), if it names one."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


@router.get("/archive/{au_key:path}")
def archived_page(request: Request, au_key: str, url: str = Query(..., max_length=2000)) -> Response:
    portal = portal_of(request)
    cache: ReplayCache = request.app.state.replay_cache
    au_key = au_key.rstrip("/")
    object_id = cache.object_id(au_key, lambda: portal.released.archived_au(au_key))
    if object_id is None:
        raise StarletteHTTPException(404)
    page = cache.page(au_key, url, lambda: _replayed(request, au_key, object_id, url))
    return Response(
        page.body,
        status_code=page.status,
        media_type=page.media_type,
        headers={
            "Content-Security-Policy": REPLAY_CSP,
            "X-Content-Type-Options": "nosniff",
            "Memento-Datetime": page.timestamp,
            "Link": f'<{url}>; rel="original"',
        },
    )
