"""The publisher pages in a real browser: Debian's Chromium, headless, driven by Playwright, against a portal
process over real HTTP (as tests/portal/test_browser.py drives it).

A publisher's staff sign in, follow their titles to the certificate and its PDF, deposit a good package and a bad
one (in French: the findings translated, what they typed kept), and are refused another publisher's page; with
JavaScript on, the upload's progress bar runs to the end and the result replaces the form. A stranger reads the
look-up and a certificate but is sent to sign in for the staff pages. Screenshots of the publisher's home and of
a certificate, at a phone's and a desktop's width, are kept in the test's temporary directory. Skipped without
Chromium, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from portal_fixtures import LivePortal, start_portal, stop
from pypdf import PdfReader
from sqlalchemy import select
from test_browser import fits_the_screen

from strongroom.catalog.models import ArchivalUnit, Publisher, Title
from strongroom.clock import FixedClock
from strongroom.domain.text import N_
from strongroom.ingest.deposit import DepositOptions
from strongroom.node import Node
from strongroom.portal.i18n import say

pytestmark = pytest.mark.slow

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

PASSWORD = "correct horse battery"
EAST = "East African Journal of Public Health"
GHANA = "Ghana Journal of Agricultural Science"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
REFUSED = N_("The package was refused and nothing was stored. Fix what is listed below.")


@dataclass
class Room:
    node: Node
    portal: LivePortal
    east: str  # the publishers' keys
    ghana: str
    jarida: str
    sample_dir: Path

    @property
    def url(self) -> str:
        return self.portal.url

    def title(self, starts: str) -> tuple[str, str, str]:
        """(key, name, an ISSN) of the title whose name starts with ``starts``."""
        t = next(t for t, *_ in self.node.catalog.titles() if t.name.startswith(starts))
        return t.key, t.name, str(t.issn_online or t.issn_print)


@pytest.fixture(scope="module")
def room(
    module_db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
) -> Iterator[Room]:
    """A node holding one title each of three publishers, with a staff account each, served by its own process.
    Two packages stay back for the staff to upload: East African 2023 and Jarida 2023."""
    home = tmp_path_factory.mktemp("publisher-room") / "home"
    clock = FixedClock(dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC))
    node = Node.create(home, database_url=module_db_factory(), clock=clock, name="Strongroom test archive")
    for name in (
        "east-african-journal-of-public-health-2024-jats",
        "ghana-journal-of-agricultural-science-2023-bag",
        "jarida-la-sayansi-ya-kilimo-2024-jats",
    ):
        node.ingest.deposit(sample_dir / name, DepositOptions(platform="ojs"))
    with node.catalog.session() as s:
        keys = dict(
            s.execute(select(Title.name, Publisher.key).join(Publisher, Title.publisher_id == Publisher.id)).all()
        )
    east, ghana = keys[EAST], keys[GHANA]
    jarida = keys["Jarida la Sayansi ya Kilimo"]
    for key, username in ((east, "east-staff"), (ghana, "ghana-staff"), (jarida, "jarida-staff")):
        node.publishers.create_staff(key, username, PASSWORD, named=username.split("-")[0].title(), by="test")
    portal = start_portal(home)
    try:
        yield Room(node, portal, east, ghana, jarida, sample_dir)
    finally:
        stop(portal)
        node.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A reader's browser without JavaScript (the pages work without it), on a phone."""
    made = browser.new_context(viewport=PHONE, locale="en-GB", java_script_enabled=False)
    yield made
    made.close()


def watch(page: Page, expected: Callable[[str], bool] = lambda _: False) -> list[str]:
    """The console errors and warnings, page errors and failed responses the page meets (but ``expected`` ones)."""
    problems: list[str] = []

    def on_console(m: ConsoleMessage) -> None:
        if m.type in ("error", "warning"):
            if m.text.startswith("Failed to load resource") and expected(str(m.location.get("url", ""))):
                return  # the browser's own note of an expected refusal
            problems.append(f"{m.type}: {m.text} at {page.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and not expected(r.url) else None,
    )
    return problems


