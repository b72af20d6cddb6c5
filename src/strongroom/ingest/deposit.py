"""The deposit use case: from a checked :class:`~strongroom.ingest.package.Package` to a new OCFL version.

The plan decides which publisher, title and AU the package belongs to (from its JATS, filled or overridden
by the operator's options), and writes a deterministic description, ``strongroom/deposit.json``, into the
version beside the payload. That record makes every object self-describing: the catalog can be rebuilt
from the storage root alone (``services.indexer``), which is also how a crash between the store's commit and
the catalog's is healed.

The plan decides from the facts the package gathered from all its articles (``Package.facts``) and holds no
article's or file's record: those of the items and files are made one at a time, from the package's spools, as the
record is written (``DepositPlan.items``, ``DepositPlan.file_records``), and the version's files are read from there
at each pass of the store's write (``DepositPlan.staged``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
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
from strongroom.ingest.filespool import SpooledStaged
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
    """Where a package goes. For a package read here, ``record`` is the deposit record without its items and files
    (its ``items`` and ``files`` are empty): they are made one at a time from ``package`` by :meth:`items` and
    :meth:`file_records`, in the record's order; a Strongroom export's own record is whole. The package's files
    are stored at ``prefix`` + their path (a Strongroom export's keep their paths)."""

    record: DepositRecord
    package: Package
    prefix: str = PAYLOAD_PREFIX

    @property
    def whole(self) -> bool:
        """Whether ``record`` holds its items and files itself (a Strongroom export's)."""
        return self.package.record is not None

    @property
    def files(self) -> Iterator[tuple[str, PackageFile]]:
        """The package's files by logical path, read from its spool."""
        return ((self.prefix + f.relpath, f) for f in self.package.files)

    def staged(self) -> SpooledStaged:
        """The package's files as the staged files of the new version, read from its spool at each of the store's
        passes (``append`` adds others, such as the deposit record)."""
        return SpooledStaged(self.package.files.spool, self.prefix)

    def items(self) -> Iterator[ItemRecord]:
        """The record's items, in its order (by key), each made as it is asked for."""
        package = self.package
        if self.whole:
            yield from self.record.items
            return
        for item in package.items:  # by key, from the spool
            yield item_record(item.key, item.doi, package.meta(item), item.metadata_file, item.files, item.url)

    def file_records(self) -> Iterator[tuple[str, FileRecord]]:
        """The record's files by logical path, in its order, each made as it is asked for."""
        if self.whole:
            for logical in sorted(self.record.files):
                yield logical, self.record.files[logical]
            return
        deposit = str(FileSource.DEPOSIT)
        for logical, f in self.files:  # by path, from the spool
            yield logical, FileRecord(media_type=f.media_type, role=str(f.role), source=deposit, item=f.item_key)

    def whole_record(self) -> DepositRecord:
        """The deposit record with all its items and files (what is written; for tests and small packages)."""
        return replace(self.record, items=tuple(self.items()), files=dict(self.file_records()))

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
    if not package.facts.journals:
        return JournalMeta()
    return package.facts.journals.most_common(1)[0][0]


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
    return set(package.facts.years)


def plan_deposit(package: Package, options: DepositOptions, known_title: TitleRef | None = None) -> DepositPlan:
    """Decide where the package goes and describe it; raise PackageRejected with every gap found. A Strongroom
    export is described by its own record, and its files keep their paths: the same AU, as it was stored."""
    if package.record is not None:
        return DepositPlan(record=package.record, package=package, prefix="")
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
    languages = sorted(package.facts.languages)
    licences = package.facts.licences
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
    )
    return DepositPlan(record=record, package=package)


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
        write_text(record_pieces(plan.record, plan.items(), plan.file_records()), fh)
    return path


def _nested(text: str, level: int) -> str:
    """JSON encoded at the top level (indent 2), indented as a value ``level`` deep (JSON text holds no newline but
    those of its indentation: a newline in a string is escaped)."""
    return text.replace("\n", "\n" + "  " * level)


def record_pieces(
    record: DepositRecord,
    items: Iterable[ItemRecord] | None = None,
    files: Iterable[tuple[str, FileRecord]] | None = None,
) -> Iterator[str]:
    """The text of ``record.to_bytes()`` (``json.dumps(..., sort_keys=True, indent=2, ensure_ascii=False)`` and a
    newline), piece by piece: each item and file is made a dict only as it is written, so that the whole record is
    never held a second time as dicts. ``items`` and ``files`` (by logical path, sorted), when given, are the
    record's instead of its own ``items`` and ``files``, taken one at a time as they are written."""
    encoder = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False)
    if items is None:
        items = record.items
    if files is None:
        files = ((logical, record.files[logical]) for logical in sorted(record.files))
    top = replace(record, items=(), files={}).to_dict()
    yield "{"
    for n, key in enumerate(sorted(top)):
        yield ("," if n else "") + "\n  " + encoder.encode(key) + ": "
        if key == "items":
            empty = True
            for item in items:
                yield ("[" if empty else ",") + "\n    " + _nested(encoder.encode(item.to_dict()), 2)
                empty = False
            yield "[]" if empty else "\n  ]"
        elif key == "files":
            empty = True
            for logical, file in files:
                value = _nested(encoder.encode(file.to_dict()), 2)
                yield ("{" if empty else ",") + "\n    " + encoder.encode(logical) + ": " + value
                empty = False
            yield "{}" if empty else "\n  }"
        else:
            yield _nested(encoder.encode(top[key]), 1)
    yield "\n}\n"
