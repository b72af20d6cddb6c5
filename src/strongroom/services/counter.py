"""COUNTER Release 5.1 usage reports from the usage log: the Title Report (TR) and the Item Report (IR), for one
institution (customer) or one publisher, optionally for one country, month by month; as COUNTER_SUSHI JSON and as
the tabular CSV form.

Metrics: ``Total_Item_Investigations`` (an article page or a file), ``Unique_Item_Investigations`` (once per
session, item and day), ``Total_Item_Requests`` and ``Unique_Item_Requests`` (the full text: a file). Access type
is ``Open`` for released content and ``Controlled`` for the programme's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from strongroom import __version__
from strongroom.catalog.models import Institution, Item, Publisher, Title, UsageEvent
from strongroom.catalog.repo import Catalog
from strongroom.errors import ExitCode, StrongroomError

METRICS = ("Total_Item_Investigations", "Unique_Item_Investigations", "Total_Item_Requests", "Unique_Item_Requests")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


class CounterError(StrongroomError):
    exit_code = ExitCode.REFUSED


@dataclass(frozen=True)
class _Found:
    """What a report's rows are described from: the titles, publishers and items its usage events name."""

    titles: dict[str, Title]
    publishers: dict[int, Publisher]
    items: dict[str, Item]
    item_publisher: dict[str, str]  # item public id -> publisher key

    def publisher_name(self, key: str) -> str:
        return next((p.name for p in self.publishers.values() if p.key == key), "")


@dataclass(frozen=True)
class ReportKind:
    """One COUNTER report: the rows it counts by (``row_key`` of a usage event), how a row is described
    (``describe``), and the Data_Type of its rows."""

    id: str
    name: str
    data_type: str
    row_key: Callable[[UsageEvent], str]
    describe: Callable[[str, _Found], dict[str, Any]]


REPORTS: dict[str, ReportKind] = {}  # report id -> kind; a new report is one describe function and one register()


def register(
    id: str, name: str, data_type: str, row_key: Callable[[UsageEvent], str]
) -> Callable[[Callable[[str, _Found], dict[str, Any]]], Callable[[str, _Found], dict[str, Any]]]:
    def add(describe: Callable[[str, _Found], dict[str, Any]]) -> Callable[[str, _Found], dict[str, Any]]:
        REPORTS[id] = ReportKind(id, name, data_type, row_key, describe)
        return describe

    return add


@register("tr", "Title Report", "Journal", lambda e: e.title_key)
def _title_row(key: str, found: _Found) -> dict[str, Any]:
    title = found.titles.get(key)
    pub = found.publishers.get(title.publisher_id) if title and title.publisher_id else None
    ids = (
        ("Print_ISSN", title.issn_print if title else None),
        ("Online_ISSN", title.issn_online if title else None),
        ("Proprietary", f"strongroom:{key}"),
    )
    return {
        "Title": title.name if title else key,
        "Item_ID": {k: v for k, v in ids if v},
        "Platform": "Strongroom",
        "Publisher": pub.name if pub else "",
    }


@register("ir", "Item Report", "Article", lambda e: e.item_public_id)
def _item_row(key: str, found: _Found) -> dict[str, Any]:
    item = found.items[key]
    return {
        "Item": item.title,
        "Item_ID": {k: v for k, v in (("DOI", item.doi), ("Proprietary", f"strongroom:{key}")) if v},
        "Platform": "Strongroom",
        "Publisher": found.publisher_name(found.item_publisher.get(key, "")),
    }


def _months(begin: str, end: str) -> list[str]:
    if not (_MONTH.match(begin) and _MONTH.match(end)) or begin > end:
        raise CounterError(f"begin_date {begin!r} and end_date {end!r} must be months (YYYY-MM), begin first")
    out, y, m = [], int(begin[:4]), int(begin[5:])
    while f"{y:04d}-{m:02d}" <= end:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _count(kind: ReportKind, events: list[UsageEvent]) -> dict[tuple[str, str], dict[str, dict[str, int]]]:
    """(row key, access type) -> metric -> month -> count."""
    counts: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    unique: set[tuple[str, ...]] = set()
    for e in events:
        key = kind.row_key(e)
        month = e.time.strftime("%Y-%m")
        access = "Open" if e.access == "open" else "Controlled"
        perf = counts[(key, access)]
        perf["Total_Item_Investigations"][month] += 1
        u = (key, access, e.session, e.item_public_id, e.time.date().isoformat())
        if ("inv", *u) not in unique:
            unique.add(("inv", *u))
            perf["Unique_Item_Investigations"][month] += 1
        if e.metric == "request":
            perf["Total_Item_Requests"][month] += 1
            if ("req", *u) not in unique:
                unique.add(("req", *u))
                perf["Unique_Item_Requests"][month] += 1
    return counts


