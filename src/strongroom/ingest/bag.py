"""A BagIt bag's own checks, made over the package spool so that nothing holds a record of every file: its
manifests read a line at a time as bagit reads them (bagit's ``Bag`` keeps every line), its structure as bagit's
``validate`` checks it, its payload listed and its Payload-Oxum compared. :func:`strongroom.ingest.package._checked_bag`
puts them together with the hashing of every file."""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bagit

from strongroom.errors import Finding
from strongroom.formats.archives import names_under
from strongroom.ingest.filespool import PackageSpool


class ListedBag(bagit.Bag):  # type: ignore[misc]
    """bagit's reading of a bag (bagit.txt, bag-info, its manifests' algorithms) without its record of every
    manifest line in memory (``entries``, about 600 bytes a file): :func:`expect_manifests` reads the lines."""

    def _load_manifests(self) -> None:
        self.entries: dict[str, dict[str, str]] = {}  # (none kept)
        for name in self.manifests():
            alg = manifest_algorithm(name)
            if alg not in self.algorithms:
                self.algorithms.append(alg)

    def manifests(self) -> list[str]:
        """The manifests bagit verifies: the payload manifests, and the tag manifests from BagIt 0.97."""
        names = list(self.manifest_files())
        if self.version_info >= (0, 97):
            names += list(self.tagmanifest_files())
        return names


def manifest_algorithm(name: str) -> str:
    base = os.path.basename(name)
    return base.replace("tagmanifest-" if "tagmanifest-" in base else "manifest-", "").replace(".txt", "")


def expect_manifests(bag: ListedBag, files: PackageSpool) -> None:
    """Every line of the bag's manifests into the package spool, a line at a time, read exactly as bagit's
    ``Bag`` reads them (its file opener, its path decoding, its safety check; a line that is not "digest path" is
    passed over, as bagit passes it). bagit.BagError for a path outside the bag, or one a manifest lists twice
    (with another digest; or with the same one from BagIt 1.0), as bagit raises it."""
    for name in bag.manifests():
        alg = manifest_algorithm(name)
        with bagit.open_text_file(name, "r", encoding=bag.encoding) as manifest:
            if manifest.encoding.startswith("UTF") and manifest.read(1) != bagit.UNICODE_BYTE_ORDER_MARK:
                manifest.seek(0)  # (a byte-order mark is passed over)
            for line in manifest:
                entry = line.strip().split(None, 1)
                if len(entry) != 2 or entry[0].startswith("#"):
                    continue
                digest = entry[0]
                path = bagit._decode_filename(os.path.normpath(entry[1].lstrip("*")))  # bagit's own decoding
                if bag._path_is_dangerous(path):  # and safety check
                    raise bagit.BagError(f'Path "{path}" in manifest "{os.path.basename(name)}" is unsafe')
                before = files.expect(path.replace("\\", "/"), alg, digest)
                if before is not None and (before != digest or bag.version_info >= (1,)):
                    how = "the same value" if before == digest else "conflicting values"
                    raise bagit.BagError(f"{alg} manifest lists {path} multiple times with {how}")
    files.expected_all()


def bag_structure(bag: bagit.Bag, root: Path) -> list[Finding]:
    """What bagit's ``validate`` checked of the bag's structure besides its manifests: the payload directory, the
    declaration's lack of a byte-order mark, and fetch.txt's URLs."""
    findings: list[Finding] = []
    if not os.path.isdir(os.path.join(root, "data")):
        findings.append(
            Finding("P023", "data/", "the bag has no payload directory data/; re-create the bag with a BagIt tool")
        )
    with open(os.path.join(root, "bagit.txt"), "rb") as fh:
        if fh.read(3) == codecs.BOM_UTF8:
            findings.append(Finding("P023", "bagit.txt", "bagit.txt must not begin with a byte-order mark"))
    try:
        bag.validate_fetch()  # reads fetch.txt (if any) a line at a time
    except (bagit.BagError, ValueError) as exc:  # ValueError: a line that is not "URL LENGTH FILENAME"
        findings.append(Finding("P023", "fetch.txt", str(exc) or "a line is not URL, length and file name"))
    return findings


@dataclass
class Payload:
    """The files under a bag's ``data/``, listed as bagit lists them (every name ``os.walk`` gives, whatever the
    kind of file: bagit's ``payload_files`` keeps a table of every name, this does not), counted and their bytes
    added up for the Payload-Oxum as they go by; ``not_files`` are those that are not regular files (none, where
    ``check_tree`` or extraction has refused links and special files)."""

    count: int = 0
    total_bytes: int = 0
    not_files: list[str] = field(default_factory=list)

    def files(self, root: Path) -> Iterator[str]:
        for rel, full in names_under(root, "data"):
            self.count += 1
            if os.path.isfile(full):
                self.total_bytes += os.path.getsize(full)
            else:
                self.not_files.append(rel)
            yield rel


def oxum_findings(info: dict[str, list[str]], payload: Payload) -> list[Finding]:
    """The Payload-Oxum of bag-info (the first, if several), "OCTETS.COUNT", checked against the payload."""
    values = info.get("Payload-Oxum")
    if not values:
        return []
    oxum = values[0].strip()
    octets, _dot, count = oxum.partition(".")
    if not (octets.isascii() and octets.isdigit() and count.isascii() and count.isdigit()):
        return [
            Finding(
                "P023",
                "bag-info.txt",
                f"Payload-Oxum {oxum!r} is not OCTETS.COUNT; re-make the bag's bag-info.txt with a BagIt tool",
            )
        ]
    if (int(octets), int(count)) == (payload.total_bytes, payload.count):
        return []
    return [
        Finding(
            "P023",
            "bag-info.txt",
            f"Payload-Oxum says {int(count)} files and {int(octets)} bytes, but the payload holds {payload.count}"
            f" files and {payload.total_bytes} bytes: transfer the bag again if files were lost or cut short, else"
            " re-make the bag's bag-info.txt (e.g. bagit.Bag(path).save(manifests=True), or bagit.py anew)",
        )
    ]
