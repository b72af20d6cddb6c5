"""How items group into volumes for readers: a volume's key in URLs, and an AU's items counted by volume (kept on
the AU so that title pages and the sitemap never count items); and into issues for holdings reports (kept on the AU
likewise, so that KBART, ONIX-PH and DOAJ never group items). Pure: imports no I/O library."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def volume_key(volume: str | None, year: int | None) -> str:
    """How a volume is named in URLs: its number, else its year, else ``other``."""
    return volume or (str(year) if year else "other")


def volume_counts(items: Iterable[tuple[str | None, int | None, int]]) -> list[list[str | int | None]]:
    """``[[volume key, year, items], ...]`` from (volume, year, items) groups, sorted by key; a volume's year is
    the latest of its items' years."""
    out: dict[str, list[str | int | None]] = {}
    for volume, year, n in items:
        key = volume_key(volume, year)
        entry = out.setdefault(key, [key, year, 0])
        if year is not None and (entry[1] is None or int(year) > int(entry[1] or 0)):
            entry[1] = year
        entry[2] = int(entry[2] or 0) + n
    return [out[k] for k in sorted(out)]


def issue_coverage(
    items: Iterable[tuple[str | None, str | None, dt.date | str | None, int | None]],
) -> list[list[str | int | None]]:
    """``[[volume, issue, first date (ISO) or None, first year or None], ...]`` from items' (volume, issue,
    publication date, year): one entry per issue, with the earliest date and year among its items, sorted."""
    out: dict[tuple[str, str], list[str | int | None]] = {}
    for volume, issue, date, year in items:
        day = str(date)[:10] if date else None
        entry = out.setdefault((volume or "", issue or ""), [volume or None, issue or None, day, year])
        if day is not None and (entry[2] is None or day < str(entry[2])):
            entry[2] = day
        if year is not None and (entry[3] is None or int(year) < int(entry[3] or 0)):
            entry[3] = year
    return [out[k] for k in sorted(out)]
