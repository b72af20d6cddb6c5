"""Eligibility from the publishers' own files: imports recorded with their source, every country's status
explained, the official list deciding, disagreements shown for review, overrides with reasons, bad files refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from strongroom.domain.eligibility import Group
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
    st = node.eligibility.status(country)
    assert st.year == 2023 and str(st.computed.group) == group and st.decided_by == "rules" and st.final == group
    assert st.computed.matched[0].startswith(f"{rule}: ")
    assert st.years_used["gni"] == 2023 and st.years_used["hdi"] == 2022  # the newest HDI is a year older
    assert any("hdi is from 2022" in n for n in st.notes)


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
    assert sr("eligibility-import", "ldc", str(files["ldc"]), "--source", "un", "--year", "2023").returncode == 0
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
