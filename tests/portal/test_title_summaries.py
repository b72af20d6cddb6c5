"""Each title's summary (revision 0018) is kept with its AUs, so the sitemap index, its parts and KBART read one row
per title and say byte for byte what a computation from the AUs says: checked after every step of a catalog built
through the real services (deposits, releases by trigger, a new version that changes an AU's volumes, a fixity
audit that finds damage, an AU forgotten, a catalog rebuild), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from portal_fixtures import MEMBERS, _vote
from sqlalchemy import select

from strongroom.catalog.models import ArchivalUnit, Publisher, Title, TitleSummary
from strongroom.clock import FixedClock
from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.ingest.deposit import DepositOptions
from strongroom.keys import public_key_text
from strongroom.node import Node
from strongroom.portal.feeds import SitemapPlan, sitemap, sitemap_part, sitemap_part_numbers
from strongroom.samples.damage import flip_one_bit
from strongroom.services import title_summaries
from strongroom.services.holdings import Scope
from strongroom.services.released import Released
from tests_support import statements

BASE = "http://archive.example"
JATS = "east-african-journal-of-public-health-2024-jats"


def _scratch_title_volumes(node: Node) -> list[tuple[str, dt.datetime, tuple[str, ...]]]:
    """What the sitemap lists of titles and volumes, from every released AU holding items (no summary read)."""
    last: dict[str, dt.datetime] = {}
    volumes: dict[str, set[str]] = {}
    with node.catalog.session() as s:
        rows = s.execute(
            select(Title.key, ArchivalUnit.released_at, ArchivalUnit.volumes)
            .join(ArchivalUnit, ArchivalUnit.title_id == Title.id)
            .where(ArchivalUnit.released_at.is_not(None), ArchivalUnit.item_count > 0)
        ).all()
    for key, at, kept in rows:
        last[key] = max(last.get(key, at), at)
        volumes.setdefault(key, set()).update(str(v[0]) for v in kept)
    return [(key, last[key], tuple(sorted(volumes[key]))) for key in sorted(last)]


def _from_aus(node: Node) -> Released:
    """A read model whose sitemap pages are computed from the AUs, as before the summaries."""
    released = node.released()
    volumes = _scratch_title_volumes(node)
    released.title_volumes = lambda: volumes  # type: ignore[method-assign]
    counts = (len(released.countries()), len(released.publishers()), len(volumes), sum(len(v) for *_, v in volumes))
    released.page_counts = lambda: counts  # type: ignore[method-assign]
    publishers = [(p.key, p.name, p.country) for p in released.publishers()]
    released.publisher_pages = lambda: publishers  # type: ignore[method-assign]
    return released


def _sitemap_files(released: Released, limit: int) -> dict[str, bytes]:
    files = {"index": b"".join(sitemap(released, BASE, limit))}
    for n in [*sitemap_part_numbers(released, limit), 10_000]:
        part = sitemap_part(released, BASE, n, limit)
        files[str(n)] = b"".join(part) if part is not None else b"none"
    return files


def _summaries(node: Node) -> dict[int, tuple[object, ...]]:
    with node.catalog.session() as s:
        return {
            r.title_id: (r.last_released, r.volumes, r.volume_count, r.released, r.coverage, r.runs)
            for r in s.scalars(select(TitleSummary))
        }


def _check(node: Node) -> tuple[str, dict[str, bytes]]:
    """The summaries as kept equal a rebuild from the AUs, and the sitemap and KBART read from them equal what the
    AUs say; returns the KBART file and the sitemap's files (so a step can show that they changed)."""
    kept = _summaries(node)
    with node.catalog.engine.begin() as conn:
        title_summaries.rebuild(conn)
    assert _summaries(node) == kept  # what each step kept is what a rebuild from the AUs writes
    for limit in (4, 50_000):  # an index of parts, and one file
        assert _sitemap_files(node.released(), limit) == _sitemap_files(_from_aus(node), limit)
    holdings = node.holdings
    holdings.max_age = 0  # no reuse: each report is read again
    with node.catalog.session() as s:
        publishers = list(s.scalars(select(Publisher.key)))
    for scope in [Scope(), Scope(programme=True)] + [Scope(publisher=p) for p in publishers]:
        summarised, walked = holdings.kbart_lines(scope), holdings.kbart_lines(scope, from_aus=True)
        assert summarised[0] == walked[0] and "".join(summarised[1]) == "".join(walked[1]), scope
    # neither reads AUs, only titles' rows (the index's jump from one id range holding a released item to the next
    # probes items and their AU, a probe per range it lists)
    with statements(node.catalog.engine) as read:
        text = holdings.kbart()[1]
        files = {"index": b"".join(sitemap(node.released(), BASE, 4))}
        numbers = sitemap_part_numbers(node.released(), 4)
    assert read and not [q for q in read if "archival_units" in q and not q.startswith("WITH RECURSIVE")]
    articles = SitemapPlan(node.released(), 4).article_parts
    for n in numbers:
        with statements(node.catalog.engine) as read:
            files[str(n)] = b"".join(sitemap_part(node.released(), BASE, n, 4) or [b"none"])
        if n > articles:  # the other pages' parts (titles, volumes, publishers, countries): no AU is read either
            assert read and not [q for q in read if "archival_units" in q], n
    assert max(numbers, default=0) > articles  # the check above ran
    return text, files


