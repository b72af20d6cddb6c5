"""COUNTER Release 5.1 conformance of the usage log and its reports, on both catalog backends: the Code of
Practice's processing rules (double-clicks per URL, user-sessions, robots), the reporting period and its Exceptions,
denials, and every report, Standard View, list and Exception the SUSHI API serves, checked against the official
COUNTER_SUSHI 5.1 schema (tests/fixtures/counter-5.1)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from counter51 import FIXTURES, errors, response_errors
from strongroom.catalog.models import ArchivalUnit, Institution, Item, Title
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.services.counter import CounterError
from strongroom.services.programme import is_robot
from tests_support import SettableClock

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
INSTITUTION = "I-00001"
NOVEMBER = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> SettableClock:
    c = SettableClock()
    c.t = NOVEMBER
    return c


@pytest.fixture
def usage(tmp_path: Path, db_url: str, clock: SettableClock) -> Iterator[Node]:
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    with node.catalog.session() as s:
        s.add(
            Institution(
                key=INSTITUTION, name="Muhimbili University", type="university", country="TZ", registered_at=clock.t
            )
        )
    yield node
    node.close()


def use(
    node: Node,
    clock: SettableClock,
    at: dt.datetime,
    url: str = "/programme/articles/A1/",
    *,
    item: str = "A1",
    title: str = "ghana-j-agric-sci",
    metric: str = "investigation",
    access: str = "controlled",
    address: str = "10.0.0.1",
    agent: str = BROWSER,
    signin: str | None = None,
) -> bool:
    clock.t = at
    return node.programme.log_use(
        item_public_id=item,
        title_key=title,
        publisher_key="kumasi-academic-press-gh",
        metric=metric,
        access=access,
        institution=INSTITUTION,
        country="TZ",
        address=address,
        user_agent=agent,
        url=url,
        signin=signin,
    )


def report(node: Node, clock: SettableClock, kind: str = "tr", begin: str = "2026-11", end: str = "2026-11") -> Any:
    """The report as of 3 December (November has ended); a Report shows its rows by access type."""
    clock.t = dt.datetime(2026, 12, 3, 4, 0, tzinfo=dt.UTC)
    shown = () if "_" in kind else ("Access_Type", "Access_Method")
    return node.counter.report(kind, begin=begin, end=end, institution=INSTITUTION, attributes=shown)


def performance(data: dict[str, Any], access: str = "Controlled") -> dict[str, int]:
    """metric -> November's count, of the report's one row with that access type."""
    [entry] = data["Report_Items"]
    [found] = [ap for ap in entry["Attribute_Performance"] if ap.get("Access_Type", access) == access]
    return {metric: counts["2026-11"] for metric, counts in found["Performance"].items()}


def seconds(n: float) -> dt.datetime:
    return NOVEMBER + dt.timedelta(seconds=n)


def test_double_clicks_chain_from_the_previous_click_on_the_same_url(usage: Node, clock: SettableClock) -> None:
    """Clicks at 0, 1, 20 and 42 s are each within 30 s of the one before: one action; 80 s is 38 s after 42: two.
    Another reader (another address, or another browser) clicking the same URL meanwhile is not a double-click."""
    for t in (0, 1, 20, 42, 80):
        assert use(usage, clock, seconds(t)) is True
    use(usage, clock, seconds(81), address="10.0.0.2")
    use(usage, clock, seconds(82), agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0")
    counted = performance(report(usage, clock))
    assert counted["Total_Item_Investigations"] == 4 and counted["Unique_Item_Investigations"] == 3


def test_double_clicks_are_per_url_not_per_item(usage: Node, clock: SettableClock) -> None:
    """The PDF and the XML of one article, two seconds apart, are two requests (and one unique item)."""
    use(usage, clock, seconds(0), "/programme/articles/A1/article.pdf", metric="request")
    use(usage, clock, seconds(2), "/programme/articles/A1/article.xml", metric="request")
    use(usage, clock, seconds(3), "/programme/articles/A1/article.xml", metric="request")  # a double-click
    counted = performance(report(usage, clock))
    assert counted["Total_Item_Requests"] == 2 and counted["Unique_Item_Requests"] == 1
    assert counted["Total_Item_Investigations"] == 2  # a request is an investigation too


def test_unique_metrics_count_a_user_session_with_its_hour_or_its_sign_in(usage: Node, clock: SettableClock) -> None:
    """Without a sign-in the session is address + browser + date + hour: 09:10 and 09:50 are one, 10:05 another
    (the same address and browser on the same day). A signed-in reader's session lasts the day."""
    base = NOVEMBER.replace(hour=9)
    for minute in (10, 50, 65):  # 09:10, 09:50, 10:05
        use(usage, clock, base + dt.timedelta(minutes=minute))
    for minute in (10, 50, 65, 190):  # the same times and 12:10, signed in from another address
        use(usage, clock, base + dt.timedelta(minutes=minute), address="10.9.9.9", signin="token-1")
    use(usage, clock, base + dt.timedelta(minutes=20), title="other-title", item="B1", url="/programme/articles/B1/")
    data = report(usage, clock)
    rows = {entry["Title"]: entry["Attribute_Performance"][0]["Performance"] for entry in data["Report_Items"]}
    ghana = {metric: counts["2026-11"] for metric, counts in rows["ghana-j-agric-sci"].items()}
    assert ghana["Total_Item_Investigations"] == 7
    assert ghana["Unique_Item_Investigations"] == 3  # 09:xx, 10:xx, and the signed-in day
    assert ghana["Unique_Title_Investigations"] == 3
    assert "Unique_Title_Requests" not in ghana  # nothing requested: no zero months
    assert errors(data, "TR") == []


