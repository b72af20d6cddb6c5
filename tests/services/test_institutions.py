"""Institutions: registration edge cases (excluded types, duplicates, overlapping ranges, ineligible countries),
the verification workflow with its audit trail, Group B trial and payment, reminders, flags when a country's group
changes, and readers recognised by IPv4 and IPv6 address."""

from __future__ import annotations

import datetime as dt
import re
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


def test_duplicates_of_verified_institutions_are_refused_without_naming_them(programme: Node) -> None:
    first = register(programme)
    programme.institutions.move(first, InstitutionStatus.VALIDATED, by="ana")
    with pytest.raises(
        RegistrationRefused, match="looks like an institution the programme has already registered"
    ) as e:
        register(programme, "Muhimbili Univ. of Health & Allied Sciences", ranges=())
    assert first not in str(e.value) and "Muhimbili University" not in str(e.value)
    with pytest.raises(
        RegistrationRefused, match="overlaps the network of an institution already in the programme"
    ) as e:
        register(programme, "Kilimanjaro Christian Medical College", ranges=("196.44.170.0/24",))
    assert first not in str(e.value) and "Muhimbili" not in str(e.value) and "196.44.160.0/20" not in str(e.value)
    with pytest.raises(RegistrationRefused, match="overlap"):
        register(programme, "Ifakara Health Institute", ranges=("10.0.0.0/16", "10.0.1.0/24"))
    with pytest.raises(RegistrationRefused, match="not an IP address"):
        register(programme, "Ifakara Health Institute", ranges=("10.0.0.0/33",))
    ifakara = register(programme, "Ifakara Health Institute", kind="research-institute", ranges=("2001:db8:1::/48",))
    programme.institutions.move(ifakara, InstitutionStatus.VALIDATED, by="ana")
    with pytest.raises(RegistrationRefused, match="2001:db8:1:5::/64 overlaps the network of an institution"):
        register(programme, "Mbeya Zonal Referral Hospital", kind="teaching-hospital", ranges=("2001:db8:1:5::/64",))


def test_a_pending_registration_blocks_nobody(programme: Node) -> None:
    """A squatter's pending registration of a university's network neither stops the university registering it
    nor being validated with it; the squatter can no longer be validated with it, and readers there are the
    university's."""
    with pytest.raises(RegistrationRefused, match=re.escape("41.0.0.0/8 is too wide to be one institution's network")):
        register(programme, "Tanzania Network Research Centre", kind="research-institute", ranges=("41.0.0.0/8",))
    squatter = register(
        programme, "Tanzania Network Research Centre", kind="research-institute", ranges=("41.89.0.0/16",)
    )
    university = register(programme, "University of Dar es Salaam", ranges=("41.89.0.0/16",))
    also = register(programme, "University of Dar es Salaam, again", ranges=())  # a pending name blocks nobody either
    programme.institutions.move(university, InstitutionStatus.VALIDATED, by="ana")
    assert programme.institutions.recognise("41.89.3.4").key == university  # not the squatter's pending claim
    with pytest.raises(
        RegistrationRefused, match=f"overlaps 41.89.0.0/16 of University of Dar es Salaam \\({university}\\)"
    ):
        programme.institutions.move(squatter, InstitutionStatus.VALIDATED, by="ana")  # staff see whose it is
    with pytest.raises(RegistrationRefused, match=f"looks like University of Dar es Salaam \\({university}\\)"):
        programme.institutions.move(also, InstitutionStatus.VALIDATED, by="ana")
    programme.institutions.move(squatter, InstitutionStatus.REJECTED, by="ana", reason="not its network")


