"""Watching publishers: is each preserved title still available where its publisher put it?

For every watched title a run checks its landing page, whether a sample of its DOIs still resolve to a working
page, and whether its OAI-PMH endpoint still answers ``Identify``. Every check is kept as evidence. A run in which
every check failed is a failing run; a title whose runs have failed without a single success for at least
``monitor.failure_days`` becomes a *trigger candidate*, and its evidence can be attached to a trigger proposal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from strongroom import __version__
from strongroom.catalog.models import ArchivalUnit, Event, Item, MonitorCheck, Title, TitleWatch
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.names import sort_key
from strongroom.errors import NotFound, StrongroomError
from strongroom.settings import MonitorSettings

DOI_SAMPLE = 3
READ_LIMIT = 256 * 1024  # bytes of a response body the monitor reads at most
OAI_NS = "http://www.openarchives.org/OAI/2.0/"


@dataclass(frozen=True)
class Check:
    kind: str  # landing, doi, oai
    target: str
    ok: bool
    status: int | None
    detail: str


@dataclass
class TitleStatus:
    key: str
    name: str
    landing_url: str | None
    oai_url: str | None
    last_checked: dt.datetime | None = None
    last_ok: dt.datetime | None = None
    failing_since: dt.datetime | None = None
    candidate: bool = False
    evidence: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.last_checked is None:
            return "unchecked"
        if self.failing_since is None:
            return "available"
        return "candidate" if self.candidate else "failing"


def _fetch(client: httpx.Client, url: str) -> tuple[int, bytes]:
    with client.stream("GET", url) as response:
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= READ_LIMIT:
                break
        return response.status_code, body


def check_url(client: httpx.Client, kind: str, url: str) -> Check:
    try:
        status, body = _fetch(client, url)
    except httpx.TooManyRedirects:
        return Check(kind, url, False, None, "too many redirects")
    except httpx.TimeoutException:
        return Check(kind, url, False, None, "timed out")
    except httpx.HTTPError as exc:
        return Check(kind, url, False, None, f"{type(exc).__name__}: {exc}"[:300])
    if status != 200:
        return Check(kind, url, False, status, f"HTTP {status}")
    if kind == "oai":
        try:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            root = etree.fromstring(body, parser)
        except etree.XMLSyntaxError:
            return Check(kind, url, False, status, "the answer is not OAI-PMH XML")
        if root.find(f"{{{OAI_NS}}}Identify") is None:
            return Check(kind, url, False, status, "the answer has no Identify element")
    return Check(kind, url, True, status, "HTTP 200")


class Monitor:
    def __init__(
        self,
        catalog: Catalog,
        settings: MonitorSettings,
        *,
        agent: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.agent = agent
        self.transport = transport
        self.timeout = timeout

    def _client(self) -> httpx.Client:
        return httpx.Client(
            transport=self.transport,
            timeout=self.timeout,
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": f"Strongroom-monitor/{__version__} (preservation archive; checks availability)"},
        )

    # ---- what is watched ----------------------------------------------------------------------------------

    def watch(self, title_key: str, *, landing_url: str | None, oai_url: str | None, check_dois: bool = True) -> None:
        for url in (landing_url, oai_url):
            if url is not None and not url.startswith(("http://", "https://")):
                raise StrongroomError(f"{url!r} is not an http(s) address", hint="give the publisher's full URL")
        if landing_url is None and oai_url is None and not check_dois:
            raise StrongroomError("nothing to watch", hint="give --landing-url, --oai-url, or keep DOI checks on")
        with self.catalog.session() as s:
            title = s.scalar(select(Title).where(Title.key == title_key))
            if title is None:
                raise NotFound(f"no title {title_key!r}", hint="list them with: strongroom titles")
            watch = s.scalar(select(TitleWatch).where(TitleWatch.title_id == title.id))
            if watch is None:
                watch = TitleWatch(title_id=title.id, added_at=self.catalog.clock.now())
                s.add(watch)
            watch.landing_url, watch.oai_url, watch.check_dois = landing_url, oai_url, check_dois

    def _dois(self, title_id: int) -> list[str]:
        with self.catalog.session() as s:
            stmt = (
                select(Item.doi)
                .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
                .where(ArchivalUnit.title_id == title_id, Item.doi.is_not(None))
                .order_by(Item.id)
                .limit(DOI_SAMPLE)
            )
            return [d for d in s.scalars(stmt) if d]

    # ---- checking ------------------------------------------------------------------------------------------

    def run(self, progress: Callable[[str, list[Check]], None] | None = None) -> list[TitleStatus]:
        with self.catalog.session() as s:
            watches = list(s.scalars(select(TitleWatch).options(selectinload(TitleWatch.title))))
            plan = [(w.title_id, w.title.key, w.landing_url, w.oai_url, w.check_dois) for w in watches]
        with self._client() as client:
            for title_id, key, landing, oai, dois in plan:
                checks = []
                if landing:
                    checks.append(check_url(client, "landing", landing))
                if dois:
                    resolver = self.settings.doi_resolver
                    checks += [check_url(client, "doi", resolver + doi) for doi in self._dois(title_id)]
                if oai:
                    checks.append(check_url(client, "oai", oai + ("&" if "?" in oai else "?") + "verb=Identify"))
                now = self.catalog.clock.now()
                with self.catalog.session() as s:
                    for c in checks:
                        s.add(MonitorCheck(title_id=title_id, time=now, **c.__dict__))
                if progress:
                    progress(key, checks)
        after = self.status()
        with self.catalog.session() as s:
            for t in after:
                before = self._last_state(s, t.key)
                if before != t.state and t.state != "unchecked":
                    outcome = EventOutcome.SUCCESS if t.state == "available" else EventOutcome.WARNING
                    self.catalog.record_event(
                        s,
                        EventType.MONITOR,
                        outcome,
                        agent=self.agent,
                        object_type="title",
                        object_key=t.key,
                        detail=f"{before} -> {t.state}"
                        + (f"; failing since {t.failing_since:%Y-%m-%d}" if t.failing_since else ""),
                        data={"state": t.state, "evidence": t.evidence[-5:]},
                    )
        return after

    @staticmethod
    def _last_state(s: Session, title_key: str) -> str:
        """The state the last monitor event recorded (states also change with time alone, so compare with it)."""
        event = s.scalar(
            select(Event)
            .where(Event.type == str(EventType.MONITOR), Event.object_type == "title", Event.object_key == title_key)
            .order_by(Event.id.desc())
            .limit(1)
        )
        return str(event.data.get("state", "unchecked")) if event is not None else "unchecked"

    # ---- reading the evidence ------------------------------------------------------------------------------

    def status(self) -> list[TitleStatus]:
        now = self.catalog.clock.now()
        period = dt.timedelta(days=self.settings.failure_days)
        out = []
        with self.catalog.session() as s:
            watches = s.scalars(select(TitleWatch).options(selectinload(TitleWatch.title)))
            for w in sorted(watches, key=lambda w: (sort_key(w.title.name), w.title_id)):  # as listings (domain.names)
                status = TitleStatus(w.title.key, w.title.name, w.landing_url, w.oai_url)
                checks = list(
                    s.scalars(select(MonitorCheck).where(MonitorCheck.title_id == w.title_id).order_by(MonitorCheck.id))
                )
                runs: dict[dt.datetime, list[MonitorCheck]] = {}
                for c in checks:
                    runs.setdefault(c.time, []).append(c)
                for when, run in sorted(runs.items()):
                    status.last_checked = when
                    if any(c.ok for c in run):
                        status.last_ok, status.failing_since = when, None
                        status.evidence = []
                    else:
                        status.failing_since = status.failing_since or when
                        status.evidence += [f"{when:%Y-%m-%dT%H:%M:%SZ} {c.kind} {c.target}: {c.detail}" for c in run]
                status.candidate = status.failing_since is not None and now - status.failing_since >= period
                out.append(status)
        return out

    def candidates(self) -> list[TitleStatus]:
        return [t for t in self.status() if t.candidate]

    def evidence_for(self, title_key: str) -> list[str]:
        """The evidence of a trigger candidate, summarised for a proposal: first and latest failures and counts."""
        found = next((t for t in self.status() if t.key == title_key), None)
        if found is None or not found.candidate or found.failing_since is None:
            raise StrongroomError(
                f"title {title_key!r} is not a trigger candidate",
                hint="see strongroom monitor status; a title becomes one after "
                f"{self.settings.failure_days} days of failed checks",
            )
        days = (found.last_checked - found.failing_since).days if found.last_checked else 0
        summary = (
            f"monitor: {found.name} unreachable at its publisher for {days} days "
            f"(since {found.failing_since:%Y-%m-%d}; last checked {found.last_checked:%Y-%m-%d}); "
            f"last success {found.last_ok:%Y-%m-%d}"
            if found.last_ok
            else f"monitor: {found.name} unreachable at its publisher for {days} days "
            f"(since {found.failing_since:%Y-%m-%d}); never reached"
        )
        return [summary, *found.evidence[:3], *found.evidence[-3:]]
