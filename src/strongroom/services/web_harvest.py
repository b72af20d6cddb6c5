"""Web harvest: collect a title's site by its plan into WARC files inside each AU's OCFL object (one new version per
crawl; content unchanged since the last crawl written as revisit records) and catalogue the articles found on
landing pages."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from strongroom.domain.identifiers import slug
from strongroom.errors import StrongroomError
from strongroom.formats.records import DEPOSIT_RECORD
from strongroom.harvest.checkpoint import Checkpoint
from strongroom.harvest.crawl import Outcome, crawl
from strongroom.harvest.fetch import Fetched, Fetcher
from strongroom.harvest.plans import make_plan
from strongroom.harvest.warc import CdxLine, WarcSink, payload_digest
from strongroom.ingest.deposit import object_id_for
from strongroom.services.harvests import CDXJ, CRAWLS, WARCS, AuVersions, Harvests
from strongroom.services.replay import cdx_lines
from strongroom.services.scratch import work_directory
from strongroom.store.base import ObjectStore, stage_file

__all__ = ["AuHarvest", "HarvestResult", "Outcome", "WebHarvest"]


@dataclass
class AuHarvest:
    au_key: str
    version: int
    captures: int
    new: int
    unchanged: int
    new_bytes: int
    items: int


@dataclass
class HarvestResult:
    title_key: str
    aus: list[AuHarvest] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


def _latest(lines: list[CdxLine]) -> dict[str, tuple[str, str]]:
    """For each URL, the (payload digest, WARC-Date) of its latest 200 capture."""
    latest: dict[str, tuple[str, str]] = {}
    for line in sorted(lines, key=lambda c: c.timestamp):
        if line.fields.get("status") == "200":
            ts = line.timestamp
            date = f"{ts[:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}Z"
            previous = latest.get(line.fields["url"])
            if line.fields.get("mime") != "warc/revisit" or previous is None:
                latest[line.fields["url"]] = (line.fields["digest"], date)
    return latest


@dataclass
class _AuWarc:
    object_id: str
    sink: WarcSink
    old_lines: list[CdxLine]
    latest: dict[str, tuple[str, str]]  # URL -> (payload digest, WARC-Date) of its latest earlier capture
    captures: int = 0
    new: int = 0
    unchanged: int = 0
    new_bytes: int = 0


class _AuWarcs:
    """Each AU's WARC files of one crawl, each response new or a revisit of the AU's earlier capture of the same
    payload. Resources of every AU (the manifest, the issue archive) go into each AU's files, those of a closed AU
    nowhere."""

    def __init__(
        self, store: ObjectStore, workdir: Path, title_key: str, stamp: str, agent: str, closed: set[str]
    ) -> None:
        self.store, self.workdir, self.title_key, self.stamp, self.agent = store, workdir, title_key, stamp, agent
        self.closed = closed
        self.aus: dict[str, _AuWarc] = {}
        self.shared: list[Fetched] = []  # the few pages of every AU, written into each AU's files as it opens

    def write(self, label: str | None, fetched: Fetched) -> None:
        if label is None:
            self.shared.append(fetched)
            for au in self.aus.values():
                self._write(au, fetched)
            return
        if label in self.closed:
            return
        if label not in self.aus:
            au_key = f"{self.title_key}/{label}"
            object_id = object_id_for(au_key)
            old_lines = cdx_lines(self.store, object_id)
            latest = _latest(old_lines)
            info = {"isPartOf": au_key, "operator": self.agent}
            sink = WarcSink(self.workdir, prefix=f"{self.stamp}-{label}", info=info)
            self.aus[label] = _AuWarc(object_id, sink, old_lines, latest)
            for shared in self.shared:
                self._write(self.aus[label], shared)
        self._write(self.aus[label], fetched)

    @staticmethod
    def _write(au: _AuWarc, fetched: Fetched) -> None:
        before = au.latest.get(fetched.url)
        same = before is not None and fetched.status == 200 and before[0] == payload_digest(fetched.body)
        au.sink.write(fetched, (fetched.url, before[1]) if same and before else None)
        au.captures += 1
        if same:
            au.unchanged += 1
        else:
            au.new += 1
            au.new_bytes += len(fetched.body)

    def close(self) -> None:
        for au in self.aus.values():
            au.sink.close()


class WebHarvest:
    def __init__(
        self, harvests: Harvests, versions: AuVersions, store: ObjectStore, *, staging: Path, agent: str
    ) -> None:
        self.harvests = harvests
        self.versions = versions
        self.store = store
        self.staging = staging
        self.agent = agent
        self.clock = harvests.catalog.clock

    def run(
        self,
        title_key: str,
        *,
        only_au: str | None = None,
        fetcher: Fetcher | None = None,
        delay: float | None = None,
        progress: Callable[[Outcome], None] | None = None,
        pause_after: int | None = None,
    ) -> HarvestResult:
        """Collect ``title_key`` now (``delay``: seconds between requests, overriding the plan's)."""
        cfg = self.harvests.config(title_key)
        if only_au is not None and only_au in cfg.closed_aus:
            raise StrongroomError(f"AU {title_key}/{only_au} is closed (complete); it is not collected again")
        plan = make_plan(cfg.plan, cfg.settings)
        fetcher = fetcher or Fetcher(delay=float(cfg.settings.get("delay", 1.0)) if delay is None else delay)
        started = self.clock.now()
        fingerprint = hashlib.sha256(
            json.dumps([cfg.plan, cfg.settings, only_au], sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        checkpoint = Checkpoint(self.staging / f"crawl-{slug(title_key)}-{only_au or 'all'}", fingerprint)
        try:
            crawled = crawl(
                plan,
                fetcher,
                only_au=only_au,
                concurrency=int(cfg.settings.get("concurrency", 2)),
                progress=progress,
                checkpoint=checkpoint,
                pause_after=pause_after,
            )
        finally:
            fetcher.close()
        result = HarvestResult(title_key, outcomes=crawled.outcomes)
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        with work_directory(self.staging) as workdir:
            warcs = _AuWarcs(self.store, workdir, title_key, stamp, self.agent, closed=set(cfg.closed_aus))
            try:
                for label, fetched in crawled.captures():  # one pass over the spool, each AU's files open at once
                    warcs.write(label, fetched)
            finally:
                warcs.close()
            for label, au in sorted(warcs.aus.items()):
                au_key = f"{title_key}/{label}"
                lines = sorted([*au.old_lines, *au.sink.cdx], key=lambda c: (c.key, c.timestamp))
                items = crawled.items.get(label, [])
                new_warcs = [f"{WARCS}{p.name}" for p in au.sink.files]
                record = self.versions.record(cfg, au_key, label, items, new_warcs, au.object_id)
                report = {
                    "format": "strongroom-crawl/1",
                    "au": au_key,
                    "plan": cfg.plan,
                    "started": started.isoformat(),
                    "finished": self.clock.now().isoformat(),
                    "captures": au.captures,
                    "new": au.new,
                    "unchanged": au.unchanged,
                    "new_bytes": au.new_bytes,
                    "warcs": [p.name for p in au.sink.files],
                    "outcomes": [o.__dict__ for o in crawled.outcomes if o.au in (label, None)],
                }
                stage = self.versions.stage
                staged = [stage_file(f"{WARCS}{p.name}", p) for p in au.sink.files]
                staged.append(stage(workdir, CDXJ, ("\n".join(c.text() for c in lines) + "\n").encode()))
                staged.append(stage(workdir, DEPOSIT_RECORD, record.to_bytes()))
                staged.append(stage(workdir, f"{CRAWLS}{stamp}.json", json.dumps(report, indent=2).encode()))
                version = self.versions.commit(
                    au.object_id, staged, f"harvest by plan {cfg.plan}: {au.new} new, {au.unchanged} unchanged"
                )
                result.aus.append(
                    AuHarvest(au_key, version, au.captures, au.new, au.unchanged, au.new_bytes, len(items))
                )
        self.harvests.ran(title_key, started)
        checkpoint.discard()  # stored: the next run is a new crawl
        return result
