"""An operator makes a publisher's staff sign-in in the console (the password made on the node, shown once), and
the person signs in to the publisher pages with it; wrong input is refused with what was typed kept; nobody else
may, and not without the form's token; the event names the operator."""

from __future__ import annotations

import re

import httpx
import pytest
from console_fixtures import Console, csrf_of

pytestmark = pytest.mark.slow


def test_an_operator_makes_a_publishers_staff_account(console: Console) -> None:
    publisher = console.publisher
    with console.client("olu-operator") as c:
        page = c.get("/console/publishers/")
        assert page.status_code == 200 and 'data-account="east-staff"' in page.text
        form = {"csrf": csrf_of(c), "publisher": publisher, "username": "Not A Name", "name": "Wanjiru"}
        bad = c.post("/console/publishers/", data=form)
        assert bad.status_code == 422 and "small letters" in bad.text and 'value="Not A Name"' in bad.text
        unknown = c.post("/console/publishers/", data={**form, "publisher": "nobody-ke", "username": "wanjiru"})
        assert unknown.status_code == 422 and "There is no publisher nobody-ke" in unknown.text
        taken = c.post("/console/publishers/", data={**form, "username": "east-staff"})
        assert taken.status_code == 422 and "is taken" in taken.text
        assert c.post("/console/publishers/", data={**form, "csrf": "x", "username": "wanjiru"}).status_code == 403
        made = c.post("/console/publishers/", data={**form, "username": "wanjiru"})
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        password = re.search(r'<code id="made-password">([^<]+)</code>', made.text)
        assert password and 'data-account="wanjiru"' in made.text
        fr = c.post("/fr/console/publishers/", data={**form, "username": "Pas Bon"})
        assert fr.status_code == 422 and "lettres" in fr.text
    events = console.node.catalog.events(object_key=publisher, limit=50)
    assert any(e.agent == "console:olu-operator" and "wanjiru" in e.detail for e in events)
    with httpx.Client(base_url=console.url, timeout=60) as staff:
        signed = staff.post("/signin", data={"username": "wanjiru", "password": password.group(1)})
        assert signed.status_code == 303 and signed.headers["location"] == "/publisher/"
        assert staff.get("/publisher/").status_code == 200
    for other in ("nadia-netadmin", "bola-board", "muhas-library", "east-staff"):
        with console.client(other) as c:
            assert c.get("/console/publishers/").status_code == 403
            r = c.post("/console/publishers/", data={"csrf": csrf_of(c), "publisher": publisher, "username": "x-y-z"})
            assert r.status_code == 403
