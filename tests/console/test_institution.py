"""Institutions in the console, over real HTTP against a portal process on SQLite and PostgreSQL: an institution's
administrator sees its own registration, ranges, named users, usage and reports (never another institution's,
whatever the URL says), asks for a range change that an operator confirms or refuses, manages its named users and
its SUSHI key; an operator validates or rejects registrations. Every action is an event naming the person; the
usage chart's numbers are the COUNTER report's. The main task runs in Chromium too, with screenshots."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_fixtures import PASSWORD, Console, csrf_of, new_page, screenshots, sign_in
from sqlalchemy import select

from strongroom.catalog.models import Account, ArchivalUnit, Item, Publisher, Title
from strongroom.domain.access import InstitutionStatus
from strongroom.domain.eligibility import Group
from strongroom.domain.usage import month_of, previous_month
from strongroom.node import Node
from strongroom.portal.console.institution import _standing
from strongroom.services.institutions import Contact

pytestmark = pytest.mark.slow

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


class SettableClock:
    def __init__(self, t: dt.datetime) -> None:
        self.t = t

    def now(self) -> dt.datetime:
        self.t += dt.timedelta(seconds=1)
        return self.t


@dataclass
class World:
    console: Console
    own: str  # muhas: the signed-in administrator's institution
    other: str  # a second institution (group B), with its own accounts, ranges and usage
    pending: str  # registrations for the operator: one to validate
    to_reject: str
    months: tuple[str, str]  # the two months with usage (ended ones, by the portal's real clock)
    used: dict[str, dict[str, int]]  # month -> metric -> count logged for the own institution


def _months_back(n: int) -> str:
    month = month_of(dt.datetime.now(dt.UTC))
    for _ in range(n):
        month = previous_month(month)
    return month


@pytest.fixture(scope="module")
def world(console: Console) -> World:
    node = console.node
    node.eligibility.override("MW", Group.B, reason="the programme's list", by="test")
    other = node.institutions.register(
        name="Kamuzu University of Health Sciences",
        type="university",
        country="MW",
        address="Blantyre",
        director=Contact("Director Banda", "director@kuhes.example"),
        librarian=Contact("Librarian Phiri", "library@kuhes.example"),
        ip_ranges=("203.0.113.0/24",),
        by="test",
    )
    node.institutions.move(other.key, InstitutionStatus.VALIDATED, by="test")  # its trial is over by now
    node.institutions.record_payment(other.key, dt.date.today() + dt.timedelta(days=200), by="test")
    node.accounts.create_account(other.key, "kuhes-library", PASSWORD)
    node.accounts.create_account(other.key, "kuhes-reader", PASSWORD, named="Chikondi")
    pending = node.institutions.register(
        name="University of Dodoma",
        type="university",
        country="TZ",
        address="Dodoma",
        director=Contact("Director Kikwete", "director@udom.example"),
        librarian=Contact("Librarian Said", "library@udom.example"),
        ip_ranges=("192.0.2.0/24",),
        by="web form",
    )
    to_reject = node.institutions.register(
        name="Ardhi University",
        type="university",
        country="TZ",
        address="Dar es Salaam",
        director=Contact("Director Lukumay", "director@ardhi.example"),
        librarian=Contact("Librarian Ngowi", "library@ardhi.example"),
        by="web form",
    )
    # usage in two months that have ended, logged as the portal logs it; the other institution's too
    with node.catalog.session() as s:
        rows = s.execute(
            select(Item.public_id, Title.key, Publisher.key)
            .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
            .join(Title, ArchivalUnit.title_id == Title.id)
            .join(Publisher, Title.publisher_id == Publisher.id)
            .where(Item.public_id.is_not(None))
            .order_by(Item.id)
        ).all()
    assert len(rows) >= 2
    months = (_months_back(3), _months_back(2))
    clock = SettableClock(dt.datetime.fromisoformat(months[0] + "-10T10:00:00+00:00"))
    logger = Node.open(console.home, clock=clock)
    used: dict[str, dict[str, int]] = {m: {} for m in months}
    plan = {months[0]: [("investigation", 0), ("request", 0), ("request", 1)], months[1]: [("no_license", 1)]}
    try:
        for month, uses in plan.items():
            clock.t = dt.datetime.fromisoformat(month + "-10T10:00:00+00:00")
            for n, (metric, which) in enumerate(uses):
                item, title, publisher = rows[which]
                assert item is not None
                logger.programme.log_use(
                    item_public_id=item,
                    title_key=title,
                    publisher_key=publisher,
                    metric=metric,
                    access="controlled",
                    institution=console.institution,
                    country="TZ",
                    address=f"198.51.100.{n + 10}",
                    user_agent=BROWSER,
                    url=f"/programme/articles/{item}/{metric}",
                )
                clock.t += dt.timedelta(minutes=5)
            for metric, _ in uses:
                used[month][metric] = used[month].get(metric, 0) + 1
            for n in range(4):  # the other institution's use, never shown to the first
                item, title, publisher = rows[0]
                assert item is not None
                logger.programme.log_use(
                    item_public_id=item,
                    title_key=title,
                    publisher_key=publisher,
                    metric="request",
                    access="controlled",
                    institution=other.key,
                    country="MW",
                    address=f"203.0.113.{n + 10}",
                    user_agent=BROWSER,
                    url=f"/programme/articles/{item}/other{n}",
                )
    finally:
        logger.close()
    return World(console, console.institution, other.key, pending.key, to_reject.key, months, used)


def events_by(console: Console, who: str, key: str) -> list[str]:
    return [e.detail for e in console.node.catalog.events(object_key=key, limit=200) if e.agent == f"console:{who}"]


def post(c: httpx.Client, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
    return c.post(path, data={"csrf": csrf_of(c), **(data or {})})


def chart_values(html: str) -> dict[str, list[float]]:
    return {
        name: [float(v) for v in values.split()]
        for name, values in re.findall(r'data-series="([^"]*)" data-values="([^"]*)"', html)
    }


# ---- the institution's own page ---------------------------------------------------------------------------------


def test_the_page_shows_registration_ranges_and_users(world: World) -> None:
    with world.console.client("muhas-library") as c:
        r = c.get("/console/institution/")
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        assert "Muhimbili University" in r.text and 'data-status="validated"' in r.text
        assert "group A: access is free" in r.text
        assert "<code>198.51.100.0/24</code>" in r.text and 'data-user="grace-reader"' in r.text
        assert "Kamuzu" not in r.text and "203.0.113" not in r.text and "kuhes" not in r.text
        fr = c.get("/fr/console/institution/")
        assert fr.status_code == 200 and "Plages d'adresses" in fr.text
    with world.console.client("kuhes-library") as c:  # group B: its trial, and what happens after
        r = c.get("/console/institution/")
        assert "Kamuzu" in r.text and "Muhimbili" not in r.text
        paid = (dt.date.today() + dt.timedelta(days=200)).isoformat()
        assert f"group B fee is paid through {paid}" in r.text and f"After {paid} your readers" in r.text


def test_only_the_institutions_own_data_whatever_the_url_says(world: World) -> None:
    with world.console.client("muhas-library") as c:
        for path in (
            f"/console/institution/?institution={world.other}",
            f"/console/institution/?key={world.other}&customer_id={world.other}",
        ):
            r = c.get(path)
            assert r.status_code == 200 and "Kamuzu" not in r.text and "Muhimbili" in r.text
        begin, end = world.months
        r = c.get(
            "/console/institution/reports/tr",
            params={"begin": begin, "end": end, "format": "json", "customer_id": world.other},
        )
        assert r.json()["Report_Header"]["Institution_Name"].startswith("Muhimbili")
        assert c.get("/console/institution/usage.json", params={"institution": world.other}).json()["institution"] == (
            world.own
        )
        # another institution's user or range cannot be touched
        r = post(c, "/console/institution/users/deactivate", {"username": "kuhes-reader"})
        assert r.status_code == 422 and "not a named user of your institution" in r.text
        r = post(c, "/console/institution/ranges", {"remove": "203.0.113.0/24"})
        assert r.status_code == 422 and "not one of your ranges" in r.text
        # the operator's page is not theirs
        assert c.get("/console/institutions/").status_code == 403
        assert post(c, f"/console/institutions/{world.pending}/validate", {"ranges": ""}).status_code == 403
    with world.console.node.catalog.session() as s:
        assert s.scalar(select(Account.active).where(Account.username == "kuhes-reader")) is True
    assert world.console.node.institutions.requested_ranges(world.other) == ["203.0.113.0/24"]


def test_strangers_other_roles_and_forms_without_the_token_are_refused(world: World) -> None:
    with world.console.client() as c:
        assert c.get("/console/institution/").status_code == 303
        assert c.get("/console/institution/usage.json").status_code == 401
        r = c.post("/console/institution/ranges", data={"add": "198.51.102.0/24"})
        assert r.status_code == 303 and "/signin" in r.headers["location"]
    for who in ("olu-operator", "bola-board", "grace-reader"):
        with world.console.client(who) as c:
            assert c.get("/console/institution/").status_code == 403
            assert c.get("/console/institution/usage.json").status_code == 403
            assert post(c, "/console/institution/sushi-key").status_code == 403
    with world.console.client("muhas-library") as c:
        for data in ({"add": "198.51.102.0/24"}, {"add": "198.51.102.0/24", "csrf": "0" * 64}):
            assert c.post("/console/institution/ranges", data=data).status_code == 403
        assert c.post("/console/institution/sushi-key", data={}).status_code == 403
    with world.console.client("olu-operator") as c:
        r = c.post(f"/console/institutions/{world.pending}/reject", data={"reason": "no", "csrf": "f" * 64})
        assert r.status_code == 403
    assert world.console.node.institutions.is_pending(world.pending)
    assert world.console.node.institutions.requested_ranges(world.own) == ["198.51.100.0/24"]


def test_a_range_change_is_asked_checked_and_confirmed_by_an_operator(world: World) -> None:
    node = world.console.node
    with world.console.client("muhas-library") as c:
        # checked on the spot, what was typed kept, the other institution never named
        r = post(c, "/console/institution/ranges", {"add": "203.0.113.128/25"})
        assert r.status_code == 422 and "overlaps the network of an institution" in r.text
        assert "Kamuzu" not in r.text and ">203.0.113.128/25</textarea>" in r.text
        r = post(c, "/console/institution/ranges", {"add": "10.0.0.0/8"})
        assert r.status_code == 422 and "too wide" in r.text
        r = post(c, "/console/institution/ranges", {"add": "198.51.100.128/25"})
        assert r.status_code == 422 and "overlap" in r.text
        assert post(c, "/console/institution/ranges", {}).status_code == 422
        r = post(c, "/fr/console/institution/ranges", {"add": "pas une adresse"})
        assert r.status_code == 422 and "pas une adresse ou une plage" in r.text
        # asked: nothing changes until an operator confirms
        r = post(c, "/console/institution/ranges", {"add": "198.51.101.0/24"})
        assert r.status_code == 303 and r.headers["location"] == "/console/institution/?done=asked"
        page = c.get("/console/institution/?done=asked").text
        assert "waiting for the programme" in page and "data-waiting" in page
        r = post(c, "/console/institution/ranges", {"add": "198.51.102.0/24"})
        assert r.status_code == 422 and "already waiting" in r.text
    assert node.institutions.requested_ranges(world.own) == ["198.51.100.0/24"]
    assert node.institutions.recognise("198.51.101.7").key is None
    assert any("range change" in d for d in events_by(world.console, "muhas-library", world.own))
    [waiting] = node.institutions.range_requests(institution=world.own)
    with world.console.client("olu-operator") as c:
        page = c.get("/console/institutions/")
        assert page.status_code == 200 and f'data-range-request="{waiting["id"]}"' in page.text
        assert "198.51.101.0/24" in page.text
        r = post(c, f"/console/institutions/requests/{waiting['id']}/confirm")
        assert r.status_code == 303 and r.headers["location"] == "/console/institutions/?done=confirmed"
        r = post(c, f"/console/institutions/requests/{waiting['id']}/confirm")  # once only
        assert r.status_code == 422 and "already confirmed" in r.text
    assert node.institutions.requested_ranges(world.own) == ["198.51.100.0/24", "198.51.101.0/24"]
    assert node.institutions.recognise("198.51.101.7").key == world.own
    assert any(
        f"range change {waiting['id']} confirmed" in d for d in events_by(world.console, "olu-operator", world.own)
    )
    # a second change, refused with a note the institution reads; the ranges stay
    with world.console.client("muhas-library") as c:
        assert post(c, "/console/institution/ranges", {"remove": "198.51.101.0/24"}).status_code == 303
    [second] = node.institutions.range_requests(institution=world.own)
    with world.console.client("olu-operator") as c:
        r = post(c, f"/console/institutions/requests/{second['id']}/refuse", {"note": ""})
        assert r.status_code == 422 and "Give the reason" in r.text
        r = post(c, f"/console/institutions/requests/{second['id']}/refuse", {"note": "the lab still uses it"})
        assert r.status_code == 303
    assert node.institutions.requested_ranges(world.own) == ["198.51.100.0/24", "198.51.101.0/24"]
    with world.console.client("muhas-library") as c:
        page = c.get("/console/institution/").text
        assert "the lab still uses it" in page and 'data-state="refused"' in page and "data-waiting" not in page
    assert any("refused by console:olu-operator" in d for d in events_by(world.console, "olu-operator", world.own))


def test_named_users_are_added_and_deactivated(world: World) -> None:
    with world.console.client("muhas-library") as c:
        r = post(c, "/console/institution/users", {"username": "juma.k", "name": "Juma K", "password": "short"})
        assert r.status_code == 422 and "at least 10 characters" in r.text
        assert 'value="juma.k"' in r.text and 'value="Juma K"' in r.text
        r = post(c, "/console/institution/users", {"username": "kuhes-reader", "name": "X", "password": PASSWORD})
        assert r.status_code == 422 and "is taken" in r.text
        r = post(c, "/console/institution/users", {"username": "juma.k", "name": "Juma K", "password": PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == "/console/institution/?done=added"
        assert 'data-user="juma.k"' in c.get("/console/institution/").text
    with world.console.client("juma.k") as reader:  # a named user: reads, administers nothing
        assert reader.get("/console/institution/").status_code == 403
        with world.console.client("muhas-library") as c:
            r = post(c, "/console/institution/users/deactivate", {"username": "juma.k"})
            assert r.status_code == 303
            assert post(c, "/console/institution/users/deactivate", {"username": "juma.k"}).status_code == 422
            r = post(c, "/console/institution/users/deactivate", {"username": "muhas-library"})  # not a named user
            assert r.status_code == 422
        assert reader.get("/console/").status_code == 303  # the session ended with the account
    with httpx.Client(base_url=world.console.url) as c:
        assert c.post("/signin", data={"username": "juma.k", "password": PASSWORD}).status_code != 303
    done = events_by(world.console, "muhas-library", world.own)
    assert any("named user juma.k (Juma K) added" in d for d in done)
    assert any("named user juma.k deactivated" in d for d in done)


def test_usage_charts_agree_with_the_counter_reports(world: World) -> None:
    begin, end = world.months
    with world.console.client("muhas-library") as c:
        page = c.get("/console/institution/").text
        numbers = c.get("/console/institution/usage.json").json()
        drawn = chart_values(page)
        assert len(drawn) == 3 and 'data-chart="usage"' in page
        months = numbers["months"]
        assert len(months) == 12 and months[-1] == _months_back(1) and begin in months and end in months
        for (name, values), metric in zip(
            drawn.items(), ("Total_Item_Investigations", "Total_Item_Requests", "No_License"), strict=True
        ):
            assert values == numbers["metrics"][metric], name
        # the chart is the Title Report, month by month, as the console downloads it for the same months
        report = c.get(
            "/console/institution/reports/tr", params={"begin": months[0], "end": months[-1], "format": "json"}
        )
        assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
        totals: dict[str, dict[str, int]] = {}
        for row in report.json()["Report_Items"]:
            for ap in row["Attribute_Performance"]:
                for metric, by_month in ap["Performance"].items():
                    for month, n in by_month.items():
                        totals.setdefault(metric, {}).setdefault(month, 0)
                        totals[metric][month] += n
        for metric, values in numbers["metrics"].items():
            assert values == [totals.get(metric, {}).get(m, 0) for m in months], metric
        # and the numbers are what was logged for this institution alone (the other's four requests are not in it)
        i = months.index(begin)
        assert numbers["metrics"]["Total_Item_Investigations"][i] == 3
        assert numbers["metrics"]["Total_Item_Requests"][i] == world.used[begin]["request"] == 2
        assert numbers["metrics"]["No_License"][months.index(end)] == 1
        assert sum(numbers["metrics"]["Total_Item_Requests"]) == 2
        # the CSV form, chosen by the download form
        r = c.get("/console/institution/report", params={"report": "tr_j1", "begin": begin, "end": end})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[1] == ["Report_ID", "TR_J1"] and rows[3][1].startswith("Muhimbili")
        header = next(row for row in rows if row and row[0] == "Title")
        requests = [
            row for row in rows[rows.index(header) + 1 :] if row[header.index("Metric_Type")] == "Total_Item_Requests"
        ]
        assert sum(int(row[header.index(begin)]) for row in requests) == 2
        # months typed wrong are said so, the form keeping them
        r = c.get("/console/institution/report", params={"report": "tr", "begin": "2026-1", "end": end})
        assert r.status_code == 422 and "yyyy-mm" in r.text and 'value="2026-1"' in r.text
        assert c.get("/console/institution/reports/nope", params={"begin": begin, "end": end}).status_code == 404


def test_a_new_sushi_key_opens_its_reports_and_the_old_one_stops(world: World) -> None:
    begin, end = world.months
    with world.console.client("muhas-library") as c:
        r = post(c, "/console/institution/sushi-key")
        assert r.status_code == 200 and "shown this once" in r.text
        first = re.search(r"<code data-api-key>([^<]+)</code>", r.text)
        assert first is not None
        assert "data-api-key" not in c.get("/console/institution/").text  # never shown again
        second = re.search(r"<code data-api-key>([^<]+)</code>", post(c, "/console/institution/sushi-key").text)
        assert second is not None and second.group(1) != first.group(1)
    with httpx.Client(base_url=world.console.url) as api:
        params = {"customer_id": world.own, "begin_date": begin, "end_date": end}
        sushi = api.get("/counter/r51/reports/tr_j1", params={**params, "api_key": second.group(1)})
        assert sushi.status_code == 200
        assert api.get("/counter/r51/reports/tr_j1", params={**params, "api_key": first.group(1)}).status_code == 401
        other = {**params, "customer_id": world.other, "api_key": second.group(1)}
        assert api.get("/counter/r51/reports/tr_j1", params=other).status_code == 401
    with world.console.client("muhas-library") as c:  # the console's download is the API's report
        mine = c.get("/console/institution/reports/tr_j1", params={"begin": begin, "end": end, "format": "json"})
    assert mine.json()["Report_Items"] == sushi.json()["Report_Items"]
    made = [d for d in events_by(world.console, "muhas-library", world.own) if "SUSHI key" in d]
    assert len(made) == 2 and all(second.group(1) not in d for d in made)


def test_what_the_page_says_of_each_state_and_access_period() -> None:
    today = dt.date(2026, 12, 3)
    base: dict[str, Any] = {
        "status": "validated",
        "group": "B",
        "reason": "",
        "trial_until": None,
        "paid_through": None,
        "ip_ranges": ["192.0.2.0/24"],
    }
    users = [{"active": True}]

    def said(users: list[dict[str, Any]] = users, **changed: Any) -> list[tuple[str, str]]:
        return [(kind, str(text)) for kind, text in _standing({**base, **changed}, users, today)]

    trial = said(trial_until=dt.date(2027, 1, 31))
    assert trial[0] == ("note", "Your group B trial runs until 2027-01-31.")
    assert trial[1][0] == "warn" and trial[1][1].startswith("After 2027-01-31 your readers can no longer open")
    assert len(trial) == 2
    lapsed = said(trial_until=dt.date(2026, 6, 1), paid_through=dt.date(2026, 11, 30))
    assert lapsed[0][0] == "alert" and "lapsed on 2026-11-30" in lapsed[0][1]
    assert "neither a trial nor a paid subscription" in said()[0][1]
    assert said(group="A") == [("note", "Your country is in group A: access is free, with no end date.")]
    assert "not eligible for the programme now" in said(group="none")[0][1]
    pending = said(status="pending", ip_ranges=[], users=[])
    assert [k for k, _ in pending] == ["warn", "warn", "note"] and "waiting for validation" in pending[0][1]
    assert "readers must sign in" in pending[1][1] and "no named users" in pending[2][1]
    rejected = said(status="rejected", reason="a duplicate")
    assert rejected[0] == ("alert", "Your registration was rejected: a duplicate") and "appeal" in rejected[1][1]
    assert said(status="suspended", reason="shared passwords")[0][1].endswith("shared passwords")


# ---- the operators' page -----------------------------------------------------------------------------------------


def test_an_operator_validates_with_corrected_ranges_and_rejects_with_a_reason(world: World) -> None:
    node = world.console.node
    with world.console.client("olu-operator") as c:
        page = c.get("/console/institutions/").text
        assert f'data-registration="{world.pending}"' in page and "192.0.2.0/24</textarea>" in page
        assert f'data-registration="{world.to_reject}"' in page and f'data-registration="{world.own}"' not in page
        r = post(c, f"/console/institutions/{world.pending}/validate", {"ranges": "203.0.113.0/26"})  # another's
        assert r.status_code == 422 and "overlaps" in r.text and ">203.0.113.0/26</textarea>" in r.text
        assert node.institutions.is_pending(world.pending)
        r = post(c, f"/console/institutions/{world.pending}/validate", {"ranges": "192.0.2.0/25\n192.0.2.128/26"})
        assert r.status_code == 303 and r.headers["location"] == "/console/institutions/?done=validated"
        r = post(c, f"/console/institutions/{world.to_reject}/reject", {"reason": ""})
        assert r.status_code == 422 and "Give the reason" in r.text
        r = post(c, f"/console/institutions/{world.to_reject}/reject", {"reason": "a duplicate of another"})
        assert r.status_code == 303
        page = c.get("/console/institutions/?done=rejected").text
        assert "The registration is rejected." in page and f'data-registration="{world.pending}"' not in page
    assert not node.institutions.is_pending(world.pending)
    assert node.institutions.requested_ranges(world.pending) == ["192.0.2.0/25", "192.0.2.128/26"]
    listing = {i["key"]: i for i in node.institutions.listing()}
    assert listing[world.to_reject]["status"] == "rejected" and listing[world.to_reject]["reason"] == (
        "a duplicate of another"
    )
    assert any("validated" in d for d in events_by(world.console, "olu-operator", world.pending))
    assert any("rejected" in d for d in events_by(world.console, "olu-operator", world.to_reject))


def test_an_operator_makes_a_validated_institutions_account_and_its_librarian_signs_in(world: World) -> None:
    """The librarian of a registration validated in the console gets the institution's account from the operator,
    in the console too: no one needs a terminal."""
    node = world.console.node
    with world.console.client("olu-operator") as c:
        if node.institutions.is_pending(world.pending):  # validated by the test above, unless run alone
            assert post(c, f"/console/institutions/{world.pending}/validate", {"ranges": ""}).status_code == 303
        page = c.get("/console/institutions/").text
        assert f'data-institution="{world.pending}"' in page and "library@udom.example" in page
        assert f'data-institution="{world.own}"' not in page  # it has its account
        bad = post(c, f"/console/institutions/{world.pending}/account", {"username": "Bad Name!"})
        assert bad.status_code == 422 and 'value="Bad Name!"' in bad.text and "small letters" in bad.text
        taken = post(c, f"/console/institutions/{world.own}/account", {"username": "muhas-two"})
        assert taken.status_code == 422 and "has its account already" in taken.text
        made = post(c, f"/console/institutions/{world.pending}/account", {"username": "udom-library"})
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        password = re.search(r'<code id="made-password">([^<]+)</code>', made.text)
        assert password and len(password.group(1)) >= 10
        assert f'data-institution="{world.pending}"' not in made.text  # it has its account now
    assert any("account udom-library created" in d for d in events_by(world.console, "olu-operator", world.pending))
    with httpx.Client(base_url=world.console.url, timeout=60) as librarian:
        signed = librarian.post("/signin", data={"username": "udom-library", "password": password.group(1)})
        assert signed.status_code == 303 and signed.headers["location"] == "/console/"
        own = librarian.get("/console/institution/")
        assert own.status_code == 200 and "University of Dodoma" in own.text


# ---- in the browser ------------------------------------------------------------------------------------------------


@pytest.fixture
def pages(browser: Any) -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for page in opened:
        page.context.close()


def test_in_the_browser_a_change_is_asked_confirmed_and_a_report_downloaded(
    world: World, browser: Any, pages: list[Any]
) -> None:
    url = world.console.url
    librarian = new_page(browser)
    pages.append(librarian)
    sign_in(librarian, url, "muhas-library")
    librarian.goto(url + "/console/institution/")
    screenshots(librarian, "console-institution")
    librarian.fill("#add", "198.51.104.0/24")
    librarian.click("#ranges button[type=submit]")
    librarian.wait_for_load_state()
    assert "waiting for the programme" in librarian.text_content("#ranges")
    operator = new_page(browser)
    pages.append(operator)
    sign_in(operator, url, "olu-operator")
    operator.goto(url + "/console/institutions/")
    screenshots(operator, "console-institutions")
    request = operator.locator("article[data-range-request]", has_text="198.51.104.0/24")
    request.locator("button", has_text="Confirm").click()
    operator.wait_for_load_state()
    assert "confirmed and in effect" in operator.text_content("main")
    librarian.goto(url + "/console/institution/")
    assert "198.51.104.0/24" in librarian.text_content("[data-ranges]")
    assert world.console.node.institutions.recognise("198.51.104.9").key == world.own
    with librarian.expect_download() as download:
        librarian.click('a[data-report="tr_j1"]')
    path = download.value.path()
    assert path is not None
    text = Path(path).read_text(encoding="utf-8")
    assert "TR_J1" in text and "Muhimbili" in text
    assert download.value.suggested_filename.startswith(f"{world.own}-tr_j1-")
