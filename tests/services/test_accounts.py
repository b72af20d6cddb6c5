"""Sign-in throttling: failures count per (address, account), so a stranger cannot lock an institution's shared
account; a ceiling per account slows guessing from many addresses without locking the account."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.domain.access import InstitutionStatus
from strongroom.node import Node
from strongroom.samples import eligibility as samples
from strongroom.services.accounts import ACCOUNT_CEILING, MAX_FAILURES, SignInRefused, SignInThrottled
from strongroom.services.institutions import Contact

PASSWORD = "correct horse battery"


@pytest.fixture
def account(node: Node, tmp_path: Path) -> Node:
    node.eligibility.import_indicators("world-bank", samples.write_world_bank(tmp_path / "wb.csv"), source="s")
    node.eligibility.import_indicators("hdr", samples.write_hdr(tmp_path / "hdr.csv"), source="s")
    inst = node.institutions.register(
        name="University of Ghana",
        type="university",
        country="GH",
        address="",
        director=Contact("D", "d@ug.example.edu.gh"),
        librarian=Contact("L", "l@ug.example.edu.gh"),
    )
    node.institutions.move(inst.key, InstitutionStatus.VALIDATED, by="staff")
    node.accounts.create_account(inst.key, "ug-library", PASSWORD)
    return node


def fail(node: Node, address: str, username: str = "ug-library") -> None:
    with pytest.raises(SignInRefused):
        node.accounts.sign_in(username, "a wrong guess", address)


def test_failures_from_one_address_do_not_stop_another(account: Node) -> None:
    for _ in range(MAX_FAILURES):
        fail(account, "198.51.100.7")
    with pytest.raises(SignInThrottled, match="too many failed sign-ins from your address"):
        account.accounts.sign_in("ug-library", PASSWORD, "198.51.100.7")  # even the right password, from there
    assert account.accounts.sign_in("ug-library", PASSWORD, "41.204.1.1")  # the university signs in
    assert account.accounts.sign_in("ug-library", PASSWORD, "2001:db8::1")


def test_guessing_from_many_addresses_is_slowed_not_locked(account: Node) -> None:
    addresses = [f"203.0.113.{n}" for n in range(ACCOUNT_CEILING // 2)]
    for address in addresses:
        fail(account, address)
        fail(account, address)
    # past the ceiling each address gets one try: those that failed are stopped, a new one may still try
    with pytest.raises(SignInThrottled):
        account.accounts.sign_in("ug-library", PASSWORD, addresses[0])
    fail(account, "192.0.2.1")
    with pytest.raises(SignInThrottled):
        account.accounts.sign_in("ug-library", PASSWORD, "192.0.2.1")
    assert account.accounts.sign_in("ug-library", PASSWORD, "41.204.1.1")  # the account is not locked
    # other accounts are not affected by this one's ceiling
    fail(account, addresses[0], username="someone-else")
