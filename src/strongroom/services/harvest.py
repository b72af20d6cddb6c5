"""Harvest use cases: configure a title's plan, collect its site into WARC files inside each AU's OCFL object
(one new version per crawl, content unchanged since the last crawl written as revisit records), catalogue the
articles found on landing pages, and read back what was collected (crawl report, replay).

An AU object holds ``harvest/warcs/*.warc.gz`` (every crawl's WARC files), ``harvest/index.cdxj`` (the CDXJ index
of all of them), ``strongroom/crawls/*.json`` (each crawl's report) and ``strongroom/deposit.json`` (the record
the catalog is rebuilt from, as for deposits).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import surt
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from strongroom.catalog.models import HarvestConfig
from strongroom.catalog.repo import Catalog
from strongroom.domain.identifiers import normalise_country, slug
from strongroom.errors import NotFound, StrongroomError
from strongroom.harvest.checkpoint import Checkpoint
from strongroom.harvest.crawl import Outcome, crawl
from strongroom.harvest.fetch import Fetched, Fetcher
from strongroom.harvest.oai import OaiHarvester, OaiRecord
from strongroom.harvest.plans import make_plan
from strongroom.harvest.warc import CdxLine, WarcSink, payload_digest
from strongroom.ingest.deposit import DEPOSIT_RECORD, RECORD_FORMAT, object_id_for, record_bytes
from strongroom.services import deposit as deposit_service
from strongroom.services.indexer import index_object
from strongroom.services.release_record import with_current
from strongroom.settings import Settings
from strongroom.store.ocfl import OcflStore, StagedFile, stage_file

CDXJ = "harvest/index.cdxj"
WARCS = "harvest/warcs/"
CRAWLS = "strongroom/crawls/"
OAI_RECORDS = "oai/records/"


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


def configure(
    catalog: Catalog,
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
    with catalog.session() as s:
        cfg = s.scalar(select(HarvestConfig).where(HarvestConfig.title_key == title_key))
        if cfg is None:
            cfg = HarvestConfig(title_key=title_key, closed_aus=[], created_at=catalog.clock.now())
            s.add(cfg)
        cfg.title_name, cfg.publisher = name, publisher
        cfg.country = normalise_country(country) if country else None
        cfg.plan, cfg.settings, cfg.every_days = plan, dict(settings), every_days


def config(catalog: Catalog, title_key: str) -> HarvestConfig:
    with catalog.session() as s:
        cfg = s.scalar(select(HarvestConfig).where(HarvestConfig.title_key == title_key))
        if cfg is None:
            raise NotFound(f"no harvest configured for {title_key!r}", hint="strongroom harvest add TITLE --plan ...")
        return cfg


def close_au(catalog: Catalog, title_key: str, label: str) -> None:
    with catalog.session() as s:
        cfg = s.scalar(select(HarvestConfig).where(HarvestConfig.title_key == title_key))
        if cfg is None:
            raise NotFound(f"no harvest configured for {title_key!r}")
        cfg.closed_aus = sorted({*cfg.closed_aus, label})


def due(catalog: Catalog) -> list[str]:
    """Titles whose periodic re-collection is due."""
    now = catalog.clock.now()
    with catalog.session() as s:
        return [
            c.title_key
            for c in s.scalars(select(HarvestConfig).where(HarvestConfig.every_days.is_not(None)))
            if c.last_run is None or now - c.last_run >= dt.timedelta(days=c.every_days or 0)
        ]


def cdx_lines(store: OcflStore, object_id: str) -> list[CdxLine]:
    """The AU's CDXJ index so far (empty when it has none)."""
    if not store.exists(object_id) or CDXJ not in store.state(object_id):
        return []
    with store.open_file(object_id, CDXJ) as fh:
        return [CdxLine.parse(line) for line in fh.read().decode("utf-8").splitlines() if line.strip()]


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
        self, store: OcflStore, workdir: Path, title_key: str, stamp: str, agent: str, closed: set[str]
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


def _stage(workdir: Path, logical: str, data: bytes) -> StagedFile:
    path = workdir / logical.replace("/", "__")
    path.write_bytes(data)
    return stage_file(logical, path)


