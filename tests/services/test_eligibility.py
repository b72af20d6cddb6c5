"""Eligibility from the publishers' own files: imports recorded with their source, every country's status
explained, the official list deciding, disagreements shown for review, overrides with reasons, bad files refused."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from pathlib import Path

import pytest

from strongroom.domain.eligibility import Group
from strongroom.errors import NotFound
from strongroom.formats.indicators import IndicatorFileError
from strongroom.node import Node
from strongroom.samples import eligibility as samples
from tests_support import cli


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "world-bank": samples.write_world_bank(tmp_path / "API_NY.GNP.ATLS.CD.csv"),
        "hdr": samples.write_hdr(tmp_path / "HDR23-24_Composite_indices.csv"),
        "ldc": samples.write_ldc(tmp_path / "ldc.txt"),
        "list": samples.write_official_list(tmp_path / "official.csv"),
    }


def load(node: Node, files: dict[str, Path], *, official: bool = True) -> None:
    node.eligibility.import_indicators("world-bank", files["world-bank"], source="data.worldbank.org (sample)")
    node.eligibility.import_indicators("hdr", files["hdr"], source="hdr.undp.org (sample)")
    node.eligibility.import_indicators("ldc", files["ldc"], source="UN LDC list (sample)", year=2023)
    if official:
        node.eligibility.import_official_list(files["list"], source="R4L list (sample)", effective=dt.date(2024, 1, 1))


@pytest.mark.parametrize(
    ("country", "group", "rule"),
    [
        ("TZ", "A", "A1"),
        ("SN", "A", "A1"),
        ("KE", "A", "A3"),
        ("GH", "A", "A3"),
        ("MD", "B", "B2"),
        ("UA", "B", "B3"),
        ("IN", "none", "NE1"),
        ("KG", "A", "A3"),
    ],
)
def test_each_country_is_explained_by_the_rules(
    node: Node, files: dict[str, Path], country: str, group: str, rule: str
) -> None:
    load(node, files, official=False)
    st = node.eligibility.status(country)  # for this year (the clock's 2026), from the newest data before it
    assert st.year == 2026 and str(st.computed.group) == group and st.decided_by == "rules" and st.final == group
    assert st.computed.matched[0].startswith(f"{rule}: ")
    assert st.years_used["gni"] == 2023 and st.years_used["hdi"] == 2022  # the newest HDI is a year older
    assert st.ldc_year == 2023 and "GNI 2023" in st.basis and "HDI 2022" in st.basis


def test_the_ldc_list_in_force_applies_to_indicators_of_earlier_years(node: Node, files: dict[str, Path]) -> None:
    """Research4Life's list for a year uses the newest indicators published before it (GNI lags a year or two)
    and the UN LDC list in force in that year: an LDC list for 2024 applies with GNI of 2023."""
    node.eligibility.import_indicators("world-bank", files["world-bank"], source="wb")  # GNI 2022 and 2023
    node.eligibility.import_indicators("hdr", files["hdr"], source="hdr")  # HDI 2021 and 2022
    node.eligibility.import_indicators("ldc", files["ldc"], source="UN LDC list 2024", year=2024)
    bd = node.eligibility.status("Bangladesh")  # this year: 2026
    assert bd.final == "A" and bd.computed.matched[0].startswith("A1: ") and bd.indicators.ldc is True
    assert bd.years_used == {"gni": 2023, "gni_per_capita": 2023, "hdi": 2022} and bd.ldc_year == 2024
    assert bd.basis == (
        "eligibility for 2026 from the newest indicators published before it "
        "(GNI 2023, GNI per capita 2023, HDI 2022) and the UN LDC list for 2024"
    )
    for_2025 = node.eligibility.status("BD", year=2025)
    assert for_2025.final == "A" and for_2025.years_used["gni"] == 2023 and for_2025.ldc_year == 2024
    for_2024 = node.eligibility.status("BD", year=2024)  # the year the LDC list is for
    assert for_2024.final == "A" and for_2024.years_used["gni"] == 2023 and for_2024.ldc_year == 2024
    # before the list took effect there is no LDC list in force: A1 is undecided and said so, never guessed
    for_2023 = node.eligibility.status("BD", year=2023)
    assert for_2023.ldc_year is None and for_2023.indicators.ldc is None and for_2023.final == "none"
    assert for_2023.years_used["gni"] == 2022
    assert any(
        "no UN LDC list imported for 2023 or before (the lists imported are for 2024)" in n for n in for_2023.notes
    )


def test_the_official_list_decides_and_disagreements_are_shown(node: Node, files: dict[str, Path]) -> None:
    load(node, files)
    kg = node.eligibility.status("Kyrgyzstan")
    assert kg.computed.group is Group.A and kg.listed == "B" and kg.final == "B" and kg.decided_by == "official list"
    assert kg.disagreement
    india = node.eligibility.status("IN")
    assert india.final == "none" and not india.disagreement  # not listed, not eligible by the rules: they agree
    report = node.eligibility.report()
    assert [r.country for r in report if r.disagreement] == ["KG"]
    # with the rules as of 2023 (before the list took effect) the rules decide
    assert node.eligibility.status("KG", year=2023).decided_by == "rules"


def test_an_override_with_a_reason_decides_over_both(node: Node, files: dict[str, Path]) -> None:
    load(node, files)
    with pytest.raises(Exception, match="needs a reason"):
        node.eligibility.override("UA", Group.A, reason=" ", by="staff")
    node.eligibility.override("UA", Group.A, reason="publishers' decision, 2022", by="ana")
    ua = node.eligibility.status("UA")
    assert ua.final == "A" and ua.decided_by == "override" and ua.override is not None
    assert ua.override["reason"] == "publishers' decision, 2022" and ua.override["by"] == "ana"
    node.eligibility.override("UA", Group.B, reason="decision withdrawn", by="ana")
    assert node.eligibility.status("UA").final == "B"  # the newest override is the one in force
    events = node.catalog.events(type="eligibility")
    assert any("override: group B" in e.detail for e in events)
    assert any("from data.worldbank.org (sample)" in e.detail for e in events)  # imports keep their source


def test_an_override_can_be_lifted(node: Node, files: dict[str, Path]) -> None:
    load(node, files)
    node.eligibility.override("UA", Group.A, reason="publishers' decision, 2022", by="ana")
    with pytest.raises(Exception, match="needs a reason"):
        node.eligibility.clear_override("UA", reason="", by="ana")
    node.eligibility.clear_override("Ukraine", reason="the 2022 decision has ended", by="ana")
    ua = node.eligibility.status("UA")
    assert ua.final == "B" and ua.decided_by == "official list" and ua.override is None
    assert any(
        e.detail == "override lifted: group A no longer decided by hand (the 2022 decision has ended)"
        for e in node.catalog.events(type="eligibility")
    )
    with pytest.raises(NotFound, match="no override is in force for UA"):
        node.eligibility.clear_override("UA", reason="again", by="ana")


def test_the_cli_lifts_an_override(tmp_path: Path, db_url: str, files: dict[str, Path]) -> None:
    sr = cli(tmp_path / "home")
    assert sr("init", "--database-url", db_url).returncode == 0
    assert sr("eligibility-import", "world-bank", str(files["world-bank"]), "--source", "wb").returncode == 0
    assert sr("eligibility-override", "MD", "A", "--reason", "a test").returncode == 0
    assert json.loads(sr("eligibility", "MD", "--json").stdout)["decided_by"] == "override"
    assert sr("eligibility-override", "MD", "A", "--clear", "--reason", "x").returncode == 2  # one or the other
    lifted = sr("eligibility-override", "MD", "--clear", "--reason", "the test is over")
    assert (
        lifted.returncode == 0
        and "MD: override lifted (the test is over); now B, decided by the rules" in lifted.stdout
    )
    again = sr("eligibility-override", "MD", "--clear", "--reason", "again")
    assert again.returncode == 4 and "no override is in force for MD" in again.stderr


def test_bad_files_are_refused_with_the_reason(node: Node, files: dict[str, Path], tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    with pytest.raises(IndicatorFileError, match="not a World Bank indicator CSV"):
        node.eligibility.import_indicators("world-bank", wrong, source="x")
    with pytest.raises(IndicatorFileError, match="not a UNDP HDR"):
        node.eligibility.import_indicators("hdr", wrong, source="x")
    ldc = tmp_path / "ldc.txt"
    ldc.write_text("Tanzania\nAtlantis\n")
    with pytest.raises(IndicatorFileError, match="line 2: 'Atlantis' is not a country"):
        node.eligibility.import_indicators("ldc", ldc, source="x", year=2023)
    listed = tmp_path / "list.csv"
    listed.write_text("country,group\nTZ,C\n")
    with pytest.raises(IndicatorFileError, match="line 2: group 'C' is not A or B"):
        node.eligibility.import_official_list(listed, source="x", effective=dt.date(2024, 1, 1))
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(IndicatorFileError, match="not UTF-8"):
        node.eligibility.import_indicators("hdr", binary, source="x")
    assert node.eligibility.report() and all(r.computed.matched == [] for r in node.eligibility.report())


def test_the_cli(tmp_path: Path, db_url: str, files: dict[str, Path]) -> None:
    home = tmp_path / "home"

    sr = cli(home)

    assert sr("init", "--database-url", db_url).returncode == 0
    assert sr("eligibility-import", "world-bank", str(files["world-bank"]), "--source", "wb").returncode == 0
    assert sr("eligibility-import", "hdr", str(files["hdr"]), "--source", "hdr").returncode == 0
    missing_year = sr("eligibility-import", "ldc", str(files["ldc"]), "--source", "un")
    assert missing_year.returncode != 0 and "--year" in missing_year.stderr
    ldc = sr("eligibility-import", "ldc", str(files["ldc"]), "--source", "un", "--year", "2023")
    assert ldc.returncode == 0 and "The UN LDC list for 2023 applies to eligibility for 2023 and later" in ldc.stdout
    assert (
        sr(
            "eligibility-import", "official-list", str(files["list"]), "--source", "r4l", "--effective", "2024-01-01"
        ).returncode
        == 0
    )
    shown = sr("eligibility", "Kenya")
    assert shown.returncode == 0 and "Group A (free access), decided by the official list" in shown.stdout
    assert "A3: total GNI ≤ US$150bn" in shown.stdout
    data = json.loads(sr("eligibility", "KG", "--json").stdout)
    assert data["disagreement"] and data["final"] == "B" and data["computed"] == "A"
    report = json.loads(sr("eligibility-report", "--disagreements", "--json").stdout)
    assert [r["country"] for r in report] == ["KG"]
    assert sr("eligibility", "Atlantis").returncode != 0


DOC_FILES = {
    "API_NY.GNP.ATLS.CD.csv": samples.write_world_bank,
    "API_NY.GNP.PCAP.CD.csv": samples.write_world_bank,
    "HDR23-24_Composite_indices_complete_time_series.csv": samples.write_hdr,
    "ldc-2024.txt": samples.write_ldc,
    "hale.csv": samples.write_hale,
    "r4l-2025.csv": samples.write_official_list,
}


def test_following_the_docs_gives_what_they_say(tmp_path: Path, db_url: str) -> None:
    """The eligibility commands of docs/eligibility.md, run as written (the sample files standing in for the
    downloads): the LDC list imported for 2024 applies with the World Bank's 2023 GNI, so Bangladesh is Group A
    by rule A1 and agrees with the official list."""
    doc = (Path(__file__).parents[2] / "docs" / "eligibility.md").read_text(encoding="utf-8")
    block = doc.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line, comments=True) for line in block.splitlines() if line.startswith("strongroom ")]
    assert [c[1] for c in commands][:6] == ["eligibility-import"] * 6
    sr = cli(tmp_path / "home")
    assert sr("init", "--database-url", db_url).returncode == 0
    for command in commands:
        args = [str(DOC_FILES[a](tmp_path / a)) if a in DOC_FILES else a for a in command[1:]]
        done = sr(*args)
        assert done.returncode == 0, (command, done.stderr)
    shown = sr("eligibility", "Bangladesh")
    assert "Group A (free access), decided by the official list" in shown.stdout
    assert "A1: on the UN Least Developed Countries list" in shown.stdout
    assert "GNI 2023" in shown.stdout and "the UN LDC list for 2024" in shown.stdout
    assert "disagree" not in shown.stdout
    report = json.loads(sr("eligibility-report", "--disagreements", "--json").stdout)
    assert [r["country"] for r in report] == ["KG"]
