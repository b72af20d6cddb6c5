"""Harvest configuration (which plan collects a title, how often, which AUs are closed) and what web and OAI-PMH
harvests share: the layout of a harvested AU's object, its deposit record, and writing a new version of it.

A harvested AU's object holds ``harvest/warcs/*.warc.gz`` (every crawl's WARC files), ``harvest/index.cdxj`` (the
CDXJ index of all of them), ``oai/records/*.xml`` (OAI-PMH records), ``strongroom/crawls/*.json`` (each crawl's
report) and ``strongroom/deposit.json`` (the record the catalog is rebuilt from, as for deposits).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from strongroom.catalog.models import HarvestConfig
from strongroom.catalog.repo import Catalog
from strongroom.domain.identifiers import normalise_country
from strongroom.errors import NotFound
from strongroom.formats.records import (
    DEPOSIT_RECORD,
    AuRecord,
    DepositRecord,
    FileRecord,
    ItemRecord,
    PublisherRecord,
    RecordError,
    TitleRecord,
    merge_items,
)
from strongroom.harvest.plans import PLANS, make_plan
from strongroom.services.indexer import Indexer
from strongroom.services.jobs import JobKind, JobQueue, due_harvest_titles
from strongroom.services.journal import Journal
from strongroom.services.versions import with_current
from strongroom.store.base import ObjectStore, StagedFile, stage_file

CDXJ = "harvest/index.cdxj"
WARCS = "harvest/warcs/"
CRAWLS = "strongroom/crawls/"
OAI_RECORDS = "oai/records/"


@dataclass(frozen=True)
class HarvestPlan:
    """A title's harvest configuration, as the use cases read it."""

    title_key: str
    title_name: str
    publisher: str
    country: str | None
    plan: str
    settings: dict[str, Any]
    every_days: int | None
    closed_aus: tuple[str, ...]
    last_run: dt.datetime | None


@dataclass(frozen=True)
class DueHarvests:
    """What :meth:`Harvests.queue_due` did: the harvests it queued (title, job id), and the titles that were due
    but whose harvest was already waiting or running."""

    queued: tuple[tuple[str, int], ...]
    waiting: tuple[str, ...]


def _plan(cfg: HarvestConfig) -> HarvestPlan:
    return HarvestPlan(
        cfg.title_key,
        cfg.title_name,
        cfg.publisher,
        cfg.country,
        cfg.plan,
        dict(cfg.settings),
        cfg.every_days,
        tuple(cfg.closed_aus),
        cfg.last_run,
    )


class Harvests:
    """Which titles are harvested, by which plan, and when."""

    plans = tuple(sorted(PLANS))

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def configure(
        self,
        title_key: str,
        *,
        name: str,
        publisher: str,
        country: str | None,
        plan: str,
        settings: dict[str, Any],
        every_days: int | None = None,
    ) -> None:
        make_plan(plan, settings)  # refuses an unknown plan or bad settings now, not at the first crawl
        with self.catalog.session() as s:
            cfg = s.scalar(select(HarvestConfig).where(HarvestConfig.title_key == title_key))
            if cfg is None:
                cfg = HarvestConfig(title_key=title_key, closed_aus=[], created_at=self.catalog.clock.now())
                s.add(cfg)
            cfg.title_name, cfg.publisher = name, publisher
            cfg.country = normalise_country(country) if country else None
            cfg.plan, cfg.settings, cfg.every_days = plan, dict(settings), every_days

    def config(self, title_key: str) -> HarvestPlan:
        with self.catalog.session() as s:
            cfg = s.scalar(select(HarvestConfig).where(HarvestConfig.title_key == title_key))
            if cfg is None:
                raise NotFound(
                    f"no harvest configured for {title_key!r}", hint="strongroom harvest add TITLE --plan ..."
                )
            return _plan(cfg)

    def close_au(self, title_key: str, label: str) -> None:
        with self.catalog.session() as s:
            cfg = s.scalar(select(HarvestConfig).where(HarvestConfig.title_key == title_key))
            if cfg is None:
                raise NotFound(f"no harvest configured for {title_key!r}")
            cfg.closed_aus = sorted({*cfg.closed_aus, label})

    def due(self) -> list[str]:
        """Titles whose periodic re-collection is due (the rule :func:`~strongroom.services.jobs.due_harvest_titles`
        keeps, which the job queue asks too)."""
        return due_harvest_titles(self.catalog.engine, self.catalog.clock.now())

    def queue_due(self, jobs: JobQueue) -> DueHarvests:
        """Queue a harvest job for every title whose re-collection is due, except those whose harvest is already
        waiting or running in the queue (the queue's own rule keeps even two callers at once from queueing one
        twice): what was queued, and what was already there."""
        due = self.due()
        fresh = jobs.due_harvests()
        queued = tuple(
            (title, job_id)
            for title, job_id in zip(fresh, jobs.enqueue_many(JobKind.HARVEST, fresh), strict=True)
            if job_id is not None
        )
        done = {title for title, _ in queued}
        return DueHarvests(queued, tuple(t for t in due if t not in done))

    def ran(self, title_key: str, started: dt.datetime, *, oai: dict[str, Any] | None = None) -> None:
        """Remember a harvest of the title: when it started, and (for OAI-PMH) where the next one resumes."""
        with self.catalog.session() as s:
            row = s.scalar(select(HarvestConfig).where(HarvestConfig.title_key == title_key))
            if row is None:
                return
            if oai is None:
                row.last_run = started
            else:
                row.settings = {**row.settings, "oai": oai}


