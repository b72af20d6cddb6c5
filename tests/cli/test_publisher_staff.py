"""``strongroom publisher-staff`` as an operator runs it (in a subprocess): the account it creates signs in to the
publisher pages; a publisher that does not exist, a short password, a taken username or two password sources are
refused with a clear message and the documented exit code, and nothing is created."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from strongroom.errors import ExitCode, StrongroomError
from strongroom.ingest.deposit import DepositOptions
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.services.accounts import MIN_PASSWORD

PASSWORD = "correct horse battery"


def run(home: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "strongroom.cli.main", "publisher-staff", *args, "--home", str(home)]
    return subprocess.run(
        cmd,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
        timeout=300,
    )


@pytest.fixture
def publisher(node: Node, sample_dir: Path) -> str:
    """The key of the publisher of one deposited sample title."""
    node.ingest.deposit(sample_dir / "east-african-journal-of-public-health-2024-jats", DepositOptions(platform="ojs"))
    [(p, *_)] = node.catalog.publishers()
    return str(p.key)


def test_the_account_it_creates_signs_in_to_the_publisher_pages(node: Node, publisher: str) -> None:
    home = node.settings.home
    made = run(home, publisher, "amina", "--named", "Amina Otieno", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert f"Account amina created for {publisher}'s staff (Amina Otieno)." in made.stdout
    assert PASSWORD not in made.stdout + made.stderr
    staff = node.publishers.staff(node.accounts.sign_in("amina", PASSWORD, "10.0.0.1"))
    assert staff is not None and staff.publisher_key == publisher and staff.display_name == "Amina Otieno"
    c = TestClient(create_portal(node), base_url="http://127.0.0.1:8080")
    signin = c.post("/signin", data={"username": "amina", "password": PASSWORD}, follow_redirects=False)
    assert signin.status_code == 303 and signin.headers["location"] == "/publisher/"
    assert "East African Journal of Public Health" in c.get("/publisher/").text
    assert any("amina" in e.detail for e in node.catalog.events(object_key=publisher))

    # the other ways to give the password, for scripts
    secret = home / "pw.txt"
    secret.write_text(PASSWORD + "\n")
    assert run(home, publisher, "baraka", "--password-file", str(secret)).returncode == 0
    assert run(home, publisher, "chege", "--password-env", "SR_PW", env={"SR_PW": PASSWORD}).returncode == 0
    for username in ("baraka", "chege"):
        assert node.publishers.staff(node.accounts.sign_in(username, PASSWORD, "10.0.0.2")) is not None

    taken = run(home, publisher, "amina", "--password-stdin", stdin=PASSWORD + "\n")
    assert taken.returncode == ExitCode.REFUSED and "the username 'amina' is taken" in taken.stderr


def test_a_publisher_that_does_not_exist_is_not_found(node: Node, publisher: str) -> None:
    r = run(node.settings.home, "no-such-publisher", "dawit", "--password-stdin", stdin=PASSWORD + "\n")
    assert r.returncode == ExitCode.NOT_FOUND == 4
    assert "no publisher 'no-such-publisher'" in r.stderr and "strongroom publishers" in r.stderr
    assert "Traceback" not in r.stderr and "created" not in r.stdout
    with pytest.raises(StrongroomError):
        node.accounts.sign_in("dawit", PASSWORD, "10.0.0.3")


def test_a_short_password_is_refused_with_the_rule(node: Node, publisher: str) -> None:
    short = "x" * (MIN_PASSWORD - 1)
    r = run(node.settings.home, publisher, "esi", "--password-stdin", stdin=short + "\n")
    assert r.returncode == ExitCode.REFUSED
    assert f"a password needs at least {MIN_PASSWORD} characters" in r.stderr
    assert short not in r.stdout + r.stderr and "Traceback" not in r.stderr
    with pytest.raises(StrongroomError):
        node.accounts.sign_in("esi", short, "10.0.0.4")


def test_two_password_sources_or_a_missing_variable_are_usage_errors(node: Node, publisher: str) -> None:
    home = node.settings.home
    both = run(home, publisher, "fola", "--password-stdin", "--password-env", "SR_PW", env={"SR_PW": PASSWORD})
    assert both.returncode == ExitCode.USAGE and "give one of" in both.stderr
    unset = run(home, publisher, "fola", "--password-env", "SR_NOT_SET_ANYWHERE")
    assert unset.returncode == ExitCode.USAGE and "SR_NOT_SET_ANYWHERE is not set" in unset.stderr
    # the command has no --json: its one line of output is the answer, and an unknown option is a usage error
    assert run(home, publisher, "fola", "--json").returncode == ExitCode.USAGE
