"""OAI-PMH harvest: a title's feed harvested incrementally; each record's XML is kept in the AU of its year, and its
Dublin Core (or JATS, where the provider offers it) fills the catalog. When no title is named, the feed says which
journal it is (``dc:source`` and its ISSNs, ``dc:publisher``, Identify's ``repositoryName``) and the title is found
in the catalog or configured; a feed of several journals is refused with the sets to choose from."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from strongroom.catalog.models import HarvestConfig, Title
from strongroom.domain.identifiers import slug
from strongroom.errors import ExitCode, StrongroomError
from strongroom.formats.records import DEPOSIT_RECORD, ItemRecord, RecordError, merge_items
from strongroom.harvest.fetch import Fetcher
from strongroom.harvest.oai import DcJournal, OaiHarvester, OaiRecord
from strongroom.ingest.deposit import object_id_for
from strongroom.services.harvests import CRAWLS, OAI_RECORDS, AuVersions, Harvests
from strongroom.services.scratch import work_directory


@dataclass
class OaiHarvestResult:
    title_key: str
    records: int
    pages: int
    fallback: bool
    notes: list[str]
    aus: list[tuple[str, int, int]]  # (AU key, version, records)


class FeedTitleUnknown(StrongroomError):
    """The feed does not say which one title its records belong to: the user must name it (and its set)."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class FeedTitle:
    key: str
    name: str
    created: bool  # its harvest configuration was made from the feed just now


def _plan_for(base_url: str, set_spec: str | None) -> tuple[str, dict[str, Any]]:
    """The web plan a title first met through its feed is configured with: OJS's manifest beside an OJS feed (for
    the site-wide feed ``…/index.php/index/oai``, the journal its set names); otherwise the feed's own address and
    nothing more (``harvest add`` sets a real plan)."""
    ojs = re.match(r"^(https?://[^/?#]+(?:/[^?#]*)?/index\.php/)([^/?#]+)/oai/?$", base_url)
    if ojs:
        journal = set_spec.split(":")[0] if ojs.group(2) == "index" and set_spec else ojs.group(2)
        return "ojs", {"start_url": f"{ojs.group(1)}{journal}/gateway/clockss"}
    return "generic", {"start_url": base_url, "depth": 0}


def _several(journals: list[DcJournal]) -> list[str]:
    """The journals a page of records names, when it names more than one (by name, else by ISSNs)."""
    names = sorted({j.name for j in journals if j.name})
    issns = sorted({" / ".join(j.issns) for j in journals if j.issns})
    return names if len(names) > 1 else issns if len(issns) > 1 else []


def _journal_sets(sets: list[tuple[str, str]]) -> list[str]:
    """The journals a provider's sets name, when they name more than one: in OJS a journal's set has its
    sections below it (``ajph``, ``ajph:ART``), which sets such as ``driver`` or ``ec_fundedresources`` have not.
    A platform's one endpoint lists them all even when its first records are of one journal."""
    specs = [spec for spec, _ in sets]
    journals = [name or spec for spec, name in sets if any(s.startswith(f"{spec}:") for s in specs)]
    return journals if len(journals) > 1 else []


