"""The eligibility rules on the published thresholds, with values on both sides of each one."""

from __future__ import annotations

import pytest

from strongroom.domain.eligibility import BILLION, RULE_SETS, Group, Indicators, evaluate

CURRENT = RULE_SETS["r4l-current"]
OLDER = RULE_SETS["r4l-with-hale"]
RICH = {"gni": 400 * BILLION, "gni_per_capita": 20_000, "hdi": 0.90, "ldc": False, "hale": 70.0}  # nothing matches


def ind(**changes: float | bool | None) -> Indicators:
    return Indicators(**{**RICH, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("indicators", "group", "rule"),
    [
        (ind(), Group.NONE, None),
        # not eligible above US$1 trillion, whatever else (an LDC flag cannot rescue it)
        (ind(gni=1000 * BILLION + 1, ldc=True, hdi=0.4), Group.NONE, "NE1"),
        (ind(gni=1000 * BILLION, ldc=True), Group.A, "A1"),
        # Group A
        (ind(ldc=True), Group.A, "A1"),
        (ind(hdi=0.50), Group.A, "A2"),
        (ind(hdi=0.501), Group.NONE, None),
        (ind(gni=150 * BILLION, hdi=0.63), Group.A, "A3"),
        (ind(gni=150 * BILLION + 1, hdi=0.63), Group.B, "B3"),  # just above A3's GNI: falls to B3
        (ind(gni=150 * BILLION, hdi=0.631), Group.B, "B3"),
        (ind(gni=150 * BILLION, gni_per_capita=1600), Group.A, "A3"),
        (ind(gni=150 * BILLION, gni_per_capita=1601), Group.B, "B3"),
        # Group B
        (ind(gni=1 * BILLION), Group.B, "B1"),
        (ind(gni=1 * BILLION + 1), Group.NONE, None),
        (ind(gni=20 * BILLION, gni_per_capita=10_000), Group.B, "B2"),
        (ind(gni=20 * BILLION, gni_per_capita=10_001), Group.NONE, None),
        (ind(gni=20 * BILLION + 1, gni_per_capita=10_000), Group.NONE, None),
        (ind(gni=180 * BILLION, hdi=0.67), Group.B, "B3"),
        (ind(gni=180 * BILLION, hdi=0.671), Group.NONE, None),
        (ind(gni=180 * BILLION, gni_per_capita=5000), Group.B, "B3"),
        (ind(gni=180 * BILLION + 1, gni_per_capita=5000), Group.NONE, None),
        (ind(gni=180 * BILLION, gni_per_capita=5001), Group.NONE, None),
    ],
)
def test_current_rules_at_each_threshold(indicators: Indicators, group: Group, rule: str | None) -> None:
    result = evaluate(indicators, CURRENT)
    assert result.group is group
    if rule is None:
        assert result.matched == [] and "no rule matched" in result.explanation
    else:
        assert result.matched[0].startswith(f"{rule}: ")


def test_the_explanation_names_the_rule_and_the_values() -> None:
    result = evaluate(Indicators(gni=12.3 * BILLION, gni_per_capita=2400, hdi=0.70, ldc=False), CURRENT)
    assert result.group is Group.B
    assert result.explanation == (
        "B: B2: total GNI ≤ US$20bn and GNI per capita ≤ US$10,000 (GNI US$12.3bn, GNI per capita US$2,400); "
        "B3: total GNI ≤ US$180bn and (HDI ≤ 0.67 or GNI per capita ≤ US$5,000) "
        "(GNI US$12.3bn, HDI 0.700, GNI per capita US$2,400)"
    )


def test_the_older_rule_set_adds_healthy_life_expectancy() -> None:
    assert evaluate(ind(hale=55.0), CURRENT).group is Group.NONE
    assert evaluate(ind(hale=55.0), OLDER).group is Group.B
    assert evaluate(ind(hale=55.1), OLDER).group is Group.NONE


def test_missing_data_is_undecided_never_better() -> None:
    result = evaluate(Indicators(gni_per_capita=900), CURRENT)  # no GNI, no HDI, no LDC flag
    assert result.group is Group.NONE and result.matched == []
    assert any(m.startswith("A1:") and "ldc unknown" in m for m in result.missing)
    only_ldc = evaluate(Indicators(ldc=True), CURRENT)
    assert only_ldc.group is Group.A and any(m.startswith("NE1:") for m in only_ldc.missing)
