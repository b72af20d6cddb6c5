"""The guided tour behind ``strongroom demo``: a node is created, sample publishers' packages are deposited,
the archive is audited, one stored file is damaged on purpose, and the audit catches it.

The steps report through a callback, so the CLI prints them and tests read them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from strongroom.errors import ConfigError
from strongroom.node import Node
from strongroom.samples import generate_corpus, write_bag, write_jasper_zip, write_jats_dir, zip_dir
from strongroom.samples.damage import flip_one_bit
from strongroom.services.deposit import DepositOptions

MARKER = ".strongroom-demo"


@dataclass
class DemoSummary:
    home: Path
    deposits: list[tuple[str, str, int, int]] = field(default_factory=list)  # (package, AU, items, files)
    unchanged_redeposit: bool = False
    first_audit_intact: bool = False
    damaged_file: str = ""
    damaged_au: str = ""
    second_audit_intact: bool = True
    second_audit_codes: list[str] = field(default_factory=list)
    export_dir: Path | None = None
    released_title: str = ""
    released_items: int = 0
    trigger: str = ""
    portal_pages: int = 0


def prepare_home(home: Path) -> None:
    """Start from a clean demo home; never delete a directory that a demo did not make."""
    if home.exists():
        if (home / MARKER).exists():
            shutil.rmtree(home)
        elif any(home.iterdir()):
            raise ConfigError(f"{home} exists and is not a demo home", hint="pass an empty or new --home")


def write_packages(dest: Path, seed: int = 1) -> list[Path]:
    """Sample packages in every accepted form: bag directories, a zipped bag, a JASPER ZIP, a JATS folder."""
    corpus = generate_corpus(seed)
    dest.mkdir(parents=True, exist_ok=True)
    packages: list[Path] = []
    groups = corpus.groups()
    for n, (title, year, articles) in enumerate(groups):
        name = f"{title.slug}-{year}"
        match n % 4:
            case 0:
                packages.append(write_bag(dest / f"{name}-bag", articles, title))
            case 1:
                bag = write_bag(dest / "tmp" / f"{name}-bag", articles, title)
                packages.append(zip_dir(bag, dest / f"{name}-bag.zip"))
            case 2:
                packages.append(write_jasper_zip(dest / f"{name}-jasper.zip", articles, title))
            case _:
                packages.append(write_jats_dir(dest / f"{name}-jats", articles, title))
    shutil.rmtree(dest / "tmp", ignore_errors=True)
    return packages


def run_demo(home: Path, say: Callable[[str], None]) -> DemoSummary:
    prepare_home(home)
    node = Node.create(home, name="Strongroom demo node")
    (home / MARKER).write_text("made by strongroom demo; safe to delete\n", encoding="utf-8")
    summary = DemoSummary(home)
    try:
        say(f"1. Created a node at {home}: settings, a SQLite catalog, an OCFL 1.1 storage root and a key pair.")
        packages = write_packages(home / "sample-packages")
        say(f"2. Generated {len(packages)} sample packages from publishers in Ghana, Kenya, Senegal and beyond.")
        for pkg in packages:
            result = node.ingest.deposit(pkg, _options_for(pkg))
            summary.deposits.append((pkg.name, result.au_key, result.items, result.files))
            say(
                f"   deposited {pkg.name}: {result.items} articles, {result.files} files -> AU {result.au_key} "
                f"v{result.version}"
            )
        again = node.ingest.deposit(packages[0], _options_for(packages[0]))
        summary.unchanged_redeposit = again.unchanged
        say(
            f"3. Deposited {packages[0].name} a second time: "
            + ("nothing changed, nothing was written." if again.unchanged else "a new version was made.")
        )
        report = node.audits.audit()
        summary.first_audit_intact = report.intact
        say(
            f"4. Audited the archive: {report.files} files re-read and checked against their sha512 and sha256 "
            f"digests: " + ("all intact." if report.intact else "PROBLEMS FOUND.")
        )
        au_key, path = _damage_one_file(node)
        summary.damaged_au, summary.damaged_file = au_key, path
        say(f"5. Damaged one stored file on purpose (flipped one bit of {path} in AU {au_key}).")
        report = node.audits.audit([au_key])
        summary.second_audit_intact = report.intact
        summary.second_audit_codes = sorted({f.code for a in report.aus for f in a.findings})
        say(
            "6. Audited again: "
            + (
                "the damage went unnoticed (this is a bug)."
                if report.intact
                else f"the audit caught it ({', '.join(summary.second_audit_codes)}: damaged file {path})."
            )
        )
        other = next(au for au in node.browse.aus() if au.key != au_key)
        export = node.exports.export(other.key, home / "export")
        summary.export_dir = export.dest
        say(f"7. Exported AU {other.key} as a BagIt bag at {export.dest} (check it with: bagit.py --validate).")
        _release_one_title(node, summary, say)
    finally:
        node.close()
    return summary


def _release_one_title(node: Node, summary: DemoSummary, say: Callable[[str], None]) -> None:
    """A board of three, each with their own key, votes to release one title; the portal then serves it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
    from strongroom.inprocess import TestClient
    from strongroom.keys import public_key_text
    from strongroom.portal.app import create_portal
    from strongroom.services.triggers import now_text, sign_ballot

    workflow = node.triggers
    members = {name: Ed25519PrivateKey.generate() for name in ("Ama", "Bakari", "Chiara")}
    for name, key in members.items():
        workflow.add_member(name, public_key_text(key.public_key()))
    title = next(t for t in node.browse.titles() if t.name.startswith("Ghana"))
    trigger = workflow.propose(
        ScopeKind.TITLE,
        [title.key],
        TriggerReason.PUBLISHER_CEASED,
        ["demo: the publisher's site has answered 503 since 2026-01-05"],
        "demo operator",
    )
    for name, key in members.items():
        signed_at = now_text(node.clock.now())
        workflow.vote(
            trigger.key, name, VoteChoice.FOR, signed_at, sign_ballot(key, trigger.key, name, VoteChoice.FOR, signed_at)
        )
    decided = workflow.show(trigger.key)
    released = workflow.release(trigger.key, "demo operator")
    summary.trigger, summary.released_title = released.key, title.name
    summary.released_items = node.released().count()
    say(
        f"8. The board (3 members, each ballot signed with their own key) voted on {trigger.key} to release "
        f"{title.name} (publisher ceased): {decided.decision}. Released under CC BY 4.0."
    )
    with TestClient(create_portal(node)) as portal:
        pages = [portal.get(p) for p in ("/", "/titles/", f"/titles/{title.key}/", "/oai?verb=Identify")]
        summary.portal_pages = sum(r.status_code == 200 for r in pages)
    say(
        f"9. Its {summary.released_items} articles are open on the portal, everything else stays dark. "
        f"See it with: strongroom portal serve --home {node.settings.home}  (then http://127.0.0.1:8080/)"
    )


def _options_for(pkg: Path) -> DepositOptions:
    # JASPER packages carry only DOIs: the operator names the journal, as they would on the command line.
    return DepositOptions(platform="ojs")


def _damage_one_file(node: Node) -> tuple[str, str]:
    au = node.browse.aus()[0]
    return au.key, flip_one_bit(node.store, au.object_id)
