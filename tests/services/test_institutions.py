"""Institutions: registration edge cases (excluded types, duplicates, overlapping ranges, ineligible countries),
the verification workflow with its audit trail, Group B trial and payment, reminders, flags when a country's group
changes, and readers recognised by IPv4 and IPv6 address."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from strongroom.domain.access import InstitutionStatus, ItemState, decide
from strongroom.domain.eligibility import Group
from strongroom.errors import StrongroomError
from strongroom.node import Node
from strongroom.samples import eligibility as samples
from strongroom.services.institutions import Contact, RegistrationRefused
from tests_support import cli

DIRECTOR = Contact("Dr Amina Juma", "director@muhas.example.ac.tz")
LIBRARIAN = Contact("Grace Mushi", "library@muhas.example.ac.tz")


@pytest.fixture
def programme(node: Node, tmp_path: Path) -> Node:
    node.eligibility.import_indicators("world-bank", samples.write_world_bank(tmp_path / "wb.csv"), source="s")
    node.eligibility.import_indicators("hdr", samples.write_hdr(tmp_path / "hdr.csv"), source="s")
    node.eligibility.import_indicators("ldc", samples.write_ldc(tmp_path / "ldc.txt"), source="s", year=2023)
    return node


def register(
    node: Node,
    name: str = "Muhimbili University of Health and Allied Sciences",
    country: str = "TZ",
    kind: str = "university",
    ranges: tuple[str, ...] = ("196.44.160.0/20",),
) -> str:
    return node.institutions.register(
        name=name,
        type=kind,
        country=country,
        address="Dar es Salaam",
        director=DIRECTOR,
        librarian=LIBRARIAN,
        ip_ranges=ranges,
    ).key


def test_excluded_types_and_countries_are_refused_with_the_reason(programme: Node) -> None:
    with pytest.raises(RegistrationRefused, match="international and regional organisations"):
        register(programme, "WHO Country Office", kind="international-organisation")
    with pytest.raises(RegistrationRefused, match="member associations and societies"):
        register(programme, "Tanzania Medical Association", kind="association")
    with pytest.raises(RegistrationRefused, match="commercial companies"):
        register(programme, "Pharma Ltd", kind="company")
    with pytest.raises(RegistrationRefused, match="institutions in IN are not eligible"):
        register(programme, "All India Institute", country="IN")
    with pytest.raises(RegistrationRefused, match="both needed"):
        programme.institutions.register(
            name="X",
            type="university",
            country="TZ",
            address="",
            director=Contact("", "x@y.org"),
            librarian=LIBRARIAN,
        )


def test_duplicates_by_similar_name_or_shared_addresses_are_refused(programme: Node) -> None:
    first = register(programme)
    with pytest.raises(RegistrationRefused, match=f"looks like .*{first}"):
        register(programme, "Muhimbili Univ. of Health & Allied Sciences", ranges=())
    with pytest.raises(RegistrationRefused, match=f"overlaps 196.44.160.0/20 of .*{first}"):
        register(programme, "Kilimanjaro Christian Medical College", ranges=("196.44.170.0/24",))
    with pytest.raises(RegistrationRefused, match="overlap"):
        register(programme, "Ifakara Health Institute", ranges=("10.0.0.0/16", "10.0.1.0/24"))
    with pytest.raises(RegistrationRefused, match="not an IP address"):
        register(programme, "Ifakara Health Institute", ranges=("10.0.0.0/33",))
    register(programme, "Ifakara Health Institute", kind="research-institute", ranges=("2001:db8:1::/48",))
    with pytest.raises(RegistrationRefused, match="overlaps 2001:db8:1::/48"):
        register(programme, "Mbeya Zonal Referral Hospital", kind="teaching-hospital", ranges=("2001:db8:1:5::/64",))


def test_the_workflow_and_its_audit_trail(programme: Node) -> None:
    key = register(programme)
    with pytest.raises(StrongroomError, match="give the reason"):
        programme.institutions.move(key, InstitutionStatus.SUSPENDED, by="staff")
    with pytest.raises(StrongroomError, match="is pending; it cannot become suspended"):
        programme.institutions.move(key, InstitutionStatus.SUSPENDED, by="staff", reason="x")
    inst = programme.institutions.move(key, InstitutionStatus.VALIDATED, by="ana")
    assert inst.group_at_validation == "A" and inst.trial_until is None  # group A: no trial, no fee
    programme.institutions.move(key, InstitutionStatus.SUSPENDED, by="ana", reason="credentials shared")
    programme.institutions.move(key, InstitutionStatus.VALIDATED, by="ana")
    trail = [e.detail for e in reversed(programme.catalog.events(object_key=key))]
    assert trail[0].startswith("registered by web form") and trail[1] == "pending -> validated"
    assert trail[2] == "validated -> suspended: credentials shared" and trail[3] == "suspended -> validated"


def test_group_b_trial_payment_reminders_and_lapse(programme: Node) -> None:
    key = register(programme, "Moldova State University", country="MD", ranges=("89.28.0.0/16",))
    inst = programme.institutions.move(key, InstitutionStatus.VALIDATED, by="ana")
    today = programme.clock.now().date()
    assert inst.group_at_validation == "B" and inst.trial_until == today + dt.timedelta(days=183)
    reader = programme.institutions.recognise("89.28.4.7")
    assert reader.group == "B" and decide(ItemState.ENROLLED, frozenset("AB"), reader, today).allow
    after_trial = inst.trial_until + dt.timedelta(days=1)
    lapsed = decide(ItemState.ENROLLED, frozenset("AB"), reader, after_trial)
    assert not lapsed.allow and "lapsed" in lapsed.reason and "renew" in lapsed.next_step
    assert programme.institutions.reminders(within_days=200) == [(key, "trial", inst.trial_until.isoformat())]
    assert programme.institutions.reminders(within_days=30) == []
    programme.institutions.record_payment(key, after_trial + dt.timedelta(days=365), by="finance")
    paid = programme.institutions.recognise("89.28.4.7")
    assert decide(ItemState.ENROLLED, frozenset("AB"), paid, after_trial).allow


def test_recognition_by_address_and_flags_when_a_country_changes_group(programme: Node) -> None:
    a = register(programme)
    b = register(programme, "Ifakara Health Institute", kind="research-institute", ranges=("2001:db8:1::/48",))
    for key in (a, b):
        programme.institutions.move(key, InstitutionStatus.VALIDATED, by="ana")
    assert programme.institutions.recognise("196.44.175.9").institution.startswith("Muhimbili")
    assert programme.institutions.recognise("2001:db8:1:ffff::1").institution == "Ifakara Health Institute"
    assert programme.institutions.recognise("196.44.176.1").institution is None  # just outside the /20
    assert programme.institutions.recognise("not-an-address").institution is None
    assert programme.institutions.flags() == []
    programme.eligibility.override("TZ", Group.B, reason="graduated from the LDC list", by="staff")
    assert {f[0] for f in programme.institutions.flags()} == {a, b}
    assert programme.institutions.flags()[0][2:] == ("A", "B")


def test_the_cli(tmp_path: Path, db_url: str) -> None:
    import json

    home = tmp_path / "home"

    sr = cli(home)

    assert sr("init", "--database-url", db_url).returncode == 0
    for kind, f in (
        ("world-bank", samples.write_world_bank(tmp_path / "wb.csv")),
        ("hdr", samples.write_hdr(tmp_path / "hdr.csv")),
    ):
        assert sr("eligibility-import", kind, str(f), "--source", "s").returncode == 0
    contacts = ["--director", "Ion Rusu", "rector@usm.example.md", "--librarian", "Ana Popa", "lib@usm.example.md"]
    done = sr(
        "institution",
        "register",
        "Moldova State University",
        "--type",
        "university",
        "--country",
        "MD",
        *contacts,
        "--ip",
        "89.28.0.0/16",
        "--ip",
        "2a02:2f0c:1::/48",
    )
    assert done.returncode == 0, done.stderr
    refused = sr(
        "institution", "register", "Moldovan Chemists' Society", "--type", "association", "--country", "MD", *contacts
    )
    assert refused.returncode != 0 and "member associations and societies are not eligible" in refused.stderr
    validated = sr("institution", "validate", "I-00001")
    assert validated.returncode == 0 and "group B trial until" in validated.stdout
    [row] = json.loads(sr("institutions", "--json").stdout)
    assert row["status"] == "validated" and row["ip_ranges"] == ["89.28.0.0/16", "2a02:2f0c:1::/48"]
    assert json.loads(sr("institution", "reminders", "--within", "400", "--json").stdout)[0]["what"] == "trial"
    assert sr("institution", "suspend", "I-00001").returncode == 2  # the reason is required