def _item_records(items: list[dict[str, Any]]) -> list[ItemRecord]:
    """Item records from what a crawl or an OAI-PMH feed described; one no record can be made of (no key, a year
    that is not a number) is left out of the catalog, while its pages stay in the WARCs."""
    out = []
    for item in items:
        with contextlib.suppress(RecordError):
            out.append(ItemRecord.from_dict(item))
    return out


class AuVersions:
    """Writes a harvested AU's new version and catalogues it, with the intent journalled as deposits do, so a
    crash between storage and catalog is finished by recovery."""

    def __init__(self, store: ObjectStore, journal: Journal, indexer: Indexer, *, agent: str, node_id: str) -> None:
        self.store = store
        self.journal = journal
        self.indexer = indexer
        self.agent = agent
        self.node_id = node_id

    def stage(self, workdir: Path, logical: str, data: bytes) -> StagedFile:
        path = workdir / logical.replace("/", "__")
        path.write_bytes(data)
        return stage_file(logical, path)

    def commit(self, object_id: str, staged: list[StagedFile], message: str) -> int:
        """A new version: the object's current files with ``staged`` added or replacing theirs."""
        with self.journal.intent(object_id):
            committed = self.store.commit_version(
                object_id,
                with_current(self.store, object_id, staged),
                message=message,
                user_name=self.agent,
                user_address=f"urn:strongroom:node:{self.node_id}",
            )
            self.indexer.index(object_id)
        return committed.version

    def record(
        self,
        plan: HarvestPlan,
        au_key: str,
        label: str,
        items: list[dict[str, Any]],
        new_paths: list[str],
        object_id: str,
    ) -> DepositRecord:
        """The deposit record of a harvested AU's next version: what earlier harvests collected, with ``items``
        (as the crawler or OAI-PMH harvester describes them) merged in and ``new_paths`` added."""
        earlier: list[str] = []
        previous: DepositRecord | None = None
        if self.store.exists(object_id):
            state = self.store.state(object_id)
            earlier = [p for p in state if p.startswith((WARCS, OAI_RECORDS))]
            previous = self.indexer.read_record(object_id) if DEPOSIT_RECORD in state else None
        issn = next((i["issn"] for i in items if i.get("issn")), None)
        issn = issn or (previous.title.issn_online if previous else None)
        files = {
            p: FileRecord("application/warc", "other", "harvest")
            if p.startswith(WARCS)
            else FileRecord("application/xml", "metadata", "harvest")
            for p in [*earlier, *new_paths]
        }
        files[CDXJ] = FileRecord("application/cdxj", "metadata", "harvest")
        return DepositRecord(
            package_form="harvest",
            publisher=PublisherRecord(plan.publisher, plan.country, plan.plan),
            title=TitleRecord(
                key=plan.title_key,
                name=plan.title_name,
                kind="journal",
                issn_online=issn,
                languages=tuple(sorted({i["language"] for i in items if i.get("language")})),
                licence=next((i["licence"] for i in items if i.get("licence")), None),
            ),
            au=AuRecord(au_key, label),
            items=merge_items(previous.items if previous else (), _item_records(items)),
            files=files,
        )
