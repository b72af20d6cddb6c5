"""Country eligibility: imports (each recorded with its source and date), the rules' computation, the official
list and manual overrides, and the decision with its explanation.

The rules explain; the official list decides; a manual override (with a reason, by someone) decides over both.
Where the rules and the list disagree, the report shows it for staff to review.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pycountry
from sqlalchemy import select

from strongroom.catalog.models import EligibilityOverride, IndicatorImport, IndicatorValue, OfficialList
from strongroom.catalog.repo import Catalog
from strongroom.domain.eligibility import DEFAULT_RULE_SET, RULE_SETS, Evaluation, Group, Indicators, evaluate
from strongroom.domain.identifiers import normalise_country
from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import NotFound, StrongroomError
from strongroom.formats import indicators as files

KINDS = ("world-bank", "hdr", "ldc", "hale")
INDICATORS = ("gni", "gni_per_capita", "hdi", "ldc", "hale")


@dataclass
class CountryStatus:
    country: str
    name: str
    year: int
    indicators: Indicators
    years_used: dict[str, int]  # each indicator's year (the newest published before ``year``)
    computed: Evaluation
    ldc_year: int | None = None  # the year of the UN LDC list in force in ``year`` (None: none imported)
    listed: str | None = None
    list_source: str | None = None
    override: dict[str, str] | None = None
    final: str = "none"
    decided_by: str = "rules"
    notes: list[str] = field(default_factory=list)

    @property
    def basis(self) -> str:
        """Which data the rules used, in words: the indicator years and the LDC list's year."""
        shown = {"gni": "GNI", "gni_per_capita": "GNI per capita", "hdi": "HDI", "hale": "healthy life expectancy"}
        years = [f"{label} {self.years_used[name]}" for name, label in shown.items() if name in self.years_used]
        return (
            f"eligibility for {self.year} from the newest indicators published before it "
            f"({', '.join(years) if years else 'none imported'}) and "
            + (f"the UN LDC list for {self.ldc_year}" if self.ldc_year else "no UN LDC list")
        )

    @property
    def disagreement(self) -> bool:
        """The rules and the official list give different answers (staff review these)."""
        return self.list_source is not None and (self.listed or "none") != str(self.computed.group)