def test_networks_are_limited_confirmed_at_validation_and_changed_by_staff(programme: Node) -> None:
    for wide in ("196.44.0.0/15", "2001:db8::/31"):
        with pytest.raises(RegistrationRefused, match="too wide"):
            register(programme, ranges=(wide,))
    key = register(programme, ranges=("196.44.0.0/16", "2001:db8::/32"))  # the widest a registration may ask
    assert programme.institutions.requested_ranges(key) == ["196.44.0.0/16", "2001:db8::/32"]
    assert programme.institutions.recognise("196.44.1.1").status is InstitutionStatus.PENDING
    # staff check them with the institution and confirm a correction
    programme.institutions.move(key, InstitutionStatus.VALIDATED, by="ana", ranges=("196.44.160.0/20",))
    assert programme.institutions.requested_ranges(key) == ["196.44.160.0/20"]
    assert programme.institutions.recognise("196.44.1.1").institution is None
    assert programme.institutions.recognise("196.44.161.1").key == key
    trail = [e.detail for e in programme.catalog.events(object_key=key)]
    assert "pending -> validated; networks confirmed: 196.44.160.0/20" in trail
    # and change them later: add, remove, refused where another verified institution is
    after = programme.institutions.change_ranges(key, add=("2001:db8:5::/48",), remove=("196.44.160.0/20",), by="ana")
    assert after == ["2001:db8:5::/48"] and programme.institutions.recognise("2001:db8:5::9").key == key
    assert programme.institutions.recognise("196.44.161.1").institution is None
    with pytest.raises(StrongroomError, match=re.escape("has no network 10.0.0.0/8")):
        programme.institutions.change_ranges(key, remove=("10.0.0.0/8",), by="ana")
    other = register(programme, "Ifakara Health Institute", kind="research-institute", ranges=("10.1.0.0/16",))
    programme.institutions.move(other, InstitutionStatus.VALIDATED, by="ana")
    with pytest.raises(RegistrationRefused, match=f"overlaps 10.1.0.0/16 of Ifakara Health Institute \\({other}\\)"):
        programme.institutions.change_ranges(key, add=("10.0.0.0/14",), by="ana")
    assert (
        programme.institutions.change_ranges(key, add=("10.8.0.0/13",), by="ana")[-1] == "10.8.0.0/13"
    )  # staff: wider
    assert any(
        d.startswith("networks changed by ana") for d in (e.detail for e in programme.catalog.events(object_key=key))
    )


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
    assert trail[0].startswith("registered by web form")
    assert trail[1] == "pending -> validated; networks confirmed: 196.44.160.0/20"
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


def test_reminders_read_only_what_lapses_and_flags_only_the_countries_that_moved(programme: Node) -> None:
    soon = register(programme, "Moldova State University", country="MD", ranges=("89.28.0.0/16",))
    renewed = register(programme, "Technical University of Moldova", country="MD", ranges=("89.29.0.0/16",))
    free = register(programme)  # Tanzania: Group A, validated with no trial
    for key in (soon, renewed, free):
        programme.institutions.move(key, InstitutionStatus.VALIDATED, by="ana")
    today = programme.clock.now().date()
    # the trial lapses within the window, but the payment runs on past it: no reminder for that one
    programme.institutions.record_payment(renewed, today + dt.timedelta(days=400), by="finance")
    trial_end = (today + dt.timedelta(days=183)).isoformat()
    assert programme.institutions.reminders(within_days=200) == [(soon, "trial", trial_end)]
    assert programme.institutions.flags() == []
    programme.eligibility.override("MD", Group.A, reason="moved to Group A", by="staff")
    assert programme.institutions.reminders(within_days=200) == []  # Group A now: nothing to pay
    # Moldova moved (B -> A), Tanzania did not: its institution is not read into the flags
    assert programme.institutions.flags() == [(soon, "MD", "B", "A"), (renewed, "MD", "B", "A")]


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
    unconfirmed = sr("institution", "validate", "I-00001")  # the networks asked for must be confirmed
    assert (
        unconfirmed.returncode == 2 and "asked to be recognised by 89.28.0.0/16, 2a02:2f0c:1::/48" in unconfirmed.stderr
    )
    assert json.loads(sr("institutions", "--json").stdout)["institutions"][0]["status"] == "pending"
    validated = sr("institution", "validate", "I-00001", "--as-asked")
    assert validated.returncode == 0 and "group B trial until" in validated.stdout
    assert "networks: 89.28.0.0/16, 2a02:2f0c:1::/48" in validated.stdout
    [row] = json.loads(sr("institutions", "--json").stdout)["institutions"]
    assert row["status"] == "validated" and row["ip_ranges"] == ["89.28.0.0/16", "2a02:2f0c:1::/48"]
    assert json.loads(sr("institution", "reminders", "--within", "400", "--json").stdout)[0]["what"] == "trial"
    assert sr("institution", "suspend", "I-00001").returncode == 2  # the reason is required
    changed = sr("institution", "ranges", "I-00001", "--add", "89.29.0.0/16", "--remove", "2a02:2f0c:1::/48")
    assert changed.returncode == 0 and "I-00001: 89.28.0.0/16, 89.29.0.0/16" in changed.stdout
    assert json.loads(sr("institution", "ranges", "I-00001", "--json").stdout)["ip_ranges"] == [
        "89.28.0.0/16",
        "89.29.0.0/16",
    ]
    assert sr("institution", "pay", "I-00001", "--through", "2027-06-30").returncode == 0
    # a Group A institution has free access: paying is refused, and it is never reminded
    assert sr("eligibility-override", "MD", "A", "--reason", "test").returncode == 0
    refused = sr("institution", "pay", "I-00001", "--through", "2028-06-30")
    assert (
        refused.returncode == 3 and "a Group A country: its access is free, there is nothing to pay" in refused.stderr
    )
    assert json.loads(sr("institution", "reminders", "--within", "4000", "--json").stdout) == []