def test_unique_title_metrics_count_a_title_once_per_session(usage: Node, clock: SettableClock) -> None:
    for n, item in enumerate(("A1", "A2", "A3")):
        use(usage, clock, seconds(40 * n), f"/programme/articles/{item}/article.pdf", item=item, metric="request")
    counted = performance(report(usage, clock))
    assert counted["Unique_Item_Requests"] == 3 and counted["Unique_Title_Requests"] == 1
    assert counted["Unique_Title_Investigations"] == 1


def test_robots_are_those_of_the_published_counter_robots_list() -> None:
    for agent in (
        "ADmantX Platform Semantic Analyzer - ADmantX Inc. - www.ADmantX.com",  # in the list, not in a short subset
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "python-requests/2.31",
        "WGET/1.21",  # the list is matched without regard to case, as its maintainers ask
        "",
    ):
        assert is_robot(agent), agent
    assert not is_robot(BROWSER)
    assert not is_robot("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36")


def test_a_robot_is_not_counted(usage: Node, clock: SettableClock) -> None:
    assert use(usage, clock, seconds(0), agent="ADmantX Platform Semantic Analyzer") is False
    use(usage, clock, seconds(1))
    assert performance(report(usage, clock))["Total_Item_Investigations"] == 1


def test_the_period_is_whole_months_ending_on_their_last_day(usage: Node, clock: SettableClock) -> None:
    use(usage, clock, dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC))
    use(usage, clock, dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC), "/programme/articles/A1/other")
    clock.t = dt.datetime(2027, 2, 10, tzinfo=dt.UTC)
    data = usage.counter.report("tr", begin="2026-12", end="2026-12", institution=INSTITUTION)
    assert data["Report_Header"]["Report_Filters"] == {"Begin_Date": "2026-12-01", "End_Date": "2026-12-31"}
    [entry] = data["Report_Items"]
    assert entry["Attribute_Performance"][0]["Performance"]["Total_Item_Investigations"] == {"2026-12": 1}
    february = usage.counter.report("tr", begin="2024-02-01", end="2024-02-29", institution=INSTITUTION)
    assert february["Report_Header"]["Report_Filters"] == {"Begin_Date": "2024-02-01", "End_Date": "2024-02-29"}
    assert errors(data, "TR") == [] and errors(february, "TR") == []


def test_an_empty_report_carries_exception_3030(usage: Node, clock: SettableClock) -> None:
    data = report(usage, clock, begin="2026-09", end="2026-10")
    assert data["Report_Items"] == []
    [found] = data["Report_Header"]["Exceptions"]
    assert found["Code"] == 3030 and found["Message"] == "No Usage Available for Requested Dates"
    assert "Severity" not in found
    assert errors(data, "TR") == [] and errors(found, "Exception_3030") == []


