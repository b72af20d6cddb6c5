"""Opening a deposit package: recognise its form, make it safe, verify its checksums, read its metadata.

Accepted forms (see ``docs/deposit.md``):

* a **BagIt bag** (RFC 8493) as a directory, ``.zip`` or ``.tar.gz``: every payload and tag file is verified
  against the bag's manifests while it is hashed for storage (one read per file);
* a **JASPER-style ZIP** (or directory): ``identifiers.csv`` with a DOI and/or full-text URL per article and a
  folder per article holding its full texts (and a JATS XML where the publisher has one);
* a **directory of JATS XML** with the PDFs and supplementary files beside each article.

``open_package`` either returns a :class:`Package` or raises :class:`PackageRejected` listing every finding;
it writes nothing but its own work directory. A package is read article by article: each article's parsed metadata
goes to an :class:`~strongroom.ingest.spool.ArticleSpool` in that directory as soon as it is read, and the package
keeps only its offset, with the few facts the plan needs from all the articles (``Package.facts``). Its files (with
their digests) and items go to a :class:`~strongroom.ingest.filespool.PackageSpool` beside it as they are read and
hashed, and are read back a row at a time (``Package.files``, ``Package.items``): memory holds no record of every
file or article.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

import bagit

from strongroom.domain.identifiers import slug
from strongroom.domain.model import ArticleMeta, JournalMeta
from strongroom.errors import Finding, PackageRejected
from strongroom.formats.archives import ArchiveLimits, check_tree, extract_archive, names_under
from strongroom.formats.jasper import JasperRow, read_identifiers
from strongroom.formats.jats import article_meta
from strongroom.formats.mediatype import check_format, identify
from strongroom.formats.ojs_native import PKP_NS, read_native, validate_native
from strongroom.formats.records import DepositRecord, RecordError
from strongroom.formats.xmlsafe import MAX_XML_BYTES, parse_xml
from strongroom.ingest.bag import ListedBag, Payload, bag_structure, expect_manifests, oxum_findings
from strongroom.ingest.filespool import PackageFile, PackageFiles, PackageItems, PackageSpool, ParsedItem
from strongroom.ingest.spool import ArticleFacts, ArticleSpool
from strongroom.progress import NullReporter, Reporter
from strongroom.settings import IngestLimits
from strongroom.store.hashing import hash_file

BAG_ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
STORAGE_ALGORITHMS = ("sha512", "sha256")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b")


class PackageForm(StrEnum):
    STRONGROOM_EXPORT = "strongroom-export"  # a bag `strongroom export` wrote: the AU as it was stored
    OJS_NATIVE = "ojs-native"  # the OJS PKP Preservation Network plugin's bag: Native XML, galleys, schemas
    BAGIT = "bagit"
    JASPER = "jasper"
    JATS_DIRECTORY = "jats-directory"


# Where the items of a package whose metadata is spooled come from; ``SPOOL`` names the file in the work directory.
SPOOL = "articles.spool"
FILES = "package.sqlite"  # the package's files and items (``PackageSpool``)

__all__ = ["FILES", "SPOOL", "Package", "PackageFile", "PackageForm", "ParsedItem", "open_package"]


@dataclass
class Package:
    form: PackageForm
    source: Path
    files: PackageFiles  # by path, read from the package spool at each pass
    items: PackageItems  # by key, likewise
    bag_info: dict[str, list[str]] = field(default_factory=dict)
    record: DepositRecord | None = None  # a Strongroom export's own deposit record (its files keep their paths)
    facts: ArticleFacts = field(default_factory=ArticleFacts)  # what the plan needs from all the articles
    spool: ArticleSpool | None = None  # the articles' metadata, read back one at a time by meta()

    @property
    def total_bytes(self) -> int:
        return self.files.total_bytes

    def meta(self, item: ParsedItem) -> ArticleMeta | None:
        """The item's article metadata, read back from the spool (each call reads it anew: nothing is cached)."""
        if item.meta is not None:
            return item.meta
        if item.meta_at is None or self.spool is None:
            return None
        return self.spool.get(item.meta_at)

    def close(self) -> None:
        """Let the spools' files go (the work directory that holds them is removed by its owner)."""
        if self.spool is not None:
            self.spool.close()
        self.files.spool.close()


