"""The access programme over HTTP, from outside: a portal process, and readers connecting from the addresses of
institutions in every state and group (each test client binds its own loopback address), across released,
enrolled (for A and B, and for A only) and dark items. Then the usage they made, as COUNTER 5.1 reports through
the SUSHI API, validated against the official COUNTER_SUSHI 5.1 schema. A month is reported once it has ended, so
the tests move the usage they made into last month before asking for it."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from portal_fixtures import PORTAL, start_portal, stop
from sqlalchemy import select, update

from counter51 import errors
from strongroom.catalog.models import ArchivalUnit, Institution, Item, Title, UsageEvent
from strongroom.domain.access import InstitutionStatus
from strongroom.domain.eligibility import Group
from strongroom.errors import NotFound
from strongroom.ingest.deposit import DepositOptions
from strongroom.node import Node
from strongroom.samples import eligibility as samples
from strongroom.services.institutions import Contact

BROWSER = "Mozilla/5.0 (Linux; Android 14) Chrome/124.0 Mobile"
ADDRESSES = {  # who reads from where
    "anonymous": "127.0.0.1",
    "A validated": "127.0.0.2",
    "B in trial": "127.0.0.3",
    "A pending": "127.0.0.4",
    "A suspended": "127.0.0.5",
    "A rejected": "127.0.0.6",
    "B lapsed": "127.0.0.7",
    "elsewhere": "127.0.0.9",
    "no network": "127.0.0.10",
    "fresh B": "127.0.0.11",
}


class Programme:
    def __init__(self, node: Node, url: str, items: dict[str, str], keys: dict[str, str]) -> None:
        self.node, self.url, self.items, self.keys = node, url, items, keys

    def get(
        self, who: str, path: str, agent: str = BROWSER, headers: dict[str, str] | None = None, url: str | None = None
    ) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=ADDRESSES[who])
        with httpx.Client(transport=transport, base_url=url or self.url, timeout=30) as client:
            return client.get(path, headers={"User-Agent": agent, **(headers or {})})


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory, module_db_factory: object, sample_dir: Path) -> Iterator[Programme]:
    tmp = tmp_path_factory.mktemp("programme")
    node = Node.create(tmp / "home", database_url=module_db_factory())  # type: ignore[operator]
    for pkg in sorted(p for p in sample_dir.iterdir() if p.name != "tmp"):
        node.ingest.deposit(pkg, DepositOptions(platform="ojs"))
    for kind, f in (
        ("world-bank", samples.write_world_bank(tmp / "wb.csv")),
        ("hdr", samples.write_hdr(tmp / "h.csv")),
    ):
        node.eligibility.import_indicators(kind, f, source="sample")
    node.eligibility.import_indicators("ldc", samples.write_ldc(tmp / "ldc.txt"), source="sample", year=2023)
    keys = {}
    for who, (name, country) in {
        "A validated": ("Muhimbili University", "TZ"),
        "B in trial": ("Moldova State University", "MD"),
        "A pending": ("University of Ghana", "GH"),
        "A suspended": ("University of Nairobi", "KE"),
        "A rejected": ("Université Cheikh Anta Diop", "SN"),
        "B lapsed": ("Taras Shevchenko National University", "UA"),
    }.items():
        inst = node.institutions.register(
            name=name,
            type="university",
            country=country,
            address="",
            director=Contact("Director", "d@example.org"),
            librarian=Contact("Librarian", "l@example.org"),
            ip_ranges=(ADDRESSES[who],),
        )
        keys[who] = inst.key
        if who != "A pending":
            node.institutions.move(inst.key, InstitutionStatus.VALIDATED, by="staff")
        if who == "A suspended":
            node.institutions.move(inst.key, InstitutionStatus.SUSPENDED, by="staff", reason="shared login")
    rejected = node.institutions.register(
        name="Cheikh Anta Diop Rejected Test",
        type="local-ngo",
        country="SN",
        address="",
        director=Contact("D", "d@example.org"),
        librarian=Contact("L", "l@example.org"),
        ip_ranges=(),
    )
    del rejected
    with node.catalog.session() as s:  # the rejected one: validated wrongly, then rejected; the lapsed one: time passed
        s.execute(
            update(Institution)
            .where(Institution.key == keys["A rejected"])
            .values(status="rejected", status_reason="not a university")
        )
        s.execute(
            update(Institution)
            .where(Institution.key == keys["B lapsed"])
            .values(trial_until=dt.date(2025, 1, 31), paid_through=dt.date(2025, 12, 31))
        )
        titles = {t.name: t.key for t in s.scalars(select(Title))}
    both, a_only = titles["Ghana Journal of Agricultural Science"], titles["Jarida la Sayansi ya Kilimo"]
    released_title = titles["East African Journal of Public Health"]
    node.programme.enroll(both, {"A", "B"}, by="publisher")
    node.programme.enroll(a_only, {"A"}, by="publisher")
    with node.catalog.session() as s:
        s.execute(
            update(ArchivalUnit)
            .where(ArchivalUnit.title_id == select(Title.id).where(Title.key == released_title).scalar_subquery())
            .values(
                released_at=node.clock.now(),
                release_licence="https://creativecommons.org/licenses/by/4.0/",
                release_trigger="T-0001",
            )
        )
        pick = {}
        for label, key in (
            ("both", both),
            ("a_only", a_only),
            ("released", released_title),
            ("dark", titles["Revue sénégalaise de santé publique"]),
        ):
            pick[label] = s.scalar(
                select(Item.public_id).join(ArchivalUnit).join(Title).where(Title.key == key).order_by(Item.id).limit(1)
            )
    portal = start_portal(tmp / "home")
    yield Programme(node, portal.url, pick, keys)
    stop(portal)
    node.close()


def last_month(node: Node, institution: str) -> str:
    """Moves this month's usage of an institution into last month (same day, at most the 28th, same time), and
    returns last month (yyyy-mm): reports cover months that have ended."""
    now = node.clock.now()
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    before = (this_month - dt.timedelta(days=1)).replace(day=1)
    with node.catalog.session() as s:
        for e in s.scalars(
            select(UsageEvent).where(UsageEvent.institution == institution, UsageEvent.time >= this_month)
        ):
            e.time = e.time.replace(year=before.year, month=before.month, day=min(e.time.day, 28))
    return before.strftime("%Y-%m")


MATRIX = [
    # (reader, item, status, words in the page)
    ("anonymous", "released", 200, "How to cite"),
    ("B lapsed", "released", 200, "How to cite"),
    ("anonymous", "both", 403, "sign in with your institution"),
    ("A validated", "both", 200, "through the access programme"),
    ("B in trial", "both", 200, "through the access programme"),
    ("B lapsed", "both", 403, "group B access lapsed on 2025-12-31"),
    ("A pending", "both", 403, "is pending, not validated"),
    ("A suspended", "both", 403, "is suspended, not validated"),
    ("A rejected", "both", 403, "is rejected, not validated"),
    ("A validated", "a_only", 200, "through the access programme"),
    ("B in trial", "a_only", 403, "enrolled this title for group A only"),
    ("anonymous", "dark", 404, "no released content at this address"),
    ("A validated", "dark", 404, "no released content at this address"),
]


@pytest.mark.parametrize(("who", "item", "status", "words"), MATRIX)
def test_the_access_matrix_by_ip_over_http(prog: Programme, who: str, item: str, status: int, words: str) -> None:
    prefix = "/articles/" if item == "released" else "/programme/articles/"
    response = prog.get(who, f"{prefix}{prog.items[item]}/")
    assert response.status_code == status and words in response.text
    if status == 403:
        assert "What to do" in response.text  # a denied reader is told why and what to do


def test_downloads_follow_the_same_decision(prog: Programme) -> None:
    page = prog.get("A validated", f"/programme/articles/{prog.items['both']}/").text
    pdf = next(p.split('"')[0] for p in page.split('href="')[1:] if p.split('"')[0].endswith(".pdf"))
    assert prog.get("A validated", pdf).content.startswith(b"%PDF")
    assert prog.get("anonymous", pdf).status_code == 403
    assert prog.get("B lapsed", pdf).status_code == 403
    assert prog.get("A validated", f"/programme/articles/{prog.items['dark']}/article.pdf").status_code == 404


def test_usage_becomes_counter_reports(prog: Programme) -> None:
    before = len(prog.node.catalog.engine.connect().exec_driver_sql("SELECT id FROM usage_events").fetchall())
    path = f"/programme/articles/{prog.items['a_only']}/"
    firefox = "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0"  # a new session: not a repeat of the matrix's visits
    assert prog.get("A validated", path, agent=firefox).status_code == 200
    assert prog.get("A validated", path, agent=firefox).status_code == 200  # a double click counts once
    assert prog.get("A validated", path, agent="Googlebot/2.1").status_code == 200  # a robot is not counted
    with prog.node.catalog.engine.connect() as c:
        assert len(c.exec_driver_sql("SELECT id FROM usage_events").fetchall()) == before + 1
    month = last_month(prog.node, prog.keys["A validated"])
    key = prog.node.sushi.issue_key("institution", prog.keys["A validated"], by="test")
    mine = {
        "customer_id": prog.keys["A validated"],
        "api_key": key,
        "begin_date": month,
        "end_date": month,
        "attributes_to_show": "Access_Type|Access_Method",
    }
    tr = httpx.get(prog.url + "/counter/r51/reports/tr", params=mine).json()
    assert errors(tr, "TR") == []
    assert tr["Report_Header"]["Institution_Name"] == "Muhimbili University"
    by_title = {i["Title"]: i for i in tr["Report_Items"]}
    jarida = by_title["Jarida la Sayansi ya Kilimo"]["Attribute_Performance"][0]
    assert jarida["Access_Type"] == "Controlled" and jarida["Performance"]["Total_Item_Investigations"][month] >= 1
    ir = httpx.get(prog.url + "/counter/r51/reports/ir", params=mine).json()
    assert errors(ir, "IR") == []
    assert any(i["Item_ID"].get("DOI") for group in ir["Report_Items"] for i in group["Items"])
    csv_text = httpx.get(prog.url + "/counter/r51/reports/tr", params={**mine, "format": "csv"}).text
    assert csv_text.startswith("Report_Name,Title Report") and "Total_Item_Investigations" in csv_text
    pub_key = prog.node.sushi.issue_key("publisher", "kumasi-academic-press-gh", by="test")
    publisher = httpx.get(
        prog.url + "/counter/r51/reports/tr",
        params={
            "publisher": "kumasi-academic-press-gh",
            "api_key": pub_key,
            "begin_date": month,
            "end_date": month,
            "country_code": "TZ",
        },
    ).json()
    assert errors(publisher, "TR") == []
    assert publisher["Report_Header"]["Report_Filters"]["Country_Code"] == "TZ"
    bad = httpx.get(prog.url + "/counter/r51/reports/tr", params={**mine, "begin_date": "2026-13"})
    assert bad.status_code == 400 and bad.json()["Code"] == 3020


def test_usage_reports_need_the_institutions_or_publishers_own_key(prog: Programme) -> None:
    month = last_month(prog.node, prog.keys["A validated"])
    theirs = prog.node.sushi.issue_key("institution", prog.keys["B in trial"], by="test")
    own = {"customer_id": prog.keys["A validated"], "begin_date": month, "end_date": month}
    for params, status, code in (
        (own, 400, 1030),  # no key: Insufficient Information to Process Request
        ({**own, "api_key": "sr-guess"}, 401, 2020),
        ({**own, "api_key": theirs}, 401, 2020),  # another institution's key
        ({**own, "customer_id": "I-99999", "api_key": theirs}, 401, 2020),  # a guessed institution says nothing more
        (
            {"publisher": "kumasi-academic-press-gh", "api_key": theirs, "begin_date": month, "end_date": month},
            401,
            2020,
        ),
    ):
        refused = httpx.get(prog.url + "/counter/r51/reports/tr", params=params)
        assert refused.status_code == status and refused.json()["Code"] == code, params
        assert "Report_Items" not in refused.text
    first = prog.node.sushi.issue_key("institution", prog.keys["A validated"], by="test")
    second = prog.node.sushi.issue_key("institution", prog.keys["A validated"], by="test")
    assert httpx.get(prog.url + "/counter/r51/reports/tr", params={**own, "api_key": first}).status_code == 401
    assert httpx.get(prog.url + "/counter/r51/reports/tr", params={**own, "api_key": second}).status_code == 200
    with pytest.raises(NotFound):
        prog.node.sushi.issue_key("institution", "I-99999", by="test")
    # the operator's command gives the key once; it opens the reports, and the one before it stops working
    issued = subprocess.run(
        [*PORTAL[:3], "counter-key", "institution", own["customer_id"], "--home", str(prog.node.settings.home)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert issued.returncode == 0, issued.stderr
    cli_key = next(line for line in issued.stdout.splitlines() if line.startswith("sr-"))
    assert httpx.get(prog.url + "/counter/r51/reports/tr", params={**own, "api_key": cli_key}).status_code == 200
    assert httpx.get(prog.url + "/counter/r51/reports/tr", params={**own, "api_key": second}).status_code == 401


def test_a_country_group_change_reaches_readers_at_once(prog: Programme) -> None:
    path = f"/programme/articles/{prog.items['a_only']}/"
    assert prog.get("A validated", path).status_code == 200
    prog.node.eligibility.override("TZ", Group.B, reason="graduated", by="staff")
    try:
        denied = prog.get("A validated", path)
        assert denied.status_code == 403 and "for group A only" in denied.text
        assert {f[0] for f in prog.node.institutions.flags()} >= {prog.keys["A validated"]}
    finally:
        prog.node.eligibility.override("TZ", Group.A, reason="back", by="staff")


def test_signing_in_from_anywhere(prog: Programme) -> None:

    key = prog.keys["A validated"]
    prog.node.accounts.create_account(key, "muhas-library", "correct horse battery")
    with pytest.raises(Exception, match="already has its institutional account"):
        prog.node.accounts.create_account(key, "muhas-2", "another long password")
    prog.node.accounts.create_account(key, "grace", "grace's own password", named="Grace Mushi")
    with prog.node.catalog.engine.connect() as c:
        stored = c.exec_driver_sql("SELECT password_hash FROM accounts WHERE username = 'grace'").scalar()
    assert stored.startswith("scrypt$16384$8$1$") and "grace's own password" not in stored
    path = f"/programme/articles/{prog.items['both']}/"
    transport = httpx.HTTPTransport(local_address=ADDRESSES["anonymous"])  # a reader at home, off the network
    with httpx.Client(transport=transport, base_url=prog.url, timeout=30) as home:
        assert home.get(path).status_code == 403
        form = home.get("/signin")
        assert form.status_code == 200 and 'type="password"' in form.text
        wrong = home.post("/signin", data={"username": "grace", "password": "not it"})
        assert wrong.status_code == 401 and "wrong username or password" in wrong.text
        signed = home.post("/signin", data={"username": "grace", "password": "grace's own password"})
        assert signed.status_code == 303 and signed.headers["location"] == "/programme/"
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert home.get(path).status_code == 200  # the session carries the institution
        assert home.post("/signout").status_code == 403  # without the session's form token: refused
        assert home.get(path).status_code == 200
        csrf = hashlib.sha256(b"strongroom-csrf:" + home.cookies["sr_session"].encode()).hexdigest()
        assert home.post("/signout", data={"csrf": csrf}).status_code == 303
        assert home.get(path).status_code == 403
    transport = httpx.HTTPTransport(local_address="127.0.0.9")  # a guesser, elsewhere
    with httpx.Client(transport=transport, base_url=prog.url, timeout=30) as guesser:
        for n in range(5):
            assert (
                guesser.post("/signin", data={"username": "muhas-library", "password": f"guess {n}"}).status_code == 401
            )
        throttled = guesser.post("/signin", data={"username": "muhas-library", "password": "correct horse battery"})
        assert throttled.status_code == 429 and "too many failed sign-ins" in throttled.text  # even the right one
    # the guesser cannot lock the institution's shared account: another address signs in with it at once
    transport = httpx.HTTPTransport(local_address="127.0.0.10")
    with httpx.Client(transport=transport, base_url=prog.url, timeout=30) as librarian:
        signed = librarian.post("/signin", data={"username": "muhas-library", "password": "correct horse battery"})
        assert signed.status_code == 303 and librarian.get(path).status_code == 200
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    with httpx.Client(transport=transport, base_url=prog.url, timeout=30) as guesser:
        french = guesser.post("/fr/signin", data={"username": "muhas-library", "password": "guess"})
        assert french.status_code == 429 and "trop de connexions échouées depuis votre adresse" in french.text


@pytest.mark.parametrize(("who", "item", "status", "words"), [m for m in MATRIX if m[0] != "anonymous"])
def test_the_access_matrix_by_account_over_http(prog: Programme, who: str, item: str, status: int, words: str) -> None:

    username = f"account-{prog.keys[who]}"
    try:
        prog.node.accounts.create_account(prog.keys[who], username, "a long enough password", named=who)
    except Exception as exc:  # created by an earlier case of this matrix
        assert "taken" in str(exc)
    prefix = "/articles/" if item == "released" else "/programme/articles/"
    transport = httpx.HTTPTransport(local_address="127.0.0.10")  # no institution's network: the account decides
    with httpx.Client(transport=transport, base_url=prog.url, timeout=30) as client:
        signed = client.post("/signin", data={"username": username, "password": "a long enough password"})
        assert signed.status_code == 303
        response = client.get(f"{prefix}{prog.items[item]}/")
    assert response.status_code == status and words in response.text


def test_registration_through_the_web_form(prog: Programme) -> None:
    form = {
        "name": "Kenyatta National Hospital",
        "type": "teaching-hospital",
        "country": "Kenya",
        "address": "Nairobi",
        "director_name": "Dr W. Otieno",
        "director_email": "director@knh.example.ke",
        "librarian_name": "M. Wanjiru",
        "librarian_email": "library@knh.example.ke",
        "ip_ranges": "197.248.10.0/24",
    }
    page = httpx.get(prog.url + "/fr/register")
    assert page.status_code == 200 and "Inscrire votre institution" in page.text
    done = httpx.post(prog.url + "/register", data=form)
    assert done.status_code == 200 and "Registered as I-" in done.text
    key = done.text.split("Registered as ")[1].split(".")[0]
    prog.node.institutions.move(key, InstitutionStatus.VALIDATED, by="staff")  # the programme verified it
    again = httpx.post(
        prog.url + "/register", data={**form, "name": "Kenyatta National Hospital (KNH)", "ip_ranges": ""}
    )
    assert again.status_code == 422 and "looks like an institution the programme has already registered" in again.text
    assert key not in again.text  # a refusal never names the other institution
    society = httpx.post(
        prog.url + "/register",
        data={**form, "name": "Kenya Medical Association", "type": "association", "ip_ranges": ""},
    )
    assert society.status_code == 422 and "member associations and societies are not eligible" in society.text
    assert 'value="Kenya Medical Association"' in society.text  # what was typed is kept for the correction


def test_counter_counts_come_out_right(prog: Programme) -> None:
    """A reader at an institution that has read nothing yet: two page views within 30 s (one counted), a robot
    (not counted), a PDF download (a request, and an investigation too): the TR says 2 investigations and 1 request,
    1 unique each."""
    fresh = prog.node.institutions.register(
        name="Technical University of Moldova",
        type="university",
        country="MD",
        address="",
        director=Contact("D", "d@utm.example.md"),
        librarian=Contact("L", "l@utm.example.md"),
        ip_ranges=(ADDRESSES["fresh B"],),
    )
    prog.node.institutions.move(fresh.key, InstitutionStatus.VALIDATED, by="staff")
    edge = "Mozilla/5.0 (Windows NT 10.0) Edg/124.0"
    path = f"/programme/articles/{prog.items['both']}/"
    page = prog.get("fresh B", path, agent=edge)
    assert page.status_code == 200
    prog.get("fresh B", path, agent=edge)
    prog.get("fresh B", path, agent="Mozilla/5.0 (compatible; bingbot/2.0)")
    pdf = next(p.split('"')[0] for p in page.text.split('href="')[1:] if p.split('"')[0].endswith(".pdf"))
    assert prog.get("fresh B", pdf, agent=edge).content.startswith(b"%PDF")
    month = last_month(prog.node, fresh.key)
    tr = httpx.get(
        prog.url + "/counter/r51/reports/tr",
        params={
            "customer_id": fresh.key,
            "api_key": prog.node.sushi.issue_key("institution", fresh.key, by="test"),
            "begin_date": month,
            "end_date": month,
            "attributes_to_show": "Access_Type",
        },
    ).json()
    assert errors(tr, "TR") == []
    [entry] = tr["Report_Items"]
    assert entry["Title"] == "Ghana Journal of Agricultural Science"
    [controlled] = entry["Attribute_Performance"]
    assert controlled["Access_Type"] == "Controlled"
    performance = {metric: counts[month] for metric, counts in controlled["Performance"].items()}
    assert performance == {
        "Total_Item_Investigations": 2,
        "Unique_Item_Investigations": 1,
        "Total_Item_Requests": 1,
        "Unique_Item_Requests": 1,
        "Unique_Title_Investigations": 1,
        "Unique_Title_Requests": 1,
    }
    assert entry["Item_ID"]["Online_ISSN"] and entry["Publisher"] == "Kumasi Academic Press"


def test_a_refusal_is_counted_as_no_license(prog: Programme) -> None:
    """A reader at a known institution refused by the programme (group B access lapsed) is a COUNTER No_License
    denial for that institution, in its TR and TR_J2; a refused reader nobody knows is not attributed to anyone."""
    opera = "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 OPR/110.0"
    path = f"/programme/articles/{prog.items['both']}/"
    with prog.node.catalog.engine.connect() as c:
        before = c.exec_driver_sql("SELECT count(*) FROM usage_events WHERE institution IS NULL").scalar()
    assert prog.get("B lapsed", path, agent=opera).status_code == 403
    assert prog.get("anonymous", path, agent=opera).status_code == 403
    with prog.node.catalog.engine.connect() as c:
        after = c.exec_driver_sql("SELECT count(*) FROM usage_events WHERE institution IS NULL").scalar()
    assert after == before
    month = last_month(prog.node, prog.keys["B lapsed"])
    params = {
        "customer_id": prog.keys["B lapsed"],
        "api_key": prog.node.sushi.issue_key("institution", prog.keys["B lapsed"], by="test"),
        "begin_date": month,
        "end_date": month,
    }
    tr = httpx.get(prog.url + "/counter/r51/reports/tr", params={**params, "attributes_to_show": "Access_Type"}).json()
    assert errors(tr, "TR") == []
    ghana = next(i for i in tr["Report_Items"] if i["Title"] == "Ghana Journal of Agricultural Science")
    [controlled] = [ap for ap in ghana["Attribute_Performance"] if ap["Access_Type"] == "Controlled"]
    assert controlled["Performance"]["No_License"][month] >= 1
    assert "Total_Item_Investigations" not in controlled["Performance"]  # nothing was shown
    j2 = httpx.get(prog.url + "/counter/r51/reports/tr_j2", params=params).json()
    assert errors(j2, "TR_J2") == [] and j2["Report_Items"]


def test_a_forwarded_address_is_not_believed_from_just_anyone(prog: Programme) -> None:
    """X-Forwarded-For is a header anyone can send: without a trusted proxy it must not make a reader at home (or a
    process on the portal's own machine) look like a reader on an institution's network."""
    page = f"/programme/articles/{prog.items['both']}/"
    claimed = {"X-Forwarded-For": ADDRESSES["A validated"], "Forwarded": f"for={ADDRESSES['A validated']}"}
    assert prog.get("anonymous", page, headers=claimed).status_code == 403


def test_behind_a_trusted_proxy_the_forwarded_address_decides(prog: Programme) -> None:
    home = prog.node.settings.home
    portal = start_portal(home, "--trusted-proxies", f"{ADDRESSES['anonymous']},10.0.0.0/8")
    url = portal.url
    try:
        page = f"/programme/articles/{prog.items['both']}/"
        proxy, reader = "anonymous", ADDRESSES["A validated"]  # the proxy connects from 127.0.0.1
        via_proxy = prog.get(proxy, page, headers={"X-Forwarded-For": reader}, url=url)
        assert via_proxy.status_code == 200 and "through the access programme" in via_proxy.text
        # a client that writes its own X-Forwarded-For before the proxy appends the real one gains nothing
        spoofed = prog.get(proxy, page, headers={"X-Forwarded-For": f"{reader}, {ADDRESSES['elsewhere']}"}, url=url)
        assert spoofed.status_code == 403
        # nor does a connection that does not come from the proxy
        assert prog.get("elsewhere", page, headers={"X-Forwarded-For": reader}, url=url).status_code == 403
    finally:
        stop(portal)
    refused = subprocess.run(
        [*PORTAL, "--home", str(home), "--trusted-proxies", "the proxy"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0 and "'the proxy' is not an IP address or network" in refused.stderr


def test_a_squatter_blocks_nobody_and_refusals_are_translated(prog: Programme) -> None:
    """An anonymous client asks for a whole /8, then for a real university's /16: the /8 is refused as too wide,
    the /16 waits as a pending registration that blocks nobody, and the university registers its own network.
    Refusals, the form's institution types and the access decision's reasons come in the reader's language."""
    form = {
        "name": "Kenya Networks Research Centre",
        "type": "research-institute",
        "country": "KE",
        "address": "",
        "director_name": "X",
        "director_email": "x@example.org",
        "librarian_name": "Y",
        "librarian_email": "y@example.org",
        "ip_ranges": "41.0.0.0/8",
    }
    wide = httpx.post(prog.url + "/register", data=form)
    assert wide.status_code == 422 and "41.0.0.0/8 is too wide to be one institution" in wide.text
    squatter = httpx.post(prog.url + "/register", data={**form, "ip_ranges": "41.89.0.0/16"})
    assert squatter.status_code == 200 and "Registered as I-" in squatter.text
    university = {**form, "name": "Moi University", "type": "university", "ip_ranges": "41.89.0.0/16"}
    real = httpx.post(prog.url + "/register", data=university)
    assert real.status_code == 200 and "Registered as I-" in real.text  # a pending registration never blocks
    french = httpx.post(prog.url + "/fr/register", data={**form, "ip_ranges": "41.0.0.0/12"})
    assert french.status_code == 422 and "41.0.0.0/12 est trop large pour être le réseau" in french.text
    page = httpx.get(prog.url + "/es/register").text
    assert "hospital universitario o centro de salud" in page and "empresa comercial" in page
    assert "teaching hospital or health centre" not in page
    denied = prog.get("A pending", f"/pt/programme/articles/{prog.items['both']}/")
    assert denied.status_code == 403 and "está pendente, não validada" in denied.text
    assert "aguarde a validação (duas a quatro semanas)" in denied.text and "is pending" not in denied.text


def test_the_home_page_counts_in_the_singular_too(prog: Programme) -> None:
    """One released title from one country: "1 title in 1 country", in every language (it said "1 titles in 1
    countries")."""
    expected = {
        "": "from 1 title in 1 country.",
        "/fr": "de 1 titre dans 1 pays.",
        "/es": "de 1 título en 1 país.",
        "/pt": "de 1 título em 1 país.",
    }
    for prefix, words in expected.items():
        page = httpx.get(prog.url + prefix + "/")
        assert page.status_code == 200 and words in page.text, (prefix, page.text)