def test_a_month_not_ended_is_cut_and_carries_exception_3031(usage: Node, clock: SettableClock) -> None:
    use(usage, clock, seconds(0))
    use(usage, clock, dt.datetime(2026, 12, 2, tzinfo=dt.UTC))  # this month: not reported yet
    data = report(usage, clock, begin="2026-11", end="2027-01")  # asked on 3 December
    assert data["Report_Header"]["Report_Filters"]["End_Date"] == "2026-11-30"
    [found] = data["Report_Header"]["Exceptions"]
    assert found == {
        "Code": 3031,
        "Message": "Usage Not Ready for Requested Dates",
        "Data": "2026-12 to 2027-01: a month is reported once it has ended",
    }
    assert performance(data)["Total_Item_Investigations"] == 1
    assert errors(data, "TR") == []


def test_a_report_beginning_in_a_month_not_ended_is_refused_with_3020(usage: Node, clock: SettableClock) -> None:
    for begin, end in (
        ("2026-12", "2026-12"),
        ("2026-11", "2026-10"),
        ("2026-13", "2026-13"),
        ("2026-02-30", "2026-03"),
    ):
        with pytest.raises(CounterError) as refused:
            report(usage, clock, begin=begin, end=end)
        assert refused.value.code == 3020, (begin, end)


def test_denials_are_no_license_in_the_tr_the_ir_and_tr_j2(usage: Node, clock: SettableClock) -> None:
    use(usage, clock, seconds(0), metric="no_license")
    use(usage, clock, seconds(10), metric="no_license")  # a double-click
    use(usage, clock, seconds(60), metric="no_license")
    use(usage, clock, seconds(120), "/programme/articles/A1/article.pdf", metric="no_license")
    use(usage, clock, seconds(200), "/articles/A1/", access="open")
    tr = report(usage, clock)
    assert performance(tr, "Controlled") == {"No_License": 3}  # a refusal is not an investigation
    assert performance(tr, "Open")["Total_Item_Investigations"] == 1
    assert errors(tr, "TR") == []  # with the one known defect of the schema (tests/counter51.py) allowed for
    j2 = report(usage, clock, "tr_j2")
    assert performance(j2) == {"No_License": 3}
    assert errors(j2, "TR_J2") == []
    ir = report(usage, clock, "ir")
    [group] = ir["Report_Items"]
    [item] = group["Items"]
    by_access = {ap["Access_Type"]: ap["Performance"] for ap in item["Attribute_Performance"]}
    assert by_access["Controlled"] == {"No_License": {"2026-11": 3}}
    assert errors(ir, "IR") == []


def test_a_report_shows_attributes_only_when_asked(usage: Node, clock: SettableClock) -> None:
    """Without attributes_to_show a TR has one row per title, its unique counts over open and controlled use
    together; Access_Type splits it; an attribute Strongroom cannot show is left out with Exception 3062, and a
    country for a Standard View (which has no country filter) with 3050."""
    use(usage, clock, seconds(0), "/programme/articles/A1/")
    use(usage, clock, seconds(40), "/articles/A1/", access="open")
    clock.t = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    plain = usage.counter.report("tr", begin="2026-11", end="2026-11", institution=INSTITUTION)
    [entry] = plain["Report_Items"]
    [merged] = entry["Attribute_Performance"]
    assert merged == {
        "Data_Type": "Journal",
        "Performance": {
            "Total_Item_Investigations": {"2026-11": 2},
            "Unique_Item_Investigations": {"2026-11": 1},
            "Unique_Title_Investigations": {"2026-11": 1},
        },
    }
    assert "Report_Attributes" not in plain["Report_Header"] and errors(plain, "TR") == []
    split = usage.counter.report(
        "tr", begin="2026-11", end="2026-11", institution=INSTITUTION, attributes=("Access_Type", "Authors")
    )
    assert split["Report_Header"]["Report_Attributes"] == {"Attributes_To_Show": ["Access_Type"]}
    assert split["Report_Header"]["Exceptions"] == [
        {"Code": 3062, "Message": "Invalid ReportAttribute Value", "Data": "attributes_to_show: Authors"}
    ]
    assert sorted(ap["Access_Type"] for ap in split["Report_Items"][0]["Attribute_Performance"]) == [
        "Controlled",
        "Open",
    ]
    assert errors(split, "TR") == []
    view = usage.counter.report("tr_j3", begin="2026-11", end="2026-11", institution=INSTITUTION, country="TZ")
    assert [e["Code"] for e in view["Report_Header"]["Exceptions"]] == [3050]
    assert "Country_Code" not in view["Report_Header"]["Report_Filters"] and errors(view, "TR_J3") == []