def _reject(findings: list[Finding], source: Path) -> PackageRejected:
    codes = sorted({f.code for f in findings})
    return PackageRejected(
        f"package {source} rejected: {len(findings)} problem(s) ({', '.join(codes)}); nothing was stored",
        findings,
        hint="fix the package and deposit it again; codes are explained in docs/findings.md",
    )


def _is_archive(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(512)
    if head.startswith(ARCHIVE_MAGIC):
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def _payload_root(extracted: Path) -> Path:
    """Descend through a single wrapping folder, as most ZIP tools add one."""
    root = extracted
    while True:
        entries = list(itertools.islice(root.iterdir(), 2))  # one entry or more: not a list of a large folder
        if len(entries) == 1 and entries[0].is_dir() and not (root / "bagit.txt").exists():
            root = entries[0]
        else:
            return root


def _files_under(root: Path) -> Iterator[str]:
    """The paths of the files under ``root`` (those ``Path.rglob`` finds), where ``rglob`` keeps every path it gave
    in a set."""
    return (rel for rel, full in names_under(root) if os.path.isfile(full))


def open_package(path: Path, workdir: Path, limits: IngestLimits, reporter: Reporter | None = None) -> Package:
    """Open, check and describe the package at ``path``; ``workdir`` receives extracted archives."""
    reporter = reporter or NullReporter()
    if not path.exists():
        raise PackageRejected(f"no such file or directory: {path}", [Finding("P010", str(path), "not found")])
    if path.is_symlink():
        raise _reject([Finding("P002", str(path), "the package itself is a symbolic link")], path)
    if path.is_file():
        if not _is_archive(path):
            raise PackageRejected(
                f"{path} is not a package",
                [Finding("P010", path.name, "a single file that is not a ZIP or tar archive")],
                hint="deposit a BagIt bag, a JASPER ZIP or a directory of JATS XML and PDFs",
            )
        extracted = workdir / "extracted"
        extracted.mkdir(parents=True)
        arch_limits = ArchiveLimits(
            max_total_bytes=limits.max_package_bytes,
            max_entries=limits.max_entries,
            max_ratio=limits.max_ratio,
            max_file_bytes=limits.max_file_bytes,
        )
        extract_archive(path, extracted, arch_limits)  # raises PackageRejected with P001-P006
        root = _payload_root(extracted)
    elif path.is_dir():
        workdir.mkdir(parents=True, exist_ok=True)
        findings = check_tree(path, scratch=workdir)
        if findings:
            raise _reject(findings, path)
        root = path
    else:
        raise _reject([Finding("P002", str(path), "not a regular file or directory")], path)

    reporter.stage("verifying checksums", sum((root / rel).stat().st_size for rel in _files_under(root)))
    for reader in FORMS:
        if reader.recognise(root):
            spool = ArticleSpool(workdir / SPOOL)
            files = PackageSpool(workdir / FILES)
            try:
                return reader.read(path, root, reporter, spool, files)
            except BaseException:
                spool.close()
                files.close()
                raise
    if next(_files_under(root), None) is None:
        raise _reject([Finding("P011", "", "the package is empty")], path)
    raise PackageRejected(
        f"{path} is not a package Strongroom recognises",
        [Finding("P010", "", _listing([f"no {r.sign}" for r in FORMS], "and"))],
        hint="deposit " + _listing([r.description for r in FORMS], "or"),
    )


def _listing(parts: list[str], last: str) -> str:
    return ", ".join(parts[:-1]) + f" {last} " + parts[-1] if len(parts) > 1 else "".join(parts)


@dataclass(frozen=True)
class FormReader:
    """One package form: how it is recognised (``recognise(root)``) and read (``read(source, root, reporter,
    spool, files)``, each article's metadata put in ``spool`` and each file's record in ``files`` as it is read)."""

    form: PackageForm
    recognise: Callable[[Path], bool]
    read: Callable[[Path, Path, Reporter, ArticleSpool, PackageSpool], Package]
    sign: str  # what marks it, for the message when nothing does
    description: str


FORMS: list[FormReader] = []  # tried in this order; a new form is one reader and one register() call


Read = Callable[[Path, Path, Reporter, ArticleSpool, PackageSpool], Package]


def register(
    form: PackageForm, recognise: Callable[[Path], bool], sign: str, description: str
) -> Callable[[Read], Read]:
    def add(read: Read) -> Read:
        FORMS.append(FormReader(form, recognise, read, sign, description))
        return read

    return add


# ---- reading files: hash once, check format, parse XML ------------------------------------------------------


def _nothing_expected(rel: str) -> dict[str, str]:
    return {}


def _hash_and_check(
    root: Path,
    relpaths: Iterable[str],
    findings: list[Finding],
    reporter: Reporter,
    into: PackageSpool | None,
    expected: Callable[[str], dict[str, str]] = _nothing_expected,
) -> None:
    """Hash and check each file (against ``expected(rel)``, the bag manifests' digests), its record put ``into``
    the package spool (for tag files, nowhere)."""
    for rel in relpaths:
        source = root / rel
        want = expected(rel)
        algorithms = tuple(sorted(set(STORAGE_ALGORITHMS) | set(want)))
        try:
            digests = hash_file(source, algorithms, reporter.advance)
        except OSError as exc:
            findings.append(Finding("P004", rel, f"cannot be read: {exc.strerror or exc}"))
            continue
        for alg, value in sorted(want.items()):
            if digests.digests[alg] != value.lower():
                findings.append(
                    Finding("P020", rel, f"{alg} is {digests.digests[alg]}, the manifest says {value.lower()}")
                )
        findings.extend(check_format(source, rel))
        if into is not None:
            into.add_file(
                PackageFile(
                    relpath=rel,
                    source=source,
                    size=digests.size,
                    sha512=digests.digests["sha512"],
                    sha256=digests.digests["sha256"],
                    media_type=identify(source),
                )
            )


def _read_jats(
    root: Path, relpaths: Iterable[str], findings: list[Finding], spool: ArticleSpool, files: PackageSpool
) -> None:
    """Parse every XML file safely, once; put the JATS articles among them in ``spool``, each one's path, DOI and
    place in the spool in the package spool's articles (``files.article(rel)``)."""
    for rel in relpaths:
        if not rel.lower().endswith(".xml"):
            continue
        size = (root / rel).stat().st_size
        if size > MAX_XML_BYTES:  # checked before reading: a huge "XML" file never enters memory
            findings.append(Finding("P030", rel, f"{size} bytes is more than the {MAX_XML_BYTES} allowed for XML"))
            continue
        data = (root / rel).read_bytes()
        try:
            tree = parse_xml(data, rel)
        except PackageRejected as exc:
            findings.extend(exc.findings)
            continue
        if tree.tag != "article":
            continue  # XML that is not a JATS article is kept as a supplementary file
        try:
            meta = article_meta(tree, rel)
        except PackageRejected as exc:
            findings.extend(exc.findings)
            continue
        files.add_article(rel, meta.doi, spool.put(meta))
    files.db.commit()


def _finish(
    form: PackageForm,
    source: Path,
    files: PackageSpool,
    items: list[ParsedItem],
    findings: list[Finding],
    spool: ArticleSpool,
    bag_info: dict[str, list[str]] | None = None,
    payload_prefix: str = "",
    support: frozenset[str] = frozenset(),
) -> Package:
    """The package: its files given their items and roles (``support``, paths as read, are of role other), its
    items spooled by key with their paths taken out of ``payload_prefix``, and the facts of their articles."""
    files.claim((item.key, item.metadata_file or (item.files[0] if item.files else "")) for item in items)
    _check(source, files, findings)
    files.prefix = payload_prefix
    owner = {f: item.key for item in items for f in item.files}
    metadata_files = {item.metadata_file for item in items if item.metadata_file}
    files.assign(owner.get, metadata_files.__contains__, support)
    del owner, metadata_files
    facts = ArticleFacts()
    cut = len(payload_prefix)
    for item in items:
        item.files = sorted(f[cut:] for f in item.files)
        if item.metadata_file:
            item.metadata_file = item.metadata_file[cut:]
        # The facts are counted in the items' order; metadata a form read whole (OJS Native XML) is spooled too.
        meta = item.meta if item.meta is not None else spool.get(item.meta_at) if item.meta_at is not None else None
        if meta is not None:
            facts.add(meta)
        if item.meta is not None:
            item.meta_at, item.meta = spool.put(item.meta), None
    files.add_items(items)
    items.clear()  # the caller's list: each item's record is in the spool now
    return _package(form, source, files, spool, bag_info, facts)


def _finish_by_jats(
    form: PackageForm,
    source: Path,
    files: PackageSpool,
    findings: list[Finding],
    spool: ArticleSpool,
    bag_info: dict[str, list[str]] | None = None,
    payload_prefix: str = "",
) -> Package:
    """The package whose items are its JATS articles (in the package spool, ``_read_jats``), each owning the files
    ``_group_by_jats`` gives it: ``_finish`` for them, worked from the spool a page at a time."""
    files.claim_articles()
    _check(source, files, findings)
    files.prefix = payload_prefix
    _group_by_jats(files)
    facts = ArticleFacts()
    files.add_items(_counted(_jats_items(files, len(payload_prefix)), spool, facts))
    return _package(form, source, files, spool, bag_info, facts)


def _check(source: Path, files: PackageSpool, findings: list[Finding]) -> None:
    """Raise with every finding, those of a package without payload and of an item key claimed twice included."""
    if not files.count and not findings:
        findings.append(Finding("P011", "", "the package holds no payload files"))
    for where, key, prior in files.duplicate_claims():
        findings.append(Finding("P052", where, f"{key} is also the identifier of {prior}"))
    if findings:
        raise _reject(findings, source)


def _package(
    form: PackageForm,
    source: Path,
    files: PackageSpool,
    spool: ArticleSpool,
    bag_info: dict[str, list[str]] | None,
    facts: ArticleFacts,
) -> Package:
    return Package(
        form=form,
        source=source,
        files=PackageFiles(files),
        items=PackageItems(files),
        bag_info=bag_info or {},
        facts=facts,
        spool=spool,
    )


def _group_by_jats(files: PackageSpool) -> None:
    """Attach each file to an article (``PackageSpool.owner``: the whole folder when the folder has one article,
    else by file stem), the articles being of role metadata, in one pass over the files."""
    files.assign(files.owner, files.is_article, ())


def _jats_items(files: PackageSpool, cut: int) -> Iterator[ParsedItem]:
    """Each JATS article's item, in the order of their paths, with the files ``_group_by_jats`` gave it (their paths
    cut of the first ``cut`` characters, the payload prefix)."""
    for rel, key, doi, meta_at in files.articles():
        owned = [f[cut:] for f in files.item_files(key)]
        yield ParsedItem(key=key, doi=doi, meta=None, metadata_file=rel[cut:], files=owned, meta_at=meta_at)


def _counted(items: Iterable[ParsedItem], spool: ArticleSpool, facts: ArticleFacts) -> Iterator[ParsedItem]:
    """``items``, each article's facts added to ``facts`` as it goes by (in the items' order)."""
    for item in items:
        if item.meta_at is not None:
            facts.add(spool.get(item.meta_at))
        yield item


# ---- the three forms -----------------------------------------------------------------------------------------


EXPORT_RECORD = "data/strongroom/deposit.json"
# What an export adds beside the AU's files, and what a deposit never takes from a package: the inventory and the
# PREMIS log are the origin node's (the receiving node keeps its own), the deposit record is written anew from the
# exported one, and a release is the receiving network's board's decision, never a package's.
EXPORT_ONLY = {"data/strongroom/inventory.json", "data/strongroom/premis.xml", EXPORT_RECORD}
NEVER_TAKEN = {"data/strongroom/release.json"}


def _is_export(root: Path) -> bool:
    try:
        info = (root / "bag-info.txt").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return (root / EXPORT_RECORD).is_file() and "Bag-Software-Agent: strongroom" in info


@register(
    PackageForm.STRONGROOM_EXPORT, _is_export, "a Strongroom export's deposit record", "a bag strongroom export wrote"
)
def _open_export(source: Path, root: Path, reporter: Reporter, spool: ArticleSpool, files: PackageSpool) -> Package:
    """An AU exported by ``strongroom export``: its files keep the logical paths they had, described by the exported
    deposit record (so an exported AU deposited again is the same AU)."""
    _info, findings = _checked_bag(source, root, reporter, files)
    try:
        record = DepositRecord.from_bytes((root / EXPORT_RECORD).read_bytes())
    except (OSError, RecordError) as exc:
        raise _reject([*findings, Finding("P053", EXPORT_RECORD, str(exc))], source) from None
    files.drop(EXPORT_ONLY | NEVER_TAKEN)
    logical = {f.relpath[len("data/") :] for f in files.files()}
    for path in sorted(set(record.files) - logical):
        findings.append(Finding("P053", path, "named in the exported deposit record but not in the bag"))
    del logical
    package = _finish(PackageForm.STRONGROOM_EXPORT, source, files, [], findings, spool, record.bag_info, "data/")
    package.record = record  # it, not the bag, says what each file is and which item it belongs to
    return package


def _checked_bag(
    source: Path, root: Path, reporter: Reporter, files: PackageSpool
) -> tuple[dict[str, list[str]], list[Finding]]:
    """A bag's bag-info and every problem found, its payload files' paths put in ``files`` (``files.paths()``) and
    their records too, each verified against the bag's manifests.

    bagit reads bagit.txt and bag-info; the manifests' lines go to the package spool a line at a time, read as bagit
    reads them (:mod:`strongroom.ingest.bag`), and completeness is worked out there in SQL: no set or dict of every
    path is held (bagit's ``Bag`` holds every manifest line, and its ``validate(completeness_only=True)`` builds
    several sets of every path)."""
    findings: list[Finding] = []
    try:
        bag = ListedBag(str(root))
        # The manifests' digests go to the package spool, looked up there as each file is hashed.
        expect_manifests(bag, files)
    except bagit.BagError as exc:
        raise _reject([Finding("P023", "bagit.txt", str(exc))], source) from None
    unknown = sorted(set(bag.algorithms) - set(BAG_ALGORITHMS))
    if unknown:
        findings.append(Finding("P024", "", f"manifest algorithm(s) {', '.join(unknown)} not accepted"))
    if next(bag.manifest_files(), None) is None:  # bag.algorithms counts tag manifests too
        findings.append(Finding("P023", "", "the bag has no payload manifest"))
    findings.extend(bag_structure(bag, root))
    info = {k: (v if isinstance(v, list) else [v]) for k, v in bag.info.items()}
    del bag
    payload = Payload()
    files.add_paths(payload.files(root))
    complete = len(findings)
    for rel in files.missing_paths("data/"):
        findings.append(Finding("P021", rel, "listed in the manifest but not in the bag"))
    for rel in files.unlisted_paths("data/"):
        findings.append(Finding("P022", rel, "in the payload but not in any manifest"))
    # Tag files a tag manifest lists must be there too (bagit's completeness pass checked it, from BagIt 0.97); those
    # that are there are verified too, though only their contents are kept (bag_info).
    tags: list[str] = []
    for rel in files.listed_outside("data/"):
        if os.path.isfile(os.path.join(root, rel)):
            tags.append(rel)
        else:
            findings.append(Finding("P021", rel, "listed in a tag manifest but not in the bag"))
    files.drop_paths(payload.not_files)  # named by the payload listing, but nothing to hash
    if len(findings) == complete:  # a file missing or added makes the Payload-Oxum wrong too: one finding is enough
        findings.extend(oxum_findings(info, payload))
    info.pop("Bagging-Date", None)  # a re-bagging of identical content is not a new deposit

    def expected(rel: str) -> dict[str, str]:
        return files.expected(rel, BAG_ALGORITHMS)

    _hash_and_check(root, tags, findings, reporter, None, expected)
    _hash_and_check(root, files.paths(), findings, reporter, files, expected)
    return info, findings


# ---- the OJS PKP Preservation Network plugin's package ------------------------------------------------------

OJS_XML = re.compile(r"^data/(Issue|Submission|PublishedArticle)[^/]*\.xml$")
OJS_SCHEMAS = ("data/native.xsd", "data/pkp-native.xsd", "data/importexport.xsd")
OJS_TERMS = re.compile(r"^data/terms[^/]*\.xml$")


def _is_ojs_bag(root: Path) -> bool:
    if not (root / "bagit.txt").is_file():
        return False
    try:
        info = (root / "bag-info.txt").read_text(encoding="utf-8", errors="replace")
    except OSError:
        info = ""
    if re.search(r"^PKP-PLN-OJS-Version\s*:", info, re.MULTILINE | re.IGNORECASE):
        return True
    data = root / "data"
    for path in _ojs_exports(data):
        with path.open("rb") as fh:
            head = fh.read(4096)
        if PKP_NS.encode() in head or b"-//PKP//" in head:
            return True
    return False


def _ojs_exports(data: Path) -> list[Path]:
    """The files directly in ``data`` named as OJS names a Native XML export, in name order. The folder is read as
    it goes and only those few names are kept: ``Path.glob`` lists a whole folder first, and a bag of 200,000
    article folders side by side under ``data/`` made that list (a ``DirEntry`` a name) a deposit's peak memory."""
    try:
        listing = os.scandir(data)
    except OSError:  # no payload folder (or not one): bag_structure reports it
        return []
    with listing:
        names = [entry.name for entry in listing if OJS_XML.match(f"data/{entry.name}")]
    return [path for path in (data / name for name in sorted(names)) if path.is_file()]


def _first(info: dict[str, list[str]], key: str) -> str | None:
    for k, values in info.items():
        if k.lower() == key.lower() and values:
            return values[0].strip() or None
    return None


@register(
    PackageForm.OJS_NATIVE,
    _is_ojs_bag,
    "PKP-PLN-OJS-Version in bag-info.txt",
    "an OJS PKP Preservation Network package",
)
def _open_ojs_bag(source: Path, root: Path, reporter: Reporter, spool: ArticleSpool, files: PackageSpool) -> Package:
    """The bag the OJS "PKP Preservation Network" plugin builds: verified as a bag, its Native XML checked against
    the schemas bundled beside it (OJS 3), its articles catalogued with the galley files the XML references."""
    info, findings = _checked_bag(source, root, reporter, files)
    xmls = [rel for rel in files.paths() if OJS_XML.match(rel)]
    if not xmls:
        findings.append(
            Finding("P062", "data/", "no OJS Native XML export (Issue….xml or Submission….xml) in the bag's data/")
        )
    # What the staging server adds when it re-bags (PKP-PLN-Journal-*) names the journal; the plugin's own package
    # does not, and the deposit's options (from the SWORD deposit) supply it.
    journal = JournalMeta(
        title=_first(info, "PKP-PLN-Journal-Title"),
        issn_online=_first(info, "PKP-PLN-Journal-ISSN"),
        publisher_name=_first(info, "PKP-PLN-Publisher-Name"),
    )
    version = _first(info, "PKP-PLN-OJS-Version") or ""
    items: list[ParsedItem] = []
    for rel in xmls:
        try:
            issue = read_native(root / rel, journal, name=rel)
        except PackageRejected as exc:
            findings.extend(exc.findings)
            continue
        findings.extend(issue.findings)
        if issue.ojs_major >= 3 and not version.startswith("2."):
            for line in validate_native(root / rel, root / "data"):
                findings.append(Finding("P060", rel, line))
        for n, article in enumerate(issue.articles, start=1):
            galleys = []
            for ref in article.files:
                target = f"data/{ref}"
                if not files.has(target):
                    findings.append(Finding("P061", target, f"referenced by article {n} of {rel} but not in the bag"))
                    continue
                galleys.append(target)
            key = article.meta.doi or f"{PurePosixPath(rel).stem}#{article.internal_id or n}"
            items.append(ParsedItem(key=key, doi=article.meta.doi, meta=article.meta, metadata_file=rel, files=galleys))
    support = frozenset(OJS_SCHEMAS) | {rel for rel in files.paths() if OJS_TERMS.match(rel)}  # of role other
    return _finish(PackageForm.OJS_NATIVE, source, files, items, findings, spool, info, "data/", support)


@register(PackageForm.BAGIT, lambda root: (root / "bagit.txt").exists(), "bagit.txt", "a BagIt bag")
def _open_bag(source: Path, root: Path, reporter: Reporter, spool: ArticleSpool, files: PackageSpool) -> Package:
    info, findings = _checked_bag(source, root, reporter, files)
    _read_jats(root, files.paths(), findings, spool, files)
    return _finish_by_jats(PackageForm.BAGIT, source, files, findings, spool, info, payload_prefix="data/")


def _jasper_folder(row: JasperRow, is_folder: Callable[[str], bool]) -> str | None:
    if row.folder:
        folder = row.folder.strip("/")
        return folder if is_folder(folder) else None
    if row.doi:
        for candidate in (row.doi.replace("/", "_"), row.doi.split("/", 1)[1], slug(row.doi)):
            if is_folder(candidate):
                return candidate
    return None


@register(
    PackageForm.JASPER,
    lambda root: (root / "identifiers.csv").exists(),
    "identifiers.csv",
    "a JASPER ZIP (with identifiers.csv)",
)
def _open_jasper(source: Path, root: Path, reporter: Reporter, spool: ArticleSpool, files: PackageSpool) -> Package:
    findings: list[Finding] = []
    try:
        rows = read_identifiers(root / "identifiers.csv")
    except PackageRejected as exc:
        raise _reject(list(exc.findings), source) from None
    # The package's paths go to the package spool and each row's folder is looked up there: no list of every path,
    # nor a table of every folder's files, is held (the rows and their items are, bounded by identifiers.csv's size).
    files.add_paths(_files_under(root))
    _hash_and_check(root, files.paths(), findings, reporter, files)
    _read_jats(root, files.paths(), findings, spool, files)
    items: list[ParsedItem] = []
    used: set[str] = set()
    for row in rows:
        folder = _jasper_folder(row, files.has_folder)
        if folder is None:
            findings.append(
                Finding(
                    "P050",
                    f"identifiers.csv:{row.line}",
                    f"no folder for {row.doi or row.url}; add a 'folder' column or name the folder after the DOI",
                )
            )
            continue
        used.add(folder)
        in_folder = files.folder_paths(folder)
        jats = [r for r in in_folder if files.is_article(r)]
        article = files.article(jats[0]) if len(jats) == 1 else None
        jats_doi = article[0] if article else None
        doi = row.doi or jats_doi
        if article and row.doi and jats_doi and jats_doi != row.doi:
            findings.append(Finding("P052", jats[0], f"DOI {jats_doi} differs from identifiers.csv ({row.doi})"))
        items.append(
            ParsedItem(
                key=doi or folder,
                doi=doi,
                meta=None,
                metadata_file=jats[0] if article else None,
                files=in_folder,
                url=row.url,
                meta_at=article[1] if article else None,
            )
        )
    for folder in files.top_folders():
        if folder not in used:
            findings.append(Finding("P050", folder, "folder not listed in identifiers.csv"))
    return _finish(PackageForm.JASPER, source, files, items, findings, spool)


@register(
    PackageForm.JATS_DIRECTORY,
    lambda root: any(name.lower().endswith(".xml") for name in _files_under(root)),
    "JATS XML",
    "a directory of JATS XML and PDFs",
)
def _open_jats_dir(source: Path, root: Path, reporter: Reporter, spool: ArticleSpool, files: PackageSpool) -> Package:
    findings: list[Finding] = []
    files.add_paths(_files_under(root))  # gone through in order from the spool, never listed whole in memory
    _hash_and_check(root, files.paths(), findings, reporter, files)
    _read_jats(root, files.paths(), findings, spool, files)
    if not files.article_count() and not findings:
        findings.append(Finding("P033", "", "no XML file in the directory is a JATS <article>"))
    return _finish_by_jats(PackageForm.JATS_DIRECTORY, source, files, findings, spool)