class OaiHarvest:
    def __init__(self, harvests: Harvests, versions: AuVersions, *, staging: Path) -> None:
        self.harvests = harvests
        self.versions = versions
        self.staging = staging
        self.clock = harvests.catalog.clock

    def feed_title(
        self,
        base_url: str,
        *,
        set_spec: str | None = None,
        fetcher: Fetcher | None = None,
        delay: float | None = None,
    ) -> FeedTitle:
        """The title whose records ``base_url`` (in ``set_spec``) serves: the configured or catalogued title with
        the feed's ISSN or name, or a new harvest configuration made from what the feed says."""
        fetcher = fetcher or Fetcher(delay=1.0 if delay is None else delay)
        harvester = OaiHarvester(base_url, fetcher)
        try:
            journals = harvester.journals(set_spec)
            sets = harvester.sets()
            several = _several(journals) or ([] if set_spec else _journal_sets(sets))
            names = [j.name for j in journals if j.name]
            issns = next((j.issns for j in journals if j.issns), ())
            repository = "" if several or names or not issns else harvester.identify().get("repositoryName", "")
            if several or not (names or issns):
                raise FeedTitleUnknown(
                    f"{base_url} serves records of {len(several)} journals ({'; '.join(several[:5])})"
                    if several
                    else f"{base_url} does not say which journal its records belong to (no dc:source, no ISSN)",
                    hint=_how_to_choose(base_url, sets),
                )
        finally:
            fetcher.close()
        name = names[0] if names else repository.strip() or f"ISSN {issns[0]}"
        publishers = sorted({j.publisher for j in journals if j.publisher})
        publisher = publishers[0] if len(publishers) == 1 else name
        return self._title_for(_plan_for(base_url, set_spec), name, issns, publisher)

    def _title_for(
        self, plan: tuple[str, dict[str, Any]], name: str, issns: tuple[str, ...], publisher: str
    ) -> FeedTitle:
        catalog = self.harvests.catalog
        with catalog.session() as s:
            configured = s.scalars(
                select(HarvestConfig)
                .where(
                    HarvestConfig.title_key.in_([f"issn:{i}" for i in issns])
                    if issns
                    else HarvestConfig.title_name == name
                )
                .order_by(HarvestConfig.id)
            ).first()
            if configured is not None:
                return FeedTitle(configured.title_key, configured.title_name, created=False)
            known = s.scalars(
                select(Title)
                .where(or_(Title.issn_print.in_(issns), Title.issn_online.in_(issns)) if issns else Title.name == name)
                .order_by(Title.id)
            ).first()
            country = None
            if known is not None:
                name, publisher = known.name, known.publisher.name if known.publisher else publisher
                country = known.publisher.country if known.publisher else None
            key = known.key if known else f"issn:{issns[0]}" if issns else f"title:{slug(name)}"
            if s.scalar(select(HarvestConfig.id).where(HarvestConfig.title_key == key)) is not None:
                return FeedTitle(key, name, created=False)
        self.harvests.configure(key, name=name, publisher=publisher, country=country, plan=plan[0], settings=plan[1])
        return FeedTitle(key, name, created=True)

    def run(
        self,
        title_key: str,
        base_url: str,
        *,
        set_spec: str | None = None,
        since: str | None = None,
        until: str | None = None,
        fetcher: Fetcher | None = None,
        delay: float | None = None,
    ) -> OaiHarvestResult:
        """Harvest ``base_url`` into the title's AUs (from the last harvest unless ``since`` is given)."""
        cfg = self.harvests.config(title_key)
        state = dict(cfg.settings.get("oai") or {})
        if since is None and state.get("url") == base_url and not set_spec:
            since = state.get("last")
        fetcher = fetcher or Fetcher(delay=float(cfg.settings.get("delay", 1.0)) if delay is None else delay)
        harvester = OaiHarvester(base_url, fetcher)
        started = self.clock.now()
        try:
            harvested = harvester.harvest(set_spec=set_spec, since=since, until=until)
            jats_prefix = harvester.jats_prefix()
            jats = (
                harvester.harvest(prefix=jats_prefix, set_spec=set_spec, since=since, until=until)
                if jats_prefix
                else None
            )
        finally:
            fetcher.close()
        if jats is not None:  # JATS says more than Dublin Core: its records fill in and override what DC gave
            harvested.notes += [f"JATS ({jats_prefix}): {n}" for n in jats.notes]
            for identifier, rich in jats.records.items():
                plain = harvested.records.get(identifier)
                if plain is not None and rich.item is not None:
                    key = (plain.item or rich.item)["key"]
                    with contextlib.suppress(RecordError):  # a record no item can be made of stays as it is
                        base = [ItemRecord.from_dict(plain.item)] if plain.item else []
                        [merged] = merge_items(tuple(base), [ItemRecord.from_dict({**rich.item, "key": key})])
                        plain.item = merged.to_dict()
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
            with work_directory(self.staging) as workdir:
                stage = self.versions.stage
                paths = {
                    f"{OAI_RECORDS}{hashlib.sha256(r.identifier.encode()).hexdigest()[:24]}.xml": r for r in records
                }
                jats_paths = {p.replace(".xml", ".jats.xml"): r for p, r in paths.items() if r.extra is not None}
                staged = [stage(workdir, path, r.xml) for path, r in paths.items()]
                staged += [stage(workdir, path, r.extra or b"") for path, r in jats_paths.items()]
                items = [r.item for r in records if r.item is not None and not r.deleted]
                described = self.versions.record(cfg, au_key, label, items, [*paths, *jats_paths], object_id)
                report = {
                    "format": "strongroom-crawl/1",
                    "au": au_key,
                    "plan": "oai-pmh",
                    "started": started.isoformat(),
                    "finished": self.clock.now().isoformat(),
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
                staged.append(stage(workdir, DEPOSIT_RECORD, described.to_bytes()))
                staged.append(stage(workdir, f"{CRAWLS}{stamp}-oai.json", json.dumps(report, indent=2).encode()))
                version = self.versions.commit(
                    object_id, staged, f"OAI-PMH harvest of {base_url}: {len(records)} records"
                )
            done.append((au_key, version, len(records)))
        if not set_spec:
            self.harvests.ran(
                title_key, started, oai={"url": base_url, "last": (harvested.response_date or "")[:10] or None}
            )
        return OaiHarvestResult(
            title_key, len(harvested.records), harvested.pages, harvested.fallback, harvested.notes, done
        )


def _how_to_choose(base_url: str, sets: list[tuple[str, str]]) -> str:
    command = f"strongroom oai-harvest {base_url} --set SET --title KEY"
    if not sets:
        return f"name the title: strongroom oai-harvest {base_url} --title KEY (configure KEY with `harvest add`)"
    listed = ", ".join(f"{spec} ({name})" if name and name != spec else spec for spec, name in sets[:20])
    more = f" and {len(sets) - 20:,} more" if len(sets) > 20 else ""
    return f"harvest one journal at a time, naming its set and title: {command}; its sets: {listed}{more}"