def test_every_report_and_view_on_offer_passes_the_official_schema(usage: Node, clock: SettableClock) -> None:
    use(usage, clock, seconds(0))
    use(usage, clock, seconds(5), "/programme/articles/A1/article.pdf", metric="request")
    use(usage, clock, seconds(9), "/articles/B1/", item="B1", title="other-title", access="open")
    use(usage, clock, seconds(60), "/programme/articles/A2/", item="A2", metric="no_license")
    for name in ("TR", "IR"):  # the validation itself: COUNTER's samples pass, and a broken one does not
        sample = json.loads((FIXTURES / f"{name}_sample_r51.json").read_text(encoding="utf-8"))
        assert errors(sample, name) == []
        del sample["Report_Header"]["Created"]
        assert errors(sample, name)
    offered = set(usage.counter.reports)
    assert offered == {"tr", "tr_j1", "tr_j2", "tr_j3", "tr_j4", "ir"}
    for kind in sorted(offered):
        data = report(usage, clock, kind, begin="2026-10", end="2026-12")
        assert data["Report_Header"]["Report_ID"] == kind.upper()
        assert errors(data, kind.upper()) == [], kind
        assert data["Report_Items"], kind
        assert [e["Code"] for e in data["Report_Header"].get("Exceptions", [])] == [3031]
    j1 = report(usage, clock, "tr_j1")
    assert performance(j1) == {"Total_Item_Requests": 1, "Unique_Item_Requests": 1}
    j3 = report(usage, clock, "tr_j3")
    assert {entry["Title"] for entry in j3["Report_Items"]} == {"ghana-j-agric-sci", "other-title"}


@pytest.fixture
def sushi(usage: Node, clock: SettableClock) -> Iterator[tuple[TestClient, str]]:
    use(usage, clock, seconds(0))
    key = usage.sushi.issue_key("institution", INSTITUTION, by="test")
    clock.t = dt.datetime(2026, 12, 3, 4, 0, tzinfo=dt.UTC)
    with TestClient(create_portal(usage)) as client:
        yield client, key


def test_the_sushi_status_members_and_report_list_pass_the_official_schema(sushi: tuple[TestClient, str]) -> None:
    client, key = sushi
    status = client.get("/counter/r51/status")
    assert status.status_code == 200 and response_errors(status.json(), "200_Status") == []
    assert status.json()[0]["Service_Active"] is True
    members = client.get("/counter/r51/members", params={"customer_id": INSTITUTION, "api_key": key})
    assert members.status_code == 200 and response_errors(members.json(), "200_Members") == []
    assert members.json() == [
        {
            "Customer_ID": INSTITUTION,
            "Institution_Name": "Muhimbili University",
            "Institution_ID": {"Proprietary": [f"strongroom:{INSTITUTION}"]},
        }
    ]
    assert client.get("/counter/r51/members", params={"customer_id": INSTITUTION}).json()["Code"] == 1030
    assert client.get("/counter/r51/members", params={"customer_id": INSTITUTION, "api_key": "x"}).status_code == 401
    listed = client.get("/counter/r51/reports")
    assert listed.status_code == 200 and response_errors(listed.json(), "200_Reports") == []
    by_id = {r["Report_ID"]: r for r in listed.json()}
    assert set(by_id) == {"TR", "TR_J1", "TR_J2", "TR_J3", "TR_J4", "IR"}
    assert by_id["TR"]["Path"] == "/r51/reports/tr"
    assert (by_id["TR"]["First_Month_Available"], by_id["TR"]["Last_Month_Available"]) == ("2026-11", "2026-11")


