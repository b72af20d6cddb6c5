"""Who may see what in the console, over real HTTP: a stranger is sent to sign in (and back after), each role sees
its own sections and is refused the others', a named user of an institution administers nothing, forms without
the session's token are refused, sign-in goes back only to a path on this site, and signing out needs the token;
and the same in Chromium, each person signing in through the form."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from typing import Any

import pytest
from console_fixtures import PASSWORD, Console, csrf_of, new_page, screenshots, sign_in

from strongroom.services.accounts import Role

pytestmark = pytest.mark.slow

# A page of each section, and the roles that may see it.
PAGES = {
    "/console/node/": {"olu-operator"},
    "/console/network/": {"olu-operator", "nadia-netadmin", "bola-board"},
    "/console/network/admin/": {"nadia-netadmin"},
    "/console/board/": {"bola-board"},
    "/console/institution/": {"muhas-library"},
    "/console/publishers/": {"olu-operator"},
}


def test_a_stranger_is_sent_to_sign_in_and_comes_back(console: Console) -> None:
    with console.client() as c:
        r = c.get("/console/node/")
        assert r.status_code == 303 and r.headers["location"] == "/signin?next=/console/node/"
        assert c.get("/fr/console/").headers["location"] == "/fr/signin?next=/fr/console/"
        assert c.get("/console/network.json").status_code == 401
        wrong = c.post("/signin", data={"username": "olu-operator", "password": "not it", "next": "/console/node/"})
        assert wrong.status_code == 401 and 'value="olu-operator"' in wrong.text and "not it" not in wrong.text
        assert 'name="next" value="/console/node/"' in wrong.text  # the way back survives a wrong password
        form = c.get("/signin?next=/console/node/")
        assert 'name="next" value="/console/node/"' in form.text
        r = c.post("/signin", data={"username": "olu-operator", "password": PASSWORD, "next": "/console/node/"})
        assert r.status_code == 303 and r.headers["location"] == "/console/node/"
    with console.client() as c:  # never back to another site
        for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            r = c.post("/signin", data={"username": "olu-operator", "password": PASSWORD, "next": elsewhere})
            assert r.headers["location"] == "/console/"
            c.cookies.clear()
        assert 'name="next"' not in c.get("/signin", params={"next": "//evil.example/"}).text


@pytest.mark.parametrize("username", ["olu-operator", "nadia-netadmin", "bola-board", "muhas-library"])
def test_each_role_sees_its_sections_and_is_refused_the_others(console: Console, username: str) -> None:
    with console.client(username) as c:
        home = c.get("/console/")
        assert home.status_code == 200
        assert (
            home.headers["cache-control"] == "no-store" and "script-src" not in home.headers["content-security-policy"]
        )
        links = set(re.findall(r'<li><a href="(/console/[^"]*)"', home.text))
        for path, who in PAGES.items():
            assert (path in links) == (username in who), (username, path)
            r = c.get(path)
            if username in who:
                assert r.status_code == 200, (username, path)
            else:
                assert r.status_code == 403 and "may not see this page" in r.text, (username, path)


def test_a_named_user_and_a_publisher_administer_nothing(console: Console) -> None:
    with console.client("grace-reader") as c:
        home = c.get("/console/")
        assert home.status_code == 200 and "nothing to administer" in home.text
        assert all(c.get(path).status_code == 403 for path in PAGES)
    with console.client("east-staff") as c:
        assert c.get("/console/").status_code == 200
        assert all(c.get(path).status_code == 403 for path in PAGES)


def test_signing_in_sends_each_account_to_its_pages(console: Console) -> None:
    expected = {
        "olu-operator": "/console/",
        "muhas-library": "/console/",
        "east-staff": "/publisher/",
        "grace-reader": "/programme/",
    }
    for username, where in expected.items():
        with console.client() as c:
            r = c.post("/signin", data={"username": username, "password": PASSWORD})
            assert r.headers["location"] == where, username


def test_forms_need_the_session_token_and_sign_out_too(console: Console) -> None:
    with console.client("olu-operator") as c:
        assert c.post("/signout").status_code == 403
        assert c.post("/signout", data={"csrf": "0" * 64}).status_code == 403
        assert c.get("/console/").status_code == 200  # still signed in
        r = c.post("/signout", data={"csrf": csrf_of(c)}, headers={"origin": "https://evil.example"})
        assert r.status_code == 403
        assert c.post("/signout", data={"csrf": csrf_of(c)}).status_code == 303
        assert c.get("/console/").status_code == 303  # the session is gone


def test_the_console_speaks_the_readers_language(console: Console) -> None:
    with console.client("olu-operator") as c:
        page = c.get("/fr/console/")
        assert page.status_code == 200 and 'lang="fr"' in page.text and "Ce nœud" in page.text
        assert "Se déconnecter" in page.text


def test_staff_accounts_from_the_command_line(console: Console) -> None:
    from strongroom.errors import StrongroomError

    accounts = console.node.accounts
    with pytest.raises(StrongroomError, match="unknown role"):
        accounts.create_staff("x-1", PASSWORD, ["janitor"], by="test")
    with pytest.raises(StrongroomError, match="names the board member"):
        accounts.create_staff("x-2", PASSWORD, ["board"], by="test")
    with pytest.raises(StrongroomError, match="no board member"):
        accounts.create_staff("x-3", PASSWORD, ["board"], board_member="Nobody", by="test")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom.cli.main",
            "staff",
            "tunde",
            "--role",
            "operator",
            "--role",
            "network-admin",
            "--password-stdin",
            "--home",
            str(console.home),
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Console account tunde created (network-admin, operator)" in run.stdout
    with console.client("tunde") as c:
        person = console.node.accounts.person(c.cookies["sr_session"])
        assert person is not None and person.roles == {Role.OPERATOR, Role.NETWORK_ADMIN}
        assert c.get("/console/network/admin/").status_code == 200
    wrong = subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom.cli.main",
            "staff",
            "tunde",
            "--role",
            "operator",
            "--password-stdin",
            "--home",
            str(console.home),
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode != 0 and "is taken" in wrong.stderr


# In a browser: each person signs in through the form, lands on the console, opens their own section, and is
# refused another's; a stranger who follows a link to a console page signs in and comes back to it.
BROWSER_ROLES = {  # username: (their section, one they are refused)
    "olu-operator": ("/console/node/", "/console/board/"),
    "nadia-netadmin": ("/console/network/admin/", "/console/institution/"),
    "bola-board": ("/console/board/", "/console/network/admin/"),
    "muhas-library": ("/console/institution/", "/console/node/"),
}


def test_each_person_in_a_browser_reaches_their_section_and_is_refused_another(console: Console, browser: Any) -> None:
    for username, (own, refused) in BROWSER_ROLES.items():
        page = new_page(browser, phone=username == "muhas-library")
        try:
            sign_in(page, console.url, username)
            assert page.url == console.url + "/console/", username
            page.click(f'nav a[href="{own}"]')
            assert page.url == console.url + own and page.locator("h1").count() == 1, username
            response = page.goto(console.url + refused)
            assert response is not None and response.status == 403, (username, refused)
            assert "may not see this page" in page.locator("[role=alert]").inner_text()
            if username == "olu-operator":
                page.goto(console.url + "/console/")
                screenshots(page, "console-home")
        finally:
            page.context.close()
    page = new_page(browser, javascript=False)
    try:
        page.goto(console.url + "/console/network/")
        assert "/signin?next=/console/network/" in page.url
        page.fill("input[name=username]", "bola-board")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.url == console.url + "/console/network/"
        page.click("header form button[type=submit]")  # sign out: the form carries the session's token
        page.wait_for_load_state()
        assert page.goto(console.url + "/console/").url.startswith(console.url + "/signin")
    finally:
        page.context.close()


class _Form(HTMLParser):
    """What a page's accessibility and weight depend on: its controls and their labels, its scripts and what it
    loads from elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()
        self.open_labels = 0
        self.scripts: list[dict[str, str | None]] = []
        self.external: list[str] = []
        self.svgs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.labelled.add(str(a["for"]))
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a | {"_wrapped": "yes" if self.open_labels else None})
        elif tag == "script":
            self.scripts.append(a)
        elif tag == "svg":
            self.svgs.append(a)
        for name in ("src", "href"):
            value = a.get(name) or ""
            if tag in ("script", "img", "link", "iframe") and value.startswith(("http://", "https://", "//")):
                self.external.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1


