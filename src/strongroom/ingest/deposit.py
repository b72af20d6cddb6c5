"""The deposit use case: from a checked :class:`~strongroom.ingest.package.Package` to a new OCFL version.

The plan decides which publisher, title and AU the package belongs to (from its JATS, filled or overridden
by the operator's options), and writes a deterministic description, ``strongroom/deposit.json``, into the
version beside the payload. That record makes every object self-describing: the catalog can be rebuilt
from the storage root alone (``services.indexer``), which is also how a crash between the store's commit and
the catalog's is healed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from strongroom.domain.identifiers import normalise_country, normalise_issn, slug
from strongroom.domain.model import ArticleMeta, FileSource, JournalMeta, TitleKind
from strongroom.errors import Finding, InvalidIdentifier, PackageRejected
from strongroom.formats.records import (
    AuRecord,
    ContributorRecord,
    DepositRecord,
    FileRecord,
    ItemRecord,
    PublisherRecord,
    TitleRecord,
)
from strongroom.ingest.package import Package, PackageFile
from strongroom.store.hashing import write_text

PAYLOAD_PREFIX = "payload/"


@dataclass(frozen=True)
class DepositOptions:
    """What the operator says about a package; each fills what the package lacks or overrides it."""

    publisher: str | None = None
    publisher_country: str | None = None
    platform: str | None = None
    title: str | None = None
    issn: str | None = None
    au: str | None = None
    kind: TitleKind = TitleKind.JOURNAL
    licence: str | None = None


@dataclass(frozen=True)
class TitleRef:
    """How the catalog already knows a title, looked up by ISSN before planning (keys stay stable)."""

    key: str
    name: str


@dataclass
class DepositPlan:
    record: DepositRecord
    files: list[tuple[str, PackageFile]] = field(default_factory=list)  # (logical path, file)

    @property
    def au_key(self) -> str:
        return self.record.au.key

    @property
    def object_id(self) -> str:
        return object_id_for(self.au_key)


def object_id_for(au_key: str) -> str:
    return f"strongroom:au/{au_key}"


def _journal(package: Package) -> JournalMeta:
    """The journal-meta most articles agree on (packages normally hold one journal)."""
    metas = [item.meta.journal for item in package.items if item.meta]
    if not metas:
        return JournalMeta()
    return Counter(metas).most_common(1)[0][0]


def _issns(
    journal: JournalMeta, options: DepositOptions, findings: list[Finding]
) -> tuple[str | None, str | None, str | None]:
    values: list[str | None] = []
    for raw in (options.issn, journal.issn_online, journal.issn_print):
        if not raw:
            values.append(None)
            continue
        try:
            values.append(normalise_issn(raw))
        except InvalidIdentifier as exc:
            findings.append(Finding("P052", "", exc.message))
            values.append(None)
    return values[0], values[1], values[2]


def _years(package: Package) -> set[int]:
    return {item.meta.year for item in package.items if item.meta and item.meta.year}


def plan_deposit(package: Package, options: DepositOptions, known_title: TitleRef | None = None) -> DepositPlan:
    """Decide where the package goes and describe it; raise PackageRejected with every gap found. A Strongroom
    export is described by its own record, and its files keep their paths: the same AU, as it was stored."""
    if package.record is not None:
        return DepositPlan(record=package.record, files=[(f.relpath, f) for f in package.files])
    findings: list[Finding] = []
    journal = _journal(package)
    opt_issn, issn_online, issn_print = _issns(journal, options, findings)
    title_name = options.title or (known_title.name if known_title else None) or journal.title
    if not title_name:
        findings.append(Finding("P051", "", "no journal or book title in the package; pass --title"))
    publisher = options.publisher or journal.publisher_name
    if not publisher:
        findings.append(Finding("P051", "", "no publisher name in the package; pass --publisher"))
    country = None
    raw_country = options.publisher_country or journal.publisher_country
    if raw_country:
        try:
            country = normalise_country(raw_country)
        except InvalidIdentifier as exc:
            findings.append(Finding("P052", "", exc.message + " (--publisher-country)"))
    label = options.au
    if not label:
        years = _years(package)
        if len(years) == 1:
            label = str(years.pop())
        elif years:
            findings.append(
                Finding(
                    "P051",
                    "",
                    f"articles span years {', '.join(map(str, sorted(years)))}: "
                    "deposit one year per package, or name the AU with --au",
                )
            )
        else:
            findings.append(Finding("P051", "", "no publication year in the package; name the AU with --au"))
    if label and (not label.strip() or "/" in label or len(label) > 100):
        findings.append(Finding("P051", "", f"AU label {label!r} must be non-empty, at most 100 characters, no '/'"))
    if findings:
        raise PackageRejected(
            f"package {package.source} cannot be placed in the archive: {len(findings)} problem(s); nothing was stored",
            findings,
            hint="add the missing metadata to the package or pass the options named above",
        )
    assert title_name and publisher and label
    if opt_issn and opt_issn not in (issn_online, issn_print):
        if issn_online is None:
            issn_online = opt_issn
        elif issn_print is None:
            issn_print = opt_issn
    issn = opt_issn or issn_online or issn_print
    title_key = known_title.key if known_title else (f"issn:{issn}" if issn else f"title:{slug(title_name)}")
    au_key = f"{title_key}/{label}"
    languages = sorted({item.meta.language for item in package.items if item.meta and item.meta.language})
    licences = Counter(item.meta.licence for item in package.items if item.meta and item.meta.licence)
    record = DepositRecord(
        package_form=str(package.form),
        publisher=PublisherRecord(name=publisher, country=country, platform=options.platform),
        title=TitleRecord(
            key=title_key,
            name=title_name,
            kind=str(options.kind),
            issn_print=issn_print,
            issn_online=issn_online,
            isbn=journal.isbn,
            languages=tuple(languages),
            licence=options.licence or (licences.most_common(1)[0][0] if licences else None),
        ),
        au=AuRecord(key=au_key, label=label),
        bag_info=dict(package.bag_info),
        items=tuple(
            item_record(item.key, item.doi, item.meta, item.metadata_file, item.files, item.url)
            for item in sorted(package.items, key=lambda i: i.key)
        ),
        files={
            PAYLOAD_PREFIX + f.relpath: FileRecord(
                media_type=f.media_type, role=str(f.role), source=str(FileSource.DEPOSIT), item=f.item_key
            )
            for f in package.files
        },
    )
    plan = DepositPlan(record=record)
    plan.files = [(PAYLOAD_PREFIX + f.relpath, f) for f in package.files]
    return plan


def item_record(
    key: str,
    doi: str | None,
    meta: ArticleMeta | None,
    metadata_file: str | None,
    files: list[str],
    url: str | None,
) -> ItemRecord:
    base = ItemRecord(
        key=key,
        doi=doi,
        url=url,
        metadata_file=PAYLOAD_PREFIX + metadata_file if metadata_file else None,
        files=tuple(PAYLOAD_PREFIX + f for f in files),
        title=doi or key,
    )
    if meta is None:
        return base
    return replace(
        base,
        title=meta.title,
        contributors=tuple(
            ContributorRecord(c.name, c.role, c.orcid, tuple(c.affiliations)) for c in meta.contributors
        ),
        publication_date=meta.publication_date.isoformat() if meta.publication_date else None,
        year=meta.year,
        volume=meta.volume,
        issue=meta.issue,
        pages=meta.pages,
        abstract=meta.abstract,
        keywords=tuple(meta.keywords),
        language=meta.language,
        licence=meta.licence,
        item_type=str(meta.item_type),
    )


def write_record(plan: DepositPlan, workdir: Path) -> Path:
    """The deposit record in ``workdir``: the bytes of ``DepositRecord.to_bytes``, encoded as they are written (the
    record of a package of tens of thousands of articles is never held whole as text, nor as one dict)."""
    path = workdir / "deposit.json"
    with path.open("wb") as fh:
        write_text(record_pieces(plan.record), fh)
    return path


def _nested(text: str, level: int) -> str:
    """JSON encoded at the top level (indent 2), indented as a value ``level`` deep (JSON text holds no newline but
    those of its indentation: a newline in a string is escaped)."""
    return text.replace("\n", "\n" + "  " * level)


def record_pieces(record: DepositRecord) -> Iterator[str]:
    """The text of ``record.to_bytes()`` (``json.dumps(..., sort_keys=True, indent=2, ensure_ascii=False)`` and a
    newline), piece by piece: each item and file is made a dict only as it is written, so that the whole record is
    never held a second time as dicts."""
    encoder = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False)
    top = replace(record, items=(), files={}).to_dict()
    yield "{"
    for n, key in enumerate(sorted(top)):
        yield ("," if n else "") + "\n  " + encoder.encode(key) + ": "
        if key == "items" and record.items:
            yield "["
            for i, item in enumerate(record.items):
                yield ("," if i else "") + "\n    " + _nested(encoder.encode(item.to_dict()), 2)
            yield "\n  ]"
        elif key == "files" and record.files:
            yield "{"
            for i, logical in enumerate(sorted(record.files)):
                value = _nested(encoder.encode(record.files[logical].to_dict()), 2)
                yield ("," if i else "") + "\n    " + encoder.encode(logical) + ": " + value
            yield "\n  }"
        else:
            yield _nested(encoder.encode(top[key]), 1)
    yield "\n}\n"
