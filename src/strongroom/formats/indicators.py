"""Reading the files eligibility data is published in: the World Bank's indicator CSV (World Development
Indicators download: four lines of preamble, then one row per country with a column per year), UNDP's Human
Development Report composite indices CSV (``iso3`` and ``hdi_YYYY`` columns), a plain list of Least Developed
Countries (one name or code a line), a plain CSV of healthy life expectancy (country, year, value), and an
official list of eligible countries (country, group).

Rows that are not countries (the World Bank's regional aggregates) are skipped and reported, never guessed.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pycountry

from strongroom.domain.identifiers import normalise_country
from strongroom.errors import ExitCode, InvalidIdentifier, StrongroomError

MAX_BYTES = 50 * 1024 * 1024
WORLD_BANK = {"NY.GNP.ATLS.CD": "gni", "NY.GNP.PCAP.CD": "gni_per_capita", "SP.DYN.HALE": "hale"}


class IndicatorFileError(StrongroomError):
    exit_code = ExitCode.REFUSED


@dataclass
class Parsed:
    values: list[tuple[str, str, int, float]] = field(default_factory=list)  # (alpha-2, indicator, year, value)
    skipped: list[str] = field(default_factory=list)


def _text(path: Path) -> str:
    if path.stat().st_size > MAX_BYTES:
        raise IndicatorFileError(f"{path} is larger than {MAX_BYTES // 1024 // 1024} MB", hint="is it the right file?")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IndicatorFileError(f"{path} is not UTF-8 text", hint="save it as UTF-8 CSV") from None


def _alpha3(code: str) -> str | None:
    country = pycountry.countries.get(alpha_3=code.strip().upper()) if len(code.strip()) == 3 else None
    return str(country.alpha_2) if country is not None else None


def read_world_bank(path: Path) -> Parsed:
    text = _text(path)
    lines = text.splitlines()
    start = next((n for n, line in enumerate(lines[:20]) if line.startswith('"Country Name"')), None)
    if start is None:
        raise IndicatorFileError(
            f'{path} is not a World Bank indicator CSV (no "Country Name" header in its first lines)',
            hint="download the indicator as CSV from data.worldbank.org and import the API_*.csv file",
        )
    rows = csv.reader(io.StringIO("\n".join(lines[start:])))
    header = next(rows)
    years = {n: int(h) for n, h in enumerate(header) if re.fullmatch(r"\d{4}", h.strip())}
    out = Parsed()
    for line_no, row in enumerate(rows, start + 2):
        if len(row) < 4:
            continue
        indicator = WORLD_BANK.get(row[3].strip())
        if indicator is None:
            out.skipped.append(f"line {line_no}: indicator {row[3]!r} is not one eligibility uses")
            continue
        alpha2 = _alpha3(row[1])
        if alpha2 is None:
            out.skipped.append(f"line {line_no}: {row[0]} ({row[1]}) is not a country")
            continue
        for n, year in years.items():
            if n < len(row) and row[n].strip():
                try:
                    out.values.append((alpha2, indicator, year, float(row[n])))
                except ValueError:
                    raise IndicatorFileError(f"{path} line {line_no}: {row[n]!r} for {year} is not a number") from None
    if not out.values:
        raise IndicatorFileError(f"{path} holds no GNI, GNI per capita or healthy life expectancy values")
    return out


def read_hdr(path: Path) -> Parsed:
    rows = csv.DictReader(io.StringIO(_text(path)))
    fields = rows.fieldnames or []
    hdi_columns = {f: int(f[4:]) for f in fields if re.fullmatch(r"hdi_\d{4}", f)}
    if "iso3" not in fields or not hdi_columns:
        raise IndicatorFileError(
            f"{path} is not a UNDP HDR composite indices CSV (it needs iso3 and hdi_YYYY columns)",
            hint="download the 'All composite indices and components time series' CSV from hdr.undp.org",
        )
    out = Parsed()
    for line_no, row in enumerate(rows, 2):
        alpha2 = _alpha3(row["iso3"] or "")
        if alpha2 is None:
            out.skipped.append(f"line {line_no}: {row.get('country') or row['iso3']} is not a country")
            continue
        for column, year in hdi_columns.items():
            value = (row.get(column) or "").strip()
            if value:
                try:
                    out.values.append((alpha2, "hdi", year, float(value)))
                except ValueError:
                    raise IndicatorFileError(f"{path} line {line_no}: {column} {value!r} is not a number") from None
    return out


def _country(text: str, where: str) -> str:
    try:
        return normalise_country(text.strip())
    except InvalidIdentifier:
        raise IndicatorFileError(
            f"{where}: {text.strip()!r} is not a country pycountry knows",
            hint="use the ISO 3166 code (e.g. TZ) or the English short name",
        ) from None


def read_ldc(path: Path, year: int) -> Parsed:
    out = Parsed()
    for line_no, line in enumerate(_text(path).splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            out.values.append((_country(entry, f"{path} line {line_no}"), "ldc", year, 1.0))
    if not out.values:
        raise IndicatorFileError(f"{path} lists no countries")
    return out


def read_hale(path: Path) -> Parsed:
    rows = csv.DictReader(io.StringIO(_text(path)))
    if not {"country", "year", "value"} <= set(rows.fieldnames or []):
        raise IndicatorFileError(f"{path} needs the columns country, year, value")
    out = Parsed()
    for line_no, row in enumerate(rows, 2):
        try:
            out.values.append(
                (_country(row["country"], f"{path} line {line_no}"), "hale", int(row["year"]), float(row["value"]))
            )
        except ValueError:
            raise IndicatorFileError(f"{path} line {line_no}: year or value is not a number") from None
    return out


def read_official_list(path: Path) -> dict[str, str]:
    rows = csv.DictReader(io.StringIO(_text(path)))
    if not {"country", "group"} <= set(rows.fieldnames or []):
        raise IndicatorFileError(f"{path} needs the columns country, group (A or B)")
    entries: dict[str, str] = {}
    for line_no, row in enumerate(rows, 2):
        group = (row["group"] or "").strip().upper()
        if group not in ("A", "B"):
            raise IndicatorFileError(f"{path} line {line_no}: group {row['group']!r} is not A or B")
        entries[_country(row["country"], f"{path} line {line_no}")] = group
    return entries
