"""The access programme's listings walked by key, on both catalogs: institutions (all, or in one state), the
validated institutions still without an account, range changes waiting for confirmation, and publishers' staff
sign-ins. Walking every page yields every row once, in the listing's order (equal names ordered by id), nothing
is cut off (the staff list was once capped at 500 without a word), a cursor no page gave is a usage error, and
``strongroom institutions`` pages the same way, with its cursor in ``--json``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from strongroom.catalog.models import Account, Institution, Publisher, RangeRequest
from strongroom.domain.access import InstitutionStatus
from strongroom.errors import ExitCode
from strongroom.node import Node
from strongroom.services import keyset
from tests_support import cli, walk_pages

NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
# Names in one case, so that the expected order is the same under any collation; equal ones are ordered by id.
NAMES = ["Makerere", "Legon", "Makerere", "Addis", "Legon", "Zomba", "Addis", "Bamako", "Cotonou", "Dakar", "Yaounde"]
STATES = [InstitutionStatus.PENDING, InstitutionStatus.VALIDATED, InstitutionStatus.REJECTED]


def _seed(node: Node, institutions: int = 23, staff: int = 9) -> None:
    """Institutions in every state (names repeat, so the id breaks ties), every other validated one with its
    institutional account (and one with only a named user, which does not count), and publishers' staff."""
    with node.catalog.session() as s:
        for n in range(institutions):
            inst = Institution(
                key=f"I-{n + 1:05d}",
                name=NAMES[n % len(NAMES)],
                type="university",
                country="GH",
                librarian={"name": f"Librarian {n}", "email": f"lib{n}@example.org"},
                status=str(STATES[n % len(STATES)]),
                registered_at=NOW,
            )
            s.add(inst)
            s.flush()
            if inst.status == InstitutionStatus.VALIDATED:  # a range change asked, waiting or (every third) refused
                s.add(
                    RangeRequest(
                        institution_id=inst.id,
                        added=[f"10.{n}.0.0/24"],
                        removed=[],
                        state="refused" if n % 3 == 1 and n % 9 == 1 else "pending",
                        requested_by="test",
                        requested_at=NOW,
                    )
                )
            if inst.status == InstitutionStatus.VALIDATED and n % 2:
                s.add(_account(f"inst-{n}", "institutional", institution_id=inst.id))
            elif inst.status == InstitutionStatus.VALIDATED and n % 5 == 0:
                s.add(_account(f"named-{n}", "named", institution_id=inst.id))
        publisher = Publisher(key="pub-1", name="Legon Press", country="GH", created_at=NOW)
        s.add(publisher)
        s.flush()
        for n in range(staff):
            s.add(_account(f"staff-{n}", "publisher", publisher_id=publisher.id))
        s.add(_account("olu-operator", "staff"))  # the archive's own staff are no publisher's


def _account(username: str, kind: str, **owner: int) -> Account:
    return Account(username=username, password_hash="x", kind=kind, created_at=NOW, **owner)


@pytest.mark.parametrize("size", [1, 4, 100])
def test_walking_every_page_yields_every_row_once_in_order(node: Node, size: int) -> None:
    _seed(node)
    institutions, accounts = node.institutions, node.accounts
    with node.catalog.session() as s:
        everyone = s.query(Institution.key, Institution.name, Institution.id, Institution.status).all()
        has_account = {i for (i,) in s.query(Account.institution_id).filter(Account.kind == "institutional")}
        staff = [u for (u,) in s.query(Account.username).filter(Account.publisher_id.is_not(None)).order_by(Account.id)]

    walked = list(walk_pages(lambda a: institutions.page(after=a, limit=size)))
    assert [i["key"] for i in walked] == sorted(k for k, *_ in everyone)
    assert institutions.page(limit=size).total == len(everyone) == 23
    assert [i["key"] for i in institutions.listing()] == [i["key"] for i in walked]
    pending = list(walk_pages(lambda a: institutions.page(status="pending", after=a, limit=size)))
    assert [i["key"] for i in pending] == sorted(k for k, _, _, st in everyone if st == "pending")
    assert institutions.page(status="pending", limit=size).total == len(pending) == 8

    waiting = sorted(
        ((name, i, key) for key, name, i, st in everyone if st == "validated" and i not in has_account),
    )
    assert waiting, "the seed has validated institutions without an account"
    walked_waiting = list(walk_pages(lambda a: accounts.without_account(after=a, limit=size)))
    assert [w["key"] for w in walked_waiting] == [key for *_, key in waiting]
    assert accounts.without_account(limit=size).total == len(waiting)
    assert walked_waiting[0]["librarian"].startswith("Librarian ") and "@" in walked_waiting[0]["email"]
    assert all(accounts.needs_account(key) for *_, key in waiting)
    waiting_keys = {key for *_, key in waiting}
    assert not any(accounts.needs_account(key) for key, *_ in everyone if key not in waiting_keys)

    requests = list(walk_pages(lambda a: institutions.waiting_requests(after=a, limit=size)))
    pending_requests = institutions.range_requests()  # the whole list, by time then number
    assert [r["id"] for r in requests] == [r["id"] for r in pending_requests] == sorted(r["id"] for r in requests)
    assert len(requests) == institutions.waiting_requests(limit=size).total > 0
    assert len(institutions.range_requests(state=None)) > len(requests)  # the refused ones are not waiting
    assert all(r["state"] == "pending" and r["added"] for r in requests)

    walked_staff = list(walk_pages(lambda a: node.publishers.staff_accounts(after=a, limit=size)))
    assert [a["username"] for a in walked_staff] == staff[::-1]  # newest first
    assert {a["publisher_key"] for a in walked_staff} == {"pub-1"}
    assert node.publishers.staff_accounts(limit=size).total == len(staff) == 9