class Eligibility:
    """Which countries are Group A or B: indicator imports, official lists, overrides, and each country's status
    explained."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def import_indicators(self, kind: str, path: Path, *, source: str, year: int | None = None) -> IndicatorImport:
        if kind == "world-bank":
            parsed = files.read_world_bank(path)
        elif kind == "hdr":
            parsed = files.read_hdr(path)
        elif kind == "ldc":
            if year is None:
                raise StrongroomError("an LDC list needs the year it applies to", hint="pass --year")
            parsed = files.read_ldc(path, year)
        elif kind == "hale":
            parsed = files.read_hale(path)
        else:
            raise StrongroomError(f"unknown indicator file kind {kind!r}", hint=f"kinds: {', '.join(KINDS)}")
        with self.catalog.session() as s:
            record = IndicatorImport(
                kind=kind,
                source=source,
                imported_at=self.catalog.clock.now(),
                values=len(parsed.values),
                skipped=parsed.skipped,
            )
            s.add(record)
            s.flush()
            s.add_all(
                IndicatorValue(import_id=record.id, country=c, indicator=i, year=y, value=v)
                for c, i, y, v in parsed.values
            )
            self.catalog.record_event(
                s,
                EventType.ELIGIBILITY,
                EventOutcome.SUCCESS,
                agent="eligibility",
                object_type="indicators",
                object_key=kind,
                detail=f"imported {len(parsed.values)} values from {source}",
                data={"import": record.id, "skipped": len(parsed.skipped)},
            )
            return record

    def import_official_list(self, path: Path, *, source: str, effective: dt.date) -> OfficialList:
        entries = files.read_official_list(path)
        with self.catalog.session() as s:
            record = OfficialList(
                source=source, effective=effective, imported_at=self.catalog.clock.now(), entries=entries
            )
            s.add(record)
            self.catalog.record_event(
                s,
                EventType.ELIGIBILITY,
                EventOutcome.SUCCESS,
                agent="eligibility",
                object_type="official-list",
                object_key=effective.isoformat(),
                detail=f"official list of {len(entries)} countries from {source}",
            )
            return record

    def override(self, country: str, group: Group, *, reason: str, by: str) -> None:
        if not reason.strip():
            raise StrongroomError("an override needs a reason", hint="pass --reason")
        code = normalise_country(country)
        with self.catalog.session() as s:
            for old in s.scalars(select(EligibilityOverride).where(EligibilityOverride.country == code)):
                old.active = False
            s.add(
                EligibilityOverride(country=code, group=str(group), reason=reason, by=by, at=self.catalog.clock.now())
            )
            self.catalog.record_event(
                s,
                EventType.ELIGIBILITY,
                EventOutcome.SUCCESS,
                agent=by,
                object_type="country",
                object_key=code,
                detail=f"override: group {group} ({reason})",
            )

    def clear_override(self, country: str, *, reason: str, by: str) -> None:
        """Lift the override in force for ``country``: the official list (or the rules) decide again."""
        if not reason.strip():
            raise StrongroomError("lifting an override needs a reason", hint="pass --reason")
        code = normalise_country(country)
        with self.catalog.session() as s:
            active = list(
                s.scalars(
                    select(EligibilityOverride).where(EligibilityOverride.country == code, EligibilityOverride.active)
                )
            )
            if not active:
                raise NotFound(
                    f"no override is in force for {code}", hint=f"see what decides: strongroom eligibility {code}"
                )
            for old in active:
                old.active = False
            self.catalog.record_event(
                s,
                EventType.ELIGIBILITY,
                EventOutcome.SUCCESS,
                agent=by,
                object_type="country",
                object_key=code,
                detail=f"override lifted: group {active[-1].group} no longer decided by hand ({reason})",
            )

    def status(self, country: str, *, year: int | None = None, rule_set: str = DEFAULT_RULE_SET) -> CountryStatus:
        if rule_set not in RULE_SETS:
            raise StrongroomError(f"no rule set {rule_set!r}", hint=f"rule sets: {', '.join(RULE_SETS)}")
        return self._statuses([normalise_country(country)], year, rule_set)[0]

    def report(self, *, year: int | None = None, rule_set: str = DEFAULT_RULE_SET) -> list[CountryStatus]:
        return self._statuses(sorted(str(c.alpha_2) for c in pycountry.countries), year, rule_set)

    def _statuses(self, countries: list[str], year: int | None, rule_set: str) -> list[CountryStatus]:
        # As Research4Life does: the country list for year Y (this year by default) is computed from the newest
        # indicators published before Y (the World Bank's GNI lags a year or two, the HDI more), with the UN LDC
        # list in force in Y. The official list in force today decides (or at the end of the year asked for).
        today = self.catalog.clock.now().date()
        as_of = dt.date(year, 12, 31) if year else today
        year = year or today.year
        wanted = set(countries)
        with self.catalog.session() as s:
            values: dict[tuple[str, str], tuple[int, float]] = {}
            stmt = (
                select(IndicatorValue)
                .where(IndicatorValue.year < year, IndicatorValue.indicator != "ldc")
                .order_by(IndicatorValue.import_id)
            )
            if len(wanted) == 1:  # one country's status (every programme page asks): read its rows only
                stmt = stmt.where(IndicatorValue.country.in_(wanted))
            for v in s.scalars(stmt):
                if v.country in wanted:
                    best = values.get((v.country, v.indicator))
                    if best is None or v.year >= best[0]:  # the newest year before the one asked; newer imports win
                        values[(v.country, v.indicator)] = (v.year, v.value)
            # the LDC list in force in the year: the one for the newest year not after it (the newest import of it)
            ldc_lists = list(
                s.execute(
                    select(IndicatorValue.year, IndicatorValue.import_id)
                    .where(IndicatorValue.indicator == "ldc")
                    .distinct()
                )
            )
            in_force = max(((y, i) for y, i in ldc_lists if y <= year), default=None)
            ldc_year = in_force[0] if in_force else None
            ldc = (
                set(s.scalars(select(IndicatorValue.country).where(IndicatorValue.import_id == in_force[1])))
                if in_force
                else None
            )
            later = sorted({y for y, _ in ldc_lists if y > year})
            lists = list(
                s.scalars(
                    select(OfficialList)
                    .where(OfficialList.effective <= as_of)
                    .order_by(OfficialList.effective, OfficialList.id)
                )
            )
            official = lists[-1] if lists else None
            overrides = {o.country: o for o in s.scalars(select(EligibilityOverride).where(EligibilityOverride.active))}
        out = []
        for code in countries:

            def get(name: str, code: str = code) -> float | None:
                found = values.get((code, name))
                return found[1] if found else None

            ind = Indicators(
                gni=get("gni"),
                gni_per_capita=get("gni_per_capita"),
                hdi=get("hdi"),
                ldc=(code in ldc) if ldc is not None else None,
                hale=get("hale"),
            )
            used = {name: values[(code, name)][0] for name in INDICATORS if (code, name) in values}
            computed = evaluate(ind, RULE_SETS[rule_set])
            country = pycountry.countries.get(alpha_2=code)
            st = CountryStatus(code, str(country.name) if country else code, year, ind, used, computed, ldc_year)
            if ldc is None:
                st.notes.append(
                    f"no UN LDC list imported for {year} or before"
                    + (f" (the lists imported are for {', '.join(map(str, later))})" if later else "")
                    + ": rule A1 is undecided"
                )
            if official is not None:
                st.listed, st.list_source = (
                    official.entries.get(code),
                    f"{official.source} (effective {official.effective})",
                )
            o = overrides.get(code)
            if o is not None:
                st.override = {"group": o.group, "reason": o.reason, "by": o.by, "at": o.at.isoformat()}
                st.final, st.decided_by = o.group, "override"
            elif official is not None:
                st.final, st.decided_by = (st.listed or "none"), "official list"
            else:
                st.final, st.decided_by = str(computed.group), "rules"
            out.append(st)
        return out