def harvest(
    *,
    settings: Settings,
    catalog: Catalog,
    store: OcflStore,
    journal: deposit_service.Journal,
    agent: str,
    title_key: str,
    only_au: str | None = None,
    fetcher: Fetcher | None = None,
    progress: Callable[[Outcome], None] | None = None,
    pause_after: int | None = None,
) -> HarvestResult:
    cfg = config(catalog, title_key)
    if only_au is not None and only_au in cfg.closed_aus:
        raise StrongroomError(f"AU {title_key}/{only_au} is closed (complete); it is not collected again")
    plan = make_plan(cfg.plan, cfg.settings)
    fetcher = fetcher or Fetcher(delay=float(cfg.settings.get("delay", 1.0)))
    started = catalog.clock.now()
    fingerprint = hashlib.sha256(
        json.dumps([cfg.plan, cfg.settings, only_au], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    checkpoint = Checkpoint(settings.resolved_staging() / f"crawl-{slug(title_key)}-{only_au or 'all'}", fingerprint)
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
    with deposit_service.work_directory(settings.resolved_staging()) as workdir:
        warcs = _AuWarcs(store, workdir, title_key, stamp, agent, closed=set(cfg.closed_aus))
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
            record = _record(cfg, au_key, label, items, new_warcs, store, au.object_id)
            report = {
                "format": "strongroom-crawl/1",
                "au": au_key,
                "plan": cfg.plan,
                "started": started.isoformat(),
                "finished": catalog.clock.now().isoformat(),
                "captures": au.captures,
                "new": au.new,
                "unchanged": au.unchanged,
                "new_bytes": au.new_bytes,
                "warcs": [p.name for p in au.sink.files],
                "outcomes": [o.__dict__ for o in crawled.outcomes if o.au in (label, None)],
            }
            staged = [stage_file(f"{WARCS}{p.name}", p) for p in au.sink.files]
            staged.append(_stage(workdir, CDXJ, ("\n".join(c.text() for c in lines) + "\n").encode()))
            staged.append(_stage(workdir, DEPOSIT_RECORD, record_bytes(record)))
            staged.append(_stage(workdir, f"{CRAWLS}{stamp}.json", json.dumps(report, indent=2).encode()))
            version = _store(
                settings,
                catalog,
                store,
                journal,
                agent,
                au.object_id,
                staged,
                f"harvest by plan {cfg.plan}: {au.new} new, {au.unchanged} unchanged",
            )
            result.aus.append(AuHarvest(au_key, version, au.captures, au.new, au.unchanged, au.new_bytes, len(items)))
    with catalog.session() as s:
        row = s.scalar(select(HarvestConfig).where(HarvestConfig.title_key == title_key))
        if row is not None:
            row.last_run = started
    checkpoint.discard()  # stored: the next run is a new crawl
    return result


def _store(
    settings: Settings,
    catalog: Catalog,
    store: OcflStore,
    journal: deposit_service.Journal,
    agent: str,
    object_id: str,
    staged: list[StagedFile],
    message: str,
) -> int:
    """Commit a new version of an AU's object (its current files, with ``staged`` added or replacing theirs) and
    catalogue it, with the intent journalled (as deposits do), so a crash between the two is finished by recovery."""
    journal.begin(object_id)
    committed = store.commit_version(
        object_id,
        with_current(store, object_id, staged),
        message=message,
        user_name=agent,
        user_address=f"urn:strongroom:node:{settings.node_id}",
    )
    index_object(catalog, store, object_id, agent=agent)
    journal.end(object_id)
    return committed.version


def _record(
    cfg: HarvestConfig,
    au_key: str,
    label: str,
    items: list[dict[str, Any]],
    new_warcs: list[str],
    store: OcflStore,
    object_id: str,
) -> dict[str, Any]:
    issn = next((i["issn"] for i in items if i.get("issn")), None)
    earlier: list[str] = []
    previous: dict[str, Any] = {}
    if store.exists(object_id):
        earlier = [p for p in store.state(object_id) if p.startswith((WARCS, OAI_RECORDS))]
        previous = _existing_record(store, object_id)
    issn = issn or (previous.get("title") or {}).get("issn_online")
    files: dict[str, dict[str, str | None]] = {
        p: {"media_type": "application/warc", "role": "other", "item": None, "source": "harvest"}
        if p.startswith(WARCS)
        else {"media_type": "application/xml", "role": "metadata", "item": None, "source": "harvest"}
        for p in [*earlier, *new_warcs]
    }
    files[CDXJ] = {"media_type": "application/cdxj", "role": "metadata", "item": None, "source": "harvest"}
    return {
        "format": RECORD_FORMAT,
        "package_form": "harvest",
        "publisher": {"name": cfg.publisher, "country": cfg.country, "platform": cfg.plan},
        "title": {
            "key": cfg.title_key,
            "name": cfg.title_name,
            "kind": "journal",
            "issn_print": None,
            "issn_online": issn,
            "isbn": None,
            "languages": sorted({i["language"] for i in items if i.get("language")}),
            "licence": next((i["licence"] for i in items if i.get("licence")), None),
        },
        "au": {"key": au_key, "label": label},
        "bag_info": {},
        "items": merge_items(
            previous.get("items", []),
            [{k: v for k, v in i.items() if k not in ("journal", "issn", "pdf_url")} for i in items],
        ),
        "files": files,
    }


def _existing_record(store: OcflStore, object_id: str) -> dict[str, Any]:
    if DEPOSIT_RECORD not in store.state(object_id):
        return {}
    with store.open_file(object_id, DEPOSIT_RECORD) as fh:
        data = json.loads(fh.read())
    return data if isinstance(data, dict) else {}


def merge_items(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items by key: what a new crawl or OAI harvest says fills or updates an item; an item the publisher no
    longer shows is kept (this is an archive)."""
    merged = {str(i["key"]): dict(i) for i in old}
    for item in new:
        current = merged.setdefault(str(item["key"]), {})
        current.update({k: v for k, v in item.items() if v not in (None, "", [])})
        for k, v in item.items():
            current.setdefault(k, v)
    return [merged[k] for k in sorted(merged)]


@dataclass
class OaiHarvestResult:
    title_key: str
    records: int
    pages: int
    fallback: bool
    notes: list[str]
    aus: list[tuple[str, int, int]]  # (AU key, version, records)


def oai_harvest(
    *,
    settings: Settings,
    catalog: Catalog,
    store: OcflStore,
    journal: deposit_service.Journal,
    agent: str,
    title_key: str,
    base_url: str,
    set_spec: str | None = None,
    since: str | None = None,
    until: str | None = None,
    fetcher: Fetcher | None = None,
) -> OaiHarvestResult:
    """Harvest a title's OAI-PMH feed incrementally (from the last harvest unless ``since`` is given): each record's
    XML is kept in the AU of its year, and its Dublin Core fills the catalog."""
    cfg = config(catalog, title_key)
    state = dict(cfg.settings.get("oai") or {})
    if since is None and state.get("url") == base_url and not set_spec:
        since = state.get("last")
    fetcher = fetcher or Fetcher(delay=float(cfg.settings.get("delay", 1.0)))
    harvester = OaiHarvester(base_url, fetcher)
    started = catalog.clock.now()
    try:
        harvested = harvester.harvest(set_spec=set_spec, since=since, until=until)
        jats_prefix = harvester.jats_prefix()
        jats = (
            harvester.harvest(prefix=jats_prefix, set_spec=set_spec, since=since, until=until) if jats_prefix else None
        )
    finally:
        fetcher.close()
    if jats is not None:  # JATS says more than Dublin Core: its records fill in and override what DC gave
        harvested.notes += [f"JATS ({jats_prefix}): {n}" for n in jats.notes]
        for identifier, rich in jats.records.items():
            plain = harvested.records.get(identifier)
            if plain is not None and rich.item is not None:
                plain.item = merge_items(
                    [plain.item] if plain.item else [], [{**rich.item, "key": (plain.item or rich.item)["key"]}]
                )[0]
                plain.extra = rich.xml
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    by_label: dict[str, list[OaiRecord]] = {}
    for record in harvested.records.values():
        year = (record.item or {}).get("year") or (record.datestamp[:4] if record.datestamp[:4].isdigit() else None)
        by_label.setdefault(str(year or "undated"), []).append(record)
    done: list[tuple[str, int, int]] = []
    for label, records in sorted(by_label.items()):
        if label in cfg.closed_aus:
            continue
        au_key = f"{title_key}/{label}"
        object_id = object_id_for(au_key)
        with deposit_service.work_directory(settings.resolved_staging()) as workdir:
            paths = {f"{OAI_RECORDS}{hashlib.sha256(r.identifier.encode()).hexdigest()[:24]}.xml": r for r in records}
            jats_paths = {p.replace(".xml", ".jats.xml"): r for p, r in paths.items() if r.extra is not None}
            staged = [_stage(workdir, path, r.xml) for path, r in paths.items()]
            staged += [_stage(workdir, path, r.extra or b"") for path, r in jats_paths.items()]
            items = [r.item for r in records if r.item is not None and not r.deleted]
            described = _record(cfg, au_key, label, items, [*paths, *jats_paths], store, object_id)
            report = {
                "format": "strongroom-crawl/1",
                "au": au_key,
                "plan": "oai-pmh",
                "started": started.isoformat(),
                "finished": catalog.clock.now().isoformat(),
                "captures": len(records),
                "new": len(records),
                "unchanged": 0,
                "new_bytes": sum(len(r.xml) for r in records),
                "warcs": [],
                "outcomes": [
                    {
                        "url": r.identifier,
                        "au": label,
                        "status": None,
                        "size": len(r.xml),
                        "note": "deleted" if r.deleted else "collected",
                    }
                    for r in records
                ],
                "notes": harvested.notes,
            }
            staged.append(_stage(workdir, DEPOSIT_RECORD, record_bytes(described)))
            staged.append(_stage(workdir, f"{CRAWLS}{stamp}-oai.json", json.dumps(report, indent=2).encode()))
            version = _store(
                settings,
                catalog,
                store,
                journal,
                agent,
                object_id,
                staged,
                f"OAI-PMH harvest of {base_url}: {len(records)} records",
            )
        done.append((au_key, version, len(records)))
    with catalog.session() as s:
        row = s.scalar(select(HarvestConfig).where(HarvestConfig.title_key == title_key))
        if row is not None and not set_spec:
            row.settings = {
                **row.settings,
                "oai": {"url": base_url, "last": (harvested.response_date or "")[:10] or None},
            }
    return OaiHarvestResult(
        title_key, len(harvested.records), harvested.pages, harvested.fallback, harvested.notes, done
    )


# ---- reading back ----------------------------------------------------------------------------------------------


def crawl_reports(store: OcflStore, object_id: str) -> list[dict[str, Any]]:
    if not store.exists(object_id):
        return []
    reports = []
    for path in sorted(p for p in store.state(object_id) if p.startswith(CRAWLS)):
        with store.open_file(object_id, path) as fh:
            reports.append(json.loads(fh.read()))
    return reports


@dataclass
class Replayed:
    url: str
    timestamp: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def archived_urls(lines: list[CdxLine]) -> set[str]:
    """Every address an AU's index ``lines`` hold a page or file from (a 200 capture)."""
    return {str(line.fields["url"]) for line in lines if line.fields.get("status") == "200"}


def replay(
    store: OcflStore, object_id: str, url: str, timestamp: str | None = None, lines: list[CdxLine] | None = None
) -> Replayed:
    """The archived response for ``url`` (the latest capture, or the latest at or before ``timestamp``), read from
    its WARC through the CDXJ index (``lines``, when the caller has read it already); a revisit record is resolved
    to the capture it refers to."""
    lines = cdx_lines(store, object_id) if lines is None else lines
    key = surt.surt(url)
    matches = sorted(
        (c for c in lines if c.key == key and (timestamp is None or c.timestamp <= timestamp)),
        key=lambda c: c.timestamp,
    )
    if not matches:
        raise NotFound(f"{url} was not collected in this AU", hint="see what was: strongroom crawl-report AU")
    chosen = matches[-1]
    record = _read_record(store, object_id, chosen)
    status, headers, body = record
    if chosen.fields.get("mime") == "warc/revisit":
        original = next(
            (
                c
                for c in reversed(matches)
                if c.fields.get("mime") != "warc/revisit" and c.fields.get("digest") == chosen.fields.get("digest")
            ),
            None,
        )
        if original is None:
            raise StrongroomError(f"the revisit record for {url} refers to a capture this AU does not hold")
        _, _, body = _read_record(store, object_id, original)
    return Replayed(url, chosen.timestamp, status, headers, body)


def _read_record(store: OcflStore, object_id: str, line: CdxLine) -> tuple[int, list[tuple[str, str]], bytes]:
    with store.open_file(object_id, WARCS + line.fields["filename"]) as fh:
        fh.seek(int(line.fields["offset"]))
        data = fh.read(int(line.fields["length"]))
    for record in ArchiveIterator(io.BytesIO(data)):
        http = record.http_headers
        status = int(http.get_statuscode()) if http is not None else 0
        headers = list(http.headers) if http is not None else []
        return status, headers, record.content_stream().read()
    raise StrongroomError(f"no WARC record at {line.fields['filename']}:{line.fields['offset']}")