def sign_in(page: Page, room: Room, username: str) -> None:
    page.goto(room.url + "/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert urlsplit(page.url).path == "/publisher/", page.url


def screenshot(page: Page, folder: Path, name: str) -> None:
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        path = folder / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert fits_the_screen(page), f"{name} scrolls sideways at {size['width']} px"
    page.set_viewport_size(PHONE)


def test_staff_follow_their_titles_to_the_certificate_and_its_pdf(
    context: BrowserContext, room: Room, tmp_path: Path
) -> None:
    page = context.new_page()
    ghana_key, ghana_name, _ = room.title("Ghana")
    problems = watch(page, expected=lambda url: f"/publisher/titles/{ghana_key}/" in url)  # the refusal below
    shots = tmp_path / "screenshots"
    shots.mkdir()

    sign_in(page, room, "east-staff")
    assert page.locator("h1").inner_text() == "Nairobi Health Sciences Publishers"
    assert "Signed in as East" in page.content()
    titles = page.locator("main ul.list a")
    assert titles.all_inner_texts() == [EAST] and GHANA not in page.content()
    screenshot(page, shots, "publisher-home")

    page.get_by_role("link", name=EAST).click()
    assert page.locator("h1").inner_text() == EAST
    body = page.locator("main").inner_text()
    assert "Received: version 1" in body and "only 1 copy: this node is in no network yet" in body
    assert page.locator("#ojs-deposits").inner_text().endswith("No deposit from OJS for this title.")
    certificate = urlsplit(str(page.get_by_role("link", name="Preservation certificate").get_attribute("href")))
    page.goto(room.url + certificate.path)  # the stable address names the node's public base URL
    assert page.locator("h1").inner_text() == "Preservation certificate"
    assert page.locator("main h2").inner_text() == EAST
    screenshot(page, shots, "certificate")

    pdf_href = str(page.get_by_role("link", name="Certificate as PDF").get_attribute("href"))
    pdf = context.request.get(room.url + pdf_href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "Preservation certificate" in text and EAST in text

    refused = page.goto(f"{room.url}/publisher/titles/{ghana_key}/")
    assert refused is not None and refused.status == 403
    assert ghana_name not in page.content() and "Received: version" not in page.content()
    assert sorted(p.name for p in shots.iterdir()) == [
        "certificate-desktop.png",
        "certificate-phone.png",
        "publisher-home-desktop.png",
        "publisher-home-phone.png",
    ]
    assert problems == []


def test_staff_upload_a_good_package_and_a_bad_one_in_french(context: BrowserContext, room: Room) -> None:
    page = context.new_page()
    problems = watch(page, expected=lambda url: url.endswith("/publisher/deposit"))  # the refusal is a 422
    sign_in(page, room, "east-staff")

    page.get_by_role("link", name="Deposit a package").click()
    assert page.locator("h1").inner_text() == "Deposit a package"
    page.set_input_files(
        "input[name=package]", room.sample_dir / "east-african-journal-of-public-health-2023-jasper.zip"
    )
    page.locator("#deposit button[type=submit]").click()
    result = page.locator("#result").inner_text()
    found = re.search(r"Received: version (\d+) of (\S+),", result)
    assert found is not None, result
    version, au = found.groups()
    assert version == "1" and au.endswith("/2023")
    with room.node.catalog.session() as s:
        assert s.scalar(select(ArchivalUnit.head_version).where(ArchivalUnit.key == au)) == 1
    page.get_by_role("link", name="Your titles").click()
    page.get_by_role("link", name=EAST).click()
    assert "2023" in page.locator("main").inner_text()  # the new AU is on the title's path

    page.goto(room.url + "/fr/publisher/deposit")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.fill("input[name=title]", "Titre gardé")
    page.fill("input[name=issn]", "2079-3405")
    page.fill("input[name=au]", "2024")
    page.set_input_files("input[name=package]", room.sample_dir / "ghana-journal-of-agricultural-science-2024-bag.zip")
    page.locator("#deposit button[type=submit]").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("#message").inner_text() == say(REFUSED, "fr") != str(REFUSED)
    findings = page.locator("#findings").inner_text()
    assert "Le paquet appartient à un autre éditeur." in findings and "P054" in findings
    assert "The package belongs to another publisher." not in findings
    assert page.input_value("input[name=title]") == "Titre gardé"
    assert page.input_value("input[name=issn]") == "2079-3405"
    assert page.input_value("input[name=au]") == "2024"
    assert page.input_value("input[name=package]") == ""  # a file input cannot be refilled: the page says so
    with room.node.catalog.session() as s:
        assert (
            s.scalar(
                select(ArchivalUnit.id).where(
                    ArchivalUnit.key.like("%/2024"), ArchivalUnit.key.like(f"%{room.title('Ghana')[0]}%")
                )
            )
            is None
        )
    assert problems == []


def test_the_upload_shows_its_progress_with_javascript_on(browser: Browser, room: Room) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", java_script_enabled=True)
    try:
        page = context.new_page()
        problems = watch(page)
        progress: list[str] = []
        page.on("console", lambda m: progress.append(m.text) if m.text.startswith("progress ") else None)
        sign_in(page, room, "jarida-staff")
        page.goto(room.url + "/publisher/deposit")
        bar = page.locator("#progress")
        assert bar.is_hidden()
        # report every value the page's script gives the bar (the driver's evaluate is not the page's own script)
        page.evaluate(
            """() => {
              const bar = document.getElementById("progress");
              const value = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, "value");
              Object.defineProperty(bar, "value", {
                get() { return value.get.call(this); },
                set(v) { value.set.call(this, v); console.log("progress " + v + (this.hidden ? " hidden" : "")); },
              });
            }"""
        )
        page.set_input_files("input[name=package]", room.sample_dir / "jarida-la-sayansi-ya-kilimo-2023-jasper.zip")
        page.locator("#deposit button[type=submit]").click()
        page.wait_for_selector("#result", timeout=60_000)  # the script wrote the answer in place of the form
        assert urlsplit(page.url).path == "/publisher/deposit"
        assert re.search(r"Received: version 1 of \S+/2023,", page.locator("#result").inner_text())
        assert progress and progress[-1] == "progress 1", progress  # the bar was shown and ran to the end
        assert all(not p.endswith("hidden") for p in progress)
        values = [float(p.split()[1]) for p in progress]
        assert values == sorted(values)
        assert problems == []
    finally:
        context.close()


def test_a_stranger_reads_the_lookup_and_a_certificate_but_no_staff_page(context: BrowserContext, room: Room) -> None:
    page = context.new_page()
    problems = watch(page)
    key, name, issn = room.title("Ghana")
    page.goto(f"{room.url}/preserved?q={issn}")
    assert page.locator("#results a").all_inner_texts() == [name]
    assert "Preserved" in page.locator("#results").inner_text()
    page.get_by_role("link", name=name).click()
    assert urlsplit(page.url).path == f"/preserved/{key}/"
    assert (
        page.locator("h1").inner_text() == "Preservation certificate" and page.locator("main h2").inner_text() == name
    )
    assert fits_the_screen(page)
    for path in ("/publisher/", f"/publisher/titles/{key}/", "/publisher/deposit"):
        page.goto(room.url + path)
        assert urlsplit(page.url).path == "/signin" and page.locator("h1").inner_text() == "Sign in", path
    assert problems == []