ROLE_PAGES = {
    "olu-operator": [
        "/console/",
        "/console/node/",
        "/console/jobs/",
        "/console/network/",
        "/console/institutions/",
        "/console/publishers/",
    ],
    "nadia-netadmin": ["/console/network/admin/"],
    "bola-board": ["/console/board/", "/console/board/propose"],
    "muhas-library": ["/console/institution/"],
}


@pytest.mark.parametrize("lang", ["", "/fr", "/es", "/pt"])
def test_every_console_page_is_light_labelled_and_in_the_readers_language(console: Console, lang: str) -> None:
    for username, paths in ROLE_PAGES.items():
        with console.client(username) as c:
            for path in paths:
                r = c.get(lang + path)
                assert r.status_code == 200, (username, lang + path)
                assert f'<html lang="{lang.strip("/") or "en"}"' in r.text, path
                assert len(r.content) < 150_000, (path, len(r.content))  # light on a slow link
                page = _Form()
                page.feed(r.text)
                assert page.external == [], path  # nothing loaded from elsewhere
                for control in page.controls:  # every field has a label a screen reader reads
                    named = control.get("aria-label") or control.get("_wrapped") or control.get("id") in page.labelled
                    assert named, (path, control)
                for script in page.scripts:  # only the console's own files, and only where a task needs them
                    assert str(script.get("src", "")).startswith(lang + "/console/assets/"), (path, script)
                for svg in page.svgs:
                    assert svg.get("role") == "img" and svg.get("aria-labelledby"), (path, svg)
                if not page.scripts:
                    assert "script-src" not in r.headers["content-security-policy"], path
