"""The console's lists of institutions and of publishers' sign-ins, a page at a time over real HTTP: following the
next-page links shows every registration waiting for validation, every validated institution without an account,
every range change waiting for confirmation and every staff account once, in order; each list of the institutions
page keeps its own place while another is paged, and a form sent from a later page shows its refusal there, beside
the form; an address no page gave is a 400 page, never a 500."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from console_fixtures import PASSWORD, csrf_of

from strongroom.catalog.models import Account, Institution, Publisher, RangeRequest
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.portal.console import institution as institution_page
from strongroom.portal.console import publishers as publishers_page
from tests_support import serve_app

NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
PENDING, WAITING, REQUESTS, STAFF = 30, 55, 27, 105  # each more than one page of its list


@pytest.fixture
def served(tmp_path: Path, db_url: str) -> Iterator[tuple[Node, str]]:
    node = Node.create(tmp_path / "home", database_url=db_url)
    with node.catalog.session() as s:
        for n in range(PENDING + WAITING):
            s.add(
                Institution(
                    key=f"I-{n + 1:05d}",
                    name=f"University {n % 7}",  # equal names: the id orders them
                    type="university",
                    country="GH",
                    librarian={"name": "A Librarian", "email": f"lib{n}@example.org"},
                    status="pending" if n < PENDING else "validated",
                    registered_at=NOW,
                )
            )
        s.flush()
        validated = s.query(Institution.id).filter(Institution.status == "validated").order_by(Institution.id)
        for (institution_id,) in validated.limit(REQUESTS):
            s.add(
                RangeRequest(
                    institution_id=institution_id,
                    added=["10.1.0.0/24"],
                    removed=[],
                    state="pending",
                    requested_by="test",
                    requested_at=NOW,
                )
            )
        publisher = Publisher(key="pub-1", name="Legon Press", country="GH", created_at=NOW)
        s.add(publisher)
        s.flush()
        for n in range(STAFF):
            s.add(
                Account(
                    username=f"staff-{n:03d}",
                    password_hash="x",
                    kind="publisher",
                    publisher_id=publisher.id,
                    created_at=NOW,
                )
            )
    node.accounts.create_staff("olu-operator", PASSWORD, ["operator"], by="test")
    try:
        with serve_app(create_portal(node)) as url:
            yield node, url
    finally:
        node.close()


def _walk(c: httpx.Client, path: str, marker: str, rel_next: str) -> list[str]:
    """The ``marker`` attribute of every row of a list, following its next-page link (``rel_next``: a pattern of
    the link) from ``path``."""
    seen: list[str] = []
    while True:
        page = c.get(path)
        assert page.status_code == 200, path
        seen += re.findall(rf'{marker}="([^"]+)"', page.text)
        found = re.search(rf'<a rel="next" href="({rel_next})"', page.text)
        if found is None:
            return seen
        path = urljoin(path, found.group(1).replace("&amp;", "&"))  # the public lists' links are relative


def test_every_row_of_every_list_is_one_link_away(served: tuple[Node, str]) -> None:
    node, url = served
    with httpx.Client(base_url=url, timeout=60) as c:
        assert c.post("/signin", data={"username": "olu-operator", "password": PASSWORD}).status_code == 303
        first = c.get("/console/institutions/").text
        assert first.count("data-registration=") == institution_page.REGISTRATIONS_SHOWN < PENDING
        assert first.count("data-institution=") == institution_page.ACCOUNTS_SHOWN < WAITING
        assert f"({PENDING})" in first and f"({WAITING})" in first  # how many there are in all

        registrations = _walk(c, "/console/institutions/", "data-registration", '[^"]*#registrations')
        assert registrations == [f"I-{n + 1:05d}" for n in range(PENDING)]
        accounts = _walk(c, "/console/institutions/", "data-institution", '[^"]*#accounts')
        waiting = sorted((f"University {n % 7}", n) for n in range(PENDING, PENDING + WAITING))
        assert accounts == [f"I-{n + 1:05d}" for _, n in waiting]

        requests = _walk(c, "/console/institutions/", "data-range-request", '[^"]*#range-requests')
        assert [int(r) for r in requests] == sorted(r["id"] for r in node.institutions.range_requests())
        assert len(requests) == REQUESTS and first.count("data-range-request=") == institution_page.REQUESTS_SHOWN

        # on the second page of registrations, paging the accounts keeps the registrations where they are
        second = re.search(r'href="(/console/institutions/\?registrations=[^"#]+)#registrations"', first)
        assert second is not None
        page_two = c.get(second.group(1))
        later = re.findall(r'data-registration="([^"]+)"', page_two.text)
        assert later == registrations[institution_page.REGISTRATIONS_SHOWN :]
        both = re.search(r'<a rel="next" href="([^"]*#accounts)"', page_two.text)
        assert both is not None and "registrations=" in both.group(1)
        assert re.findall(r'data-registration="([^"]+)"', c.get(both.group(1).replace("&amp;", "&")).text) == later

        # a refusal on the second page is shown there, beside its form, with what was typed
        action = re.search(rf'action="(/console/institutions/{later[0]}/validate[^"]*)"', page_two.text)
        assert action is not None and "registrations=" in action.group(1)
        refused = c.post(action.group(1).replace("&amp;", "&"), data={"csrf": csrf_of(c), "ranges": "10.0.0.0/4"})
        assert refused.status_code == 422 and f'data-registration="{later[0]}"' in refused.text
        there = re.search(rf'data-registration="{later[0]}".*?</article>', refused.text, flags=re.S)
        assert there is not None and 'role="alert"' in there.group() and "10.0.0.0/4" in there.group()

        staff = _walk(c, "/console/publishers/", "data-account", r"\?after=[^\"]*")
        assert staff == [f"staff-{n:03d}" for n in reversed(range(STAFF))]  # newest first, none left off
        assert c.get("/console/publishers/").text.count("data-account=") == publishers_page.ACCOUNTS_SHOWN

        for bad in (
            "/console/institutions/?registrations=garbage!",
            "/console/institutions/?accounts=e30",
            "/console/institutions/?requests=" + "I-00001",
            "/console/publishers/?after=" + "x" * 2001,
            "/fr/console/publishers/?after=W10",
        ):
            assert c.get(bad).status_code == 400, bad
    assert node.institutions.page(status="pending").total == PENDING
