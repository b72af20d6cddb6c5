"""Two transactions changing AUs of one title at once (two workers cataloguing two years of a journal) take turns
over the title's summary on PostgreSQL: the second sees the first's change and rewrites the row the first wrote,
where it used to read the AUs without it and then fail on the first's new row (a primary-key violation)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from strongroom.catalog.models import ArchivalUnit, TitleSummary
from strongroom.node import Node
from strongroom.services import title_summaries


def _row(node: Node, title_id: int) -> tuple[object, ...]:
    with node.catalog.engine.connect() as conn:
        r = conn.execute(select(TitleSummary).where(TitleSummary.title_id == title_id)).one()
    return tuple(r)


@pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)
def test_two_transactions_on_one_titles_aus_take_turns_and_the_summary_has_both(
    tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    node = Node.create(tmp_path / "home", database_url=db_factory())
    try:
        bags = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))
        slugs = {p.name.rsplit("-", 2)[0] for p in bags}
        for package in sorted(sample_dir.iterdir()):
            if package.name.rsplit("-", 2)[0] in slugs:
                node.ingest.deposit(package)
        with node.catalog.engine.connect() as conn:
            aus = conn.execute(
                select(ArchivalUnit.id, ArchivalUnit.title_id).where(ArchivalUnit.item_count > 0).order_by("id")
            ).all()
        by_title: dict[int, list[int]] = {}
        for au_id, title_id in aus:
            by_title.setdefault(title_id, []).append(au_id)
        title_id, (first, second, *_) = next((t, ids) for t, ids in by_title.items() if len(ids) >= 2)
        assert _row(node, title_id)[1] is None  # nothing released yet

        def release(session: Session, au_id: int, when: dt.datetime) -> None:
            session.execute(update(ArchivalUnit).where(ArchivalUnit.id == au_id).values(released_at=when))
            title_summaries.refresh(session, [title_id])

        early = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        late = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
        failed: list[BaseException] = []
        with node.catalog.engine.connect() as one, node.catalog.engine.connect() as two:
            s1, s2 = Session(bind=one), Session(bind=two)
            release(s1, first, late)  # the first holds its title's summary until it commits

            def other() -> None:
                try:
                    release(s2, second, early)
                    s2.commit()
                except BaseException as exc:  # reported to the test below
                    failed.append(exc)
                    s2.rollback()

            thread = threading.Thread(target=other)
            thread.start()
            time.sleep(0.5)  # let the second reach the title (it waits there; if it has not yet, it only comes later)
            s1.commit()
            thread.join(30)
        assert not thread.is_alive() and failed == []
        kept = _row(node, title_id)
        assert kept[1] == late  # both releases seen: the latest of the two
        with node.catalog.engine.begin() as conn:
            title_summaries.rebuild(conn)
        assert _row(node, title_id) == kept  # what a rebuild from the AUs gives
    finally:
        node.close()
