"""Country eligibility for the access programme, as pure rules: which group (A: free, B: low cost) a country's
indicators put it in, and why.

Rules are data, versioned in named rule sets; the newest published rules are the default and older sets stay
available. An evaluation names every rule that matched with the values it used, and the indicators that were
missing. The computation explains; the official list (and a manual override with a reason) decides: see
``services/eligibility.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

BILLION = 1_000_000_000


class Group(StrEnum):
    A = "A"  # free access
    B = "B"  # low-cost access
    NONE = "none"  # not eligible


@dataclass(frozen=True)
class Indicators:
    """One country's indicators for one year (None: not known)."""

    gni: float | None = None  # total GNI, current US$ (World Bank, Atlas method)
    gni_per_capita: float | None = None  # US$ (World Bank, Atlas method)
    hdi: float | None = None  # Human Development Index (UNDP)
    ldc: bool | None = None  # on the UN Least Developed Countries list
    hale: float | None = None  # healthy life expectancy at birth, years (WHO)


Test = Callable[[Indicators], bool | None]  # None when an indicator it needs is missing


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _gt(value: float | None, limit: float) -> bool | None:
    return None if value is None else value > limit


def _and(*parts: bool | None) -> bool | None:
    if any(p is False for p in parts):
        return False
    return None if any(p is None for p in parts) else True


def _or(*parts: bool | None) -> bool | None:
    if any(p is True for p in parts):
        return True
    return None if any(p is None for p in parts) else False


@dataclass(frozen=True)
class Rule:
    id: str
    group: Group
    text: str
    test: Test
    uses: tuple[str, ...]


@dataclass(frozen=True)
class RuleSet:
    name: str
    source: str
    rules: tuple[Rule, ...]


@dataclass
class Evaluation:
    rule_set: str
    group: Group
    matched: list[str] = field(default_factory=list)  # "B2: total GNI ≤ US$20bn and … (GNI US$12.3bn, …)"
    missing: list[str] = field(default_factory=list)  # rules that could not be decided, and why

    @property
    def explanation(self) -> str:
        if self.matched:
            return f"{self.group}: " + "; ".join(self.matched)
        return f"{self.group}: no rule matched" + (f" (undecided: {'; '.join(self.missing)})" if self.missing else "")


def _values(ind: Indicators, uses: tuple[str, ...]) -> str:
    shown = []
    for name in uses:
        value = getattr(ind, name)
        if value is None:
            shown.append(f"{name} unknown")
        elif name == "gni":
            shown.append(f"GNI US${value / BILLION:,.1f}bn")
        elif name == "gni_per_capita":
            shown.append(f"GNI per capita US${value:,.0f}")
        elif name == "hdi":
            shown.append(f"HDI {value:.3f}")
        elif name == "ldc":
            shown.append("on the LDC list" if value else "not on the LDC list")
        else:
            shown.append(f"healthy life expectancy {value:.1f} years")
    return ", ".join(shown)


CURRENT_RULES = (
    Rule(
        "NE1",
        Group.NONE,
        "total GNI > US$1 trillion (not eligible, whatever else)",
        lambda i: _gt(i.gni, 1000 * BILLION),
        ("gni",),
    ),
    Rule("A1", Group.A, "on the UN Least Developed Countries list", lambda i: i.ldc, ("ldc",)),
    Rule("A2", Group.A, "HDI ≤ 0.50", lambda i: _le(i.hdi, 0.50), ("hdi",)),
    Rule(
        "A3",
        Group.A,
        "total GNI ≤ US$150bn and (HDI ≤ 0.63 or GNI per capita ≤ US$1,600)",
        lambda i: _and(_le(i.gni, 150 * BILLION), _or(_le(i.hdi, 0.63), _le(i.gni_per_capita, 1600))),
        ("gni", "hdi", "gni_per_capita"),
    ),
    Rule("B1", Group.B, "total GNI ≤ US$1bn", lambda i: _le(i.gni, 1 * BILLION), ("gni",)),
    Rule(
        "B2",
        Group.B,
        "total GNI ≤ US$20bn and GNI per capita ≤ US$10,000",
        lambda i: _and(_le(i.gni, 20 * BILLION), _le(i.gni_per_capita, 10_000)),
        ("gni", "gni_per_capita"),
    ),
    Rule(
        "B3",
        Group.B,
        "total GNI ≤ US$180bn and (HDI ≤ 0.67 or GNI per capita ≤ US$5,000)",
        lambda i: _and(_le(i.gni, 180 * BILLION), _or(_le(i.hdi, 0.67), _le(i.gni_per_capita, 5000))),
        ("gni", "hdi", "gni_per_capita"),
    ),
)

RULE_SETS: dict[str, RuleSet] = {
    "r4l-current": RuleSet(
        "r4l-current",
        "Research4Life eligibility criteria as published on the OARE (UNEP) programme page",
        CURRENT_RULES,
    ),
    "r4l-with-hale": RuleSet(
        "r4l-with-hale",
        "an older Research4Life rule set: the current rules plus healthy life expectancy ≤ 55 years for Group B",
        (
            *CURRENT_RULES,
            Rule("B4", Group.B, "healthy life expectancy ≤ 55 years", lambda i: _le(i.hale, 55.0), ("hale",)),
        ),
    ),
}
DEFAULT_RULE_SET = "r4l-current"


def evaluate(indicators: Indicators, rule_set: RuleSet) -> Evaluation:
    """The group the rules give, every rule that matched (with the values), and what could not be decided.

    Not-eligible rules come first and win; then Group A; then Group B. A rule whose data is missing is listed as
    undecided; the result is the best group a decided rule gives (so missing data never makes a country look
    better than its known data shows)."""
    result = Evaluation(rule_set.name, Group.NONE)
    for group in (Group.NONE, Group.A, Group.B):
        matched = []
        for rule in (r for r in rule_set.rules if r.group is group):
            outcome = rule.test(indicators)
            described = f"{rule.id}: {rule.text} ({_values(indicators, rule.uses)})"
            if outcome is None:
                result.missing.append(described)
            elif outcome:
                matched.append(described)
        if matched:
            result.group, result.matched = group, matched
            return result
    return result