def test_sushi_reports_and_exceptions_pass_the_official_schema(sushi: tuple[TestClient, str]) -> None:
    client, key = sushi
    mine = {"customer_id": INSTITUTION, "api_key": key}
    shown = client.get(
        "/counter/r51/reports/tr",
        params={
            **mine,
            "begin_date": "2026-11",
            "end_date": "2026-11",
            "attributes_to_show": "Access_Type|Access_Method",
        },
    ).json()
    assert shown["Report_Header"]["Report_Attributes"] == {"Attributes_To_Show": ["Access_Type", "Access_Method"]}
    assert shown["Report_Items"][0]["Attribute_Performance"][0]["Access_Type"] == "Controlled"
    for kind in ("tr", "tr_j1", "tr_j2", "tr_j3", "tr_j4", "ir"):
        answer = client.get(
            f"/counter/r51/reports/{kind}", params={**mine, "begin_date": "2026-11", "end_date": "2026-12"}
        )
        assert answer.status_code == 200 and errors(answer.json(), kind.upper()) == [], kind
    dated = client.get("/counter/r51/reports/tr", params={**mine, "begin_date": "2026-11-01", "end_date": "2026-11-30"})
    assert dated.json()["Report_Header"]["Report_Filters"] == {"Begin_Date": "2026-11-01", "End_Date": "2026-11-30"}
    country = client.get(
        "/counter/r51/reports/tr", params={**mine, "begin_date": "2026-11", "end_date": "2026-11", "country_code": "TZ"}
    ).json()
    assert country["Report_Header"]["Report_Filters"]["Country_Code"] == "TZ" and errors(country, "TR") == []
    unknown = client.get("/counter/r51/reports/pr", params={**mine, "begin_date": "2026-11", "end_date": "2026-11"})
    assert unknown.status_code == 404 and errors(unknown.json(), "Exception_0") == []
    for params, status, code in (
        ({"customer_id": INSTITUTION, "begin_date": "2026-11", "end_date": "2026-11"}, 400, 1030),
        ({**mine, "api_key": "sr-guess", "begin_date": "2026-11", "end_date": "2026-11"}, 401, 2020),
        ({**mine, "begin_date": "2026-13", "end_date": "2026-13"}, 400, 3020),
        ({**mine, "begin_date": "2026-12", "end_date": "2026-12"}, 400, 3020),  # December has not ended
        ({**mine, "end_date": "2026-11"}, 400, 1030),
        ({"begin_date": "2026-11", "end_date": "2026-11"}, 400, 1030),
    ):
        refused = client.get("/counter/r51/reports/tr", params=params)
        assert refused.status_code == status and refused.json()["Code"] == code, params
        assert "Severity" not in refused.json()
        assert response_errors(refused.json(), f"{status}_Exception") == [], params


def test_requests_by_year_of_publication(usage: Node, clock: SettableClock, sample_dir: Path) -> None:
    """TR_J4 (the Standard View a journal platform must offer) and the TR's and IR's YOP attribute split requests
    by the year the article read was published; an article whose year is not known is YOP 0001."""
    usage.ingest.deposit(next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-jats")))
    with usage.catalog.session() as s:
        [(first, year, title)] = s.execute(
            select(Item.public_id, Item.year, Title.key)
            .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
            .join(Title, ArchivalUnit.title_id == Title.id)
            .where(Item.year.is_not(None))
            .order_by(Item.id)
            .limit(1)
        ).all()
    assert first and year
    pdf = f"/programme/articles/{first}/article.pdf"
    use(usage, clock, seconds(0), pdf, item=first, title=title, metric="request")
    use(usage, clock, seconds(90), pdf, item=first, title=title, metric="request", address="10.0.0.2")
    use(usage, clock, seconds(99), "/programme/articles/Z9/x.pdf", item="Z9", title=title, metric="request")
    j4 = report(usage, clock, "tr_j4")
    assert errors(j4, "TR_J4") == []
    [entry] = j4["Report_Items"]
    by_yop = {ap["YOP"]: ap["Performance"] for ap in entry["Attribute_Performance"]}
    assert by_yop == {
        f"{year:04d}": {"Total_Item_Requests": {"2026-11": 2}, "Unique_Item_Requests": {"2026-11": 2}},
        "0001": {"Total_Item_Requests": {"2026-11": 1}, "Unique_Item_Requests": {"2026-11": 1}},
    }
    assert [ap["YOP"] for ap in entry["Attribute_Performance"]] == [f"{year:04d}", "0001"]  # newest first
    tr = usage.counter.report("tr", begin="2026-11", end="2026-11", institution=INSTITUTION, attributes=("YOP",))
    assert errors(tr, "TR") == [] and tr["Report_Header"]["Report_Attributes"] == {"Attributes_To_Show": ["YOP"]}
    assert {ap["YOP"] for ap in tr["Report_Items"][0]["Attribute_Performance"]} == {f"{year:04d}", "0001"}
    ir = usage.counter.report("ir", begin="2026-11", end="2026-11", institution=INSTITUTION, attributes=("YOP",))
    assert errors(ir, "IR") == []
    assert "YOP" in usage.counter.as_csv(j4).splitlines()[9].split(",")