def test_no_staff_account_is_left_off_past_the_five_hundredth(node: Node) -> None:
    """The console's list of publishers' sign-ins once stopped at 500 without saying so."""
    _seed(node, institutions=0, staff=503)
    walked = list(walk_pages(lambda a: node.publishers.staff_accounts(after=a, limit=100)))
    assert len(walked) == len({a["username"] for a in walked}) == 503
    assert len(node.publishers.staff_accounts(limit=None).rows) == 503


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        keyset.encode(7, "Legon"),  # the wrong kinds, and too many for two of them
        "WzEuNV0",  # [1.5]
        "W10",  # []
        "e30",  # {}
        "x" * (keyset.MAX_TOKEN + 1),
    ],
)
def test_a_cursor_no_page_gave_is_a_usage_error(node: Node, cursor: str) -> None:
    _seed(node, institutions=4, staff=2)
    for load in (
        lambda: node.institutions.page(after=cursor),
        lambda: node.institutions.page(status="pending", after=cursor),
        lambda: node.accounts.without_account(after=cursor),
        lambda: node.institutions.waiting_requests(after=cursor),
        lambda: node.publishers.staff_accounts(after=cursor),
    ):
        with pytest.raises(keyset.BadCursor) as refused:
            load()
        assert refused.value.exit_code == ExitCode.USAGE and refused.value.hint


def test_the_institutions_command_pages_by_key(tmp_path: Path, db_url: str) -> None:
    home = tmp_path / "home"
    with Node.create(home, database_url=db_url) as node:
        _seed(node, institutions=7, staff=0)
    sr = cli(home)
    first = json.loads(sr("institutions", "--limit", "3", "--json").stdout)
    assert first["total"] == 7 and first["limit"] == 3 and len(first["institutions"]) == 3 and first["after"]
    keys, after = [i["key"] for i in first["institutions"]], first["after"]
    while after:
        page = json.loads(sr("institutions", "--limit", "3", "--after", after, "--json").stdout)
        keys += [i["key"] for i in page["institutions"]]
        after = page["after"]
    assert keys == [f"I-{n:05d}" for n in range(1, 8)]
    whole = json.loads(sr("institutions", "--all", "--json").stdout)
    assert [i["key"] for i in whole["institutions"]] == keys and whole["after"] is None and whole["limit"] is None
    pending = json.loads(sr("institutions", "--status", "pending", "--json").stdout)
    assert [i["key"] for i in pending["institutions"]] == ["I-00001", "I-00004", "I-00007"]
    table = sr("institutions", "--status", "validated", "--limit", "1")
    assert table.returncode == 0 and "1 of 2 institutions" in table.stdout
    assert "more: strongroom institutions --status validated --after " in table.stdout
    bad = sr("institutions", "--after", "not-a-cursor")
    assert bad.returncode == ExitCode.USAGE and "is not one this listing gave" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_latest_range_requests_are_the_tail_of_the_whole_list(node: Node) -> None:
    """The console's institution page shows the last five range changes; they are read as the last five (newest
    first from the database, ties by number), never by reading every request the institution ever made."""
    _seed(node, institutions=1)
    [inst] = node.institutions.page(limit=None).rows
    with node.catalog.session() as s:
        inst_id = s.scalar(select(Institution.id).where(Institution.key == inst["key"]))
        for n in range(8):  # same time for some: the number breaks the tie
            s.add(
                RangeRequest(
                    institution_id=inst_id,
                    added=[f"10.9.{n}.0/24"],
                    removed=[],
                    state="pending",
                    requested_by="test",
                    requested_at=NOW + dt.timedelta(minutes=n // 2),
                )
            )
    whole = node.institutions.range_requests(state=None, institution=str(inst["key"]))
    assert len(whole) >= 8
    assert node.institutions.range_requests(state=None, institution=str(inst["key"]), latest=5) == whole[-5:]
    assert node.institutions.range_requests(state=None, institution=str(inst["key"]), latest=50) == whole
