"""OAI-PMH harvest: a title's feed harvested incrementally; each record's XML is kept in the AU of its year, and its
Dublin Core (or JATS, where the provider offers it) fills the catalog."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from strongroom.formats.records import DEPOSIT_RECORD, ItemRecord, RecordError, merge_items
from strongroom.harvest.fetch import Fetcher
from strongroom.harvest.oai import OaiHarvester, OaiRecord
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


class OaiHarvest:
    def __init__(self, harvests: Harvests, versions: AuVersions, *, staging: Path) -> None:
        self.harvests = harvests
        self.versions = versions
        self.staging = staging
        self.clock = harvests.catalog.clock

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
