"""A node for the console's tests, served by its own ``portal serve`` process over real HTTP, with a sign-in for
every role: an operator, a network administrator, a board member (with the Ed25519 key their ballots are signed
with, in a file only the test reads), a publisher's staff, an institution's administrator and a named user, and an
account with no role at all. Browser helpers: Debian's Chromium under Playwright, and screenshots at a phone's and
a desktop's width kept as the run's artefacts (``test-artefacts/screenshots/``, or ``$STRONGROOM_ARTEFACTS``).

Importable by the console's test modules (``from console_fixtures import ...``); the fixtures themselves are
registered by ``conftest.py``."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select

from strongroom.catalog.models import Publisher, Title
from strongroom.clock import FixedClock
from strongroom.domain.access import InstitutionStatus
from strongroom.domain.eligibility import Group
from strongroom.ingest.deposit import DepositOptions
from strongroom.node import Node
from strongroom.services.institutions import Contact
from strongroom.services.triggers import keygen

sys.path.insert(0, str(Path(__file__).parent.parent / "portal"))
from portal_fixtures import LivePortal, start_portal, stop

PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ARTEFACTS = Path(os.environ.get("STRONGROOM_ARTEFACTS", Path(__file__).parent.parent.parent / "test-artefacts"))
SAMPLES = (
    "east-african-journal-of-public-health-2024-jats",
    "ghana-journal-of-agricultural-science-2023-bag",
    "jarida-la-sayansi-ya-kilimo-2024-jats",
)
# username -> what the account is
USERS = {
    "olu-operator": "operator",
    "nadia-netadmin": "network-admin",
    "bola-board": "board",
    "east-staff": "publisher",
    "muhas-library": "institution-admin",
    "grace-reader": "institution-user",
}


@dataclass
class Console:
    """The node, its portal process, and what the tests need to know of it."""

    node: Node
    home: Path
    portal: LivePortal
    board_key: Path  # the board member's private key (never given to the node)
    board_member: str
    institution: str  # the institution's key
    publisher: str  # the publisher's key of east-staff
    titles: dict[str, str] = field(default_factory=dict)  # title name -> key

    @property
    def url(self) -> str:
        return self.portal.url

    @contextmanager
    def client(self, username: str | None = None) -> Iterator[httpx.Client]:
        """An HTTP client of the portal, signed in as ``username`` (None: a stranger)."""
        with httpx.Client(base_url=self.url, timeout=60, follow_redirects=False) as c:
            if username is not None:
                r = c.post("/signin", data={"username": username, "password": PASSWORD})
                assert r.status_code == 303, r.text
            yield c


def csrf_of(client: httpx.Client) -> str:
    """The form token of a signed-in client's session (as the console's pages carry it)."""
    return hashlib.sha256(b"strongroom-csrf:" + client.cookies["sr_session"].encode()).hexdigest()


def add_people(node: Node, keys: Path) -> tuple[str, Path]:
    """The people of :data:`USERS` but the publisher's staff: a validated institution (Tanzania, in Group A) with
    its institutional account and a named user, the board member Bola Adeyemi (private key written to ``keys``) and
    the archive's staff. Returns the institution's key and the board member's key file."""
    node.eligibility.override("TZ", Group.A, reason="the programme's list", by="test")
    inst = node.institutions.register(
        name="Muhimbili University of Health and Allied Sciences",
        type="university",
        country="TZ",
        address="Dar es Salaam",
        director=Contact("Director Mkapa", "director@muhas.example"),
        librarian=Contact("Librarian Mwakyusa", "library@muhas.example"),
        ip_ranges=("198.51.100.0/24",),
        by="test",
    )
    node.institutions.move(inst.key, InstitutionStatus.VALIDATED, by="test")
    node.accounts.create_account(inst.key, "muhas-library", PASSWORD)
    node.accounts.create_account(inst.key, "grace-reader", PASSWORD, named="Grace")
    board_key = keys / "bola.pem"
    node.triggers.add_member("Bola Adeyemi", keygen(board_key))
    node.accounts.create_staff("olu-operator", PASSWORD, ["operator"], named="Olu", by="test")
    node.accounts.create_staff("nadia-netadmin", PASSWORD, ["network-admin"], named="Nadia", by="test")
    node.accounts.create_staff("bola-board", PASSWORD, ["board"], named="Bola", board_member="Bola Adeyemi", by="test")
    return inst.key, board_key


def build_console(home: Path, database_url: str, sample_dir: Path, keys: Path) -> Console:
    """The console's node: three publishers' titles deposited, one institution validated with its accounts, and a
    sign-in for every role (see :data:`USERS`)."""
    clock = FixedClock(dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC))
    node = Node.create(home, database_url=database_url, clock=clock, name="Strongroom test archive")
    for name in SAMPLES:
        node.ingest.deposit(sample_dir / name, DepositOptions(platform="ojs"))
    with node.catalog.session() as s:
        titles = dict(s.execute(select(Title.name, Title.key)).all())
        east = s.scalar(
            select(Publisher.key).join(Title, Title.publisher_id == Publisher.id).where(Title.name.like("East%"))
        )
    assert east is not None
    node.publishers.create_staff(east, "east-staff", PASSWORD, named="Amina", by="test")
    institution, board_key = add_people(node, keys)
    portal = start_portal(home)
    return Console(node, home, portal, board_key, "Bola Adeyemi", institution, east, titles)


@pytest.fixture(scope="module")
def console(
    module_db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
) -> Iterator[Console]:
    """The console's node (on SQLite and on PostgreSQL), served by its own process."""
    base = tmp_path_factory.mktemp("console")
    (base / "keys").mkdir()
    made = build_console(base / "home", module_db_factory(), sample_dir, base / "keys")
    try:
        yield made
    finally:
        stop(made.portal)
        made.node.close()


# ---- the browser ---------------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page


def new_page(browser: Browser, *, phone: bool = False, javascript: bool = True, locale: str = "en-GB") -> Page:
    """A fresh browser context (no cookies) and its page. Close it with ``page.context.close()``."""
    context: BrowserContext = browser.new_context(
        viewport=PHONE if phone else DESKTOP, locale=locale, java_script_enabled=javascript
    )
    return context.new_page()


def sign_in(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person does."""
    page.goto(url + "/signin")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def screenshots(page: Page, name: str) -> list[Path]:
    """The page at a phone's and a desktop's width, kept as ``ARTEFACTS/screenshots/NAME-{phone,desktop}.png``;
    each must fit its screen's width (nothing to scroll sideways)."""
    folder = ARTEFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    kept = []
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        path = folder / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert fits, f"{name} is wider than a {label}'s screen"
        kept.append(path)
    return kept