def _release(node: Node, kind: ScopeKind, refs: list[str]) -> None:
    board = dict(list(MEMBERS.items())[:3])
    t = node.triggers.propose(kind, refs, TriggerReason.PUBLISHER_CEASED, ["a notice"], "op")
    _vote(node.triggers, t.key, dict.fromkeys(board, VoteChoice.FOR))
    node.triggers.release(t.key, "op")


def test_summaries_follow_every_change_and_feeds_say_what_the_aus_say(
    tmp_path: Path, db_url: str, sample_dir: Path
) -> None:
    clock = FixedClock(dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC))
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    work = tmp_path / JATS
    shutil.copytree(sample_dir / JATS, work)
    for pkg in sorted(sample_dir.iterdir()):
        if pkg.name != "tmp":
            node.ingest.deposit(work if pkg.name == JATS else pkg, DepositOptions(platform="ojs"))
    for name, key in list(MEMBERS.items())[:3]:
        node.triggers.add_member(name, public_key_text(key.public_key()))
    titles = {t.name: t.key for t, *_ in node.catalog.titles()}
    east, ghana = titles["East African Journal of Public Health"], titles["Ghana Journal of Agricultural Science"]
    aus = {au.key: au.object_id for au, *_ in node.catalog.aus()}
    kbart_dark, sitemap_dark = _check(node)
    assert len(_summaries(node)) == len(titles)

    _release(node, ScopeKind.TITLE, [east])  # a release: its AUs get a new version (the record) and a release time
    kbart_one, sitemap_one = _check(node)
    assert kbart_one != kbart_dark and sitemap_one != sitemap_dark
    ghana_2023 = min(k for k in aus if k.startswith(ghana))
    _release(node, ScopeKind.AUS, [ghana_2023])  # one AU of a title: the title is released in part
    _, sitemap_two = _check(node)
    assert sitemap_two != sitemap_one

    for xml in sorted(work.glob("*.xml"))[:1]:  # a new version moving an article to another volume
        text = xml.read_text(encoding="utf-8")
        assert "<volume>" in text
        start = text.index("<volume>") + len("<volume>")
        xml.write_text(text[:start] + "77" + text[text.index("</volume>", start) :], encoding="utf-8")
    assert node.ingest.deposit(work, DepositOptions(platform="ojs")).version >= 2
    kbart_three, sitemap_three = _check(node)
    east_id = next(t for t, *_ in node.catalog.titles() if t.key == east).id
    assert "77" in _summaries(node)[east_id][1]  # its volumes (released) now include the new one
    assert sitemap_three != sitemap_two

    jarida = min(k for k in aus if k.startswith(titles["Jarida la Sayansi ya Kilimo"]))
    with statements(node.catalog.engine, ()) as routine:  # found as intact as before: its title's row stays as it is
        assert node.audits.audit([jarida]).intact
    assert routine and not [q for q in routine if "title_summaries" in q]
    flip_one_bit(node.store, aus[jarida])  # damage found by the audit: no longer preserved on this node
    with statements(node.catalog.engine, ()) as damaged:
        assert not node.audits.audit([jarida]).intact
    assert [q for q in damaged if q.lstrip().upper().startswith("INSERT") and "title_summaries" in q]
    kbart_four, _ = _check(node)
    assert kbart_four != kbart_three

    node.indexer.forget(aus[ghana_2023])  # an AU taken out of the catalog: the title has nothing released left
    _, sitemap_five = _check(node)
    ghana_id = next(t for t, *_ in node.catalog.titles() if t.key == ghana).id
    assert _summaries(node)[ghana_id][0] is None and sitemap_five != sitemap_three

    with node.catalog.engine.begin() as conn:  # a summary lost: the catalog rebuild writes them all again
        conn.execute(TitleSummary.__table__.delete().where(TitleSummary.title_id == east_id))
    node.indexer.reindex(search=False)
    _check(node)
    assert _summaries(node)[ghana_id][0] is not None  # its AU catalogued again from storage, with its release
    node.close()