class Counter:
    """COUNTER 5.1 reports of the usage log."""

    reports = REPORTS

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def report(
        self,
        report_id: str,
        *,
        begin: str,
        end: str,
        institution: str | None = None,
        publisher: str | None = None,
        country: str | None = None,
    ) -> dict[str, Any]:
        """A COUNTER_SUSHI 5.1 JSON report (``tr`` or ``ir``) for an institution or a publisher."""
        kind = REPORTS.get(report_id)
        if kind is None:
            raise CounterError(
                f"no report {report_id!r}",
                hint=" or ".join(f"{k.id} ({k.name})" for k in REPORTS.values()),
            )
        if (institution is None) == (publisher is None):
            raise CounterError("a report is for one institution (customer_id) or one publisher")
        months = _months(begin, end)
        start = dt.datetime.fromisoformat(months[0] + "-01").replace(tzinfo=dt.UTC)
        last_y, last_m = int(months[-1][:4]), int(months[-1][5:])
        stop = dt.datetime(last_y + (last_m == 12), last_m % 12 + 1, 1, tzinfo=dt.UTC)
        with self.catalog.session() as s:
            stmt = select(UsageEvent).where(UsageEvent.time >= start, UsageEvent.time < stop)
            if institution is not None:
                name = s.scalar(select(Institution.name).where(Institution.key == institution))
                if name is None:
                    raise CounterError(f"no institution {institution!r}", hint="customer_id is an institution key")
                stmt = stmt.where(UsageEvent.institution == institution)
            else:
                name = s.scalar(select(Publisher.name).where(Publisher.key == publisher))
                if name is None:
                    raise CounterError(f"no publisher {publisher!r}")
                stmt = stmt.where(UsageEvent.publisher_key == publisher)
            if country is not None:
                stmt = stmt.where(UsageEvent.country == country.upper())
            events = list(s.scalars(stmt))
            titles = {t.key: t for t in s.scalars(select(Title).where(Title.key.in_({e.title_key for e in events})))}
            items = {
                i.public_id or "": i
                for i in s.scalars(select(Item).where(Item.public_id.in_({e.item_public_id for e in events})))
            }
            found = _Found(
                titles=titles,
                publishers={p.id: p for p in s.scalars(select(Publisher))},
                items=items,
                item_publisher={e.item_public_id: e.publisher_key for e in events},
            )
            report_items: dict[str, dict[str, Any]] = {}
            for (key, access), perf in sorted(_count(kind, events).items()):
                entry = report_items.setdefault(key, {**kind.describe(key, found), "Attribute_Performance": []})
                entry["Attribute_Performance"].append(
                    {
                        "Data_Type": kind.data_type,
                        "Access_Type": access,
                        "Access_Method": "Regular",
                        "Performance": {m: dict(sorted(perf[m].items())) for m in METRICS if perf.get(m)},
                    }
                )
        filters = {"Begin_Date": months[0] + "-01", "End_Date": stop.date().isoformat()}
        if country:
            filters["Country"] = country.upper()  # a Strongroom extension: COUNTER has no country filter
        return {
            "Report_Header": {
                "Release": "5.1",
                "Report_ID": kind.id.upper(),
                "Report_Name": kind.name,
                "Institution_Name": name,
                "Institution_ID": {"Proprietary": [f"strongroom:{institution or 'publisher:' + str(publisher)}"]},
                "Report_Filters": filters,
                "Created": self.catalog.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Created_By": f"Strongroom {__version__}",
                "Registry_Record": "",
            },
            "Report_Items": list(report_items.values()),
        }

    def as_csv(self, data: dict[str, Any]) -> str:
        """A report in COUNTER's tabular form."""
        return tabular(data)


def tabular(data: dict[str, Any]) -> str:
    """The tabular form: the report header rows, a blank row, then one row per item, access type and metric."""
    header = data["Report_Header"]
    months = _months(
        header["Report_Filters"]["Begin_Date"][:7],
        (dt.date.fromisoformat(header["Report_Filters"]["End_Date"]) - dt.timedelta(days=1)).isoformat()[:7],
    )
    out = io.StringIO()
    w = csv.writer(out)
    for field in ("Report_Name", "Report_ID", "Release", "Institution_Name"):
        w.writerow([field, header[field]])
    w.writerow(["Report_Filters", "; ".join(f"{k}={v}" for k, v in header["Report_Filters"].items())])
    w.writerow(["Created", header["Created"]])
    w.writerow(["Created_By", header["Created_By"]])
    w.writerow([])
    name = "Title" if header["Report_ID"] == "TR" else "Item"
    w.writerow(
        [
            name,
            "Publisher",
            "Platform",
            "Proprietary_ID",
            "Data_Type",
            "Access_Type",
            "Metric_Type",
            "Reporting_Period_Total",
            *months,
        ]
    )
    for entry in data["Report_Items"]:
        for ap in entry["Attribute_Performance"]:
            for metric, by_month in ap["Performance"].items():
                w.writerow(
                    [
                        entry.get(name, ""),
                        entry["Publisher"],
                        entry["Platform"],
                        entry["Item_ID"].get("Proprietary", ""),
                        ap["Data_Type"],
                        ap["Access_Type"],
                        metric,
                        sum(by_month.values()),
                        *(by_month.get(m, 0) for m in months),
                    ]
                )
    return out.getvalue()
