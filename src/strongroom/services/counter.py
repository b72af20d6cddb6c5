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
from typing import Any

from sqlalchemy import select

from strongroom import __version__
from strongroom.catalog.models import ArchivalUnit, Institution, Item, Publisher, Title, UsageEvent
from strongroom.catalog.repo import Catalog
from strongroom.errors import StrongroomError

METRICS = ("Total_Item_Investigations", "Unique_Item_Investigations", "Total_Item_Requests", "Unique_Item_Requests")
REPORTS = {"tr": "Title Report", "ir": "Item Report"}
_MONTH = re.compile(r"^\d{4}-\d{2}$")


class CounterError(StrongroomError):
    exit_code = 2


def _months(begin: str, end: str) -> list[str]:
    if not (_MONTH.match(begin) and _MONTH.match(end)) or begin > end:
        raise CounterError(f"begin_date {begin!r} and end_date {end!r} must be months (YYYY-MM), begin first")
    out, y, m = [], int(begin[:4]), int(begin[5:])
    while f"{y:04d}-{m:02d}" <= end:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def report(
    catalog: Catalog,
    report_id: str,
    *,
    begin: str,
    end: str,
    institution: str | None = None,
    publisher: str | None = None,
    country: str | None = None,
) -> dict[str, Any]:
    """A COUNTER_SUSHI 5.1 JSON report (``tr`` or ``ir``) for an institution or a publisher."""
    if report_id not in REPORTS:
        raise CounterError(f"no report {report_id!r}", hint="tr (Title Report) or ir (Item Report)")
    if (institution is None) == (publisher is None):
        raise CounterError("a report is for one institution (customer_id) or one publisher")
    months = _months(begin, end)
    start = dt.datetime.fromisoformat(months[0] + "-01").replace(tzinfo=dt.UTC)
    last_y, last_m = int(months[-1][:4]), int(months[-1][5:])
    stop = dt.datetime(last_y + (last_m == 12), last_m % 12 + 1, 1, tzinfo=dt.UTC)
    with catalog.session() as s:
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
        publishers = {p.id: p for p in s.scalars(select(Publisher))}
        items = {
            i.public_id: (i, au)
            for i, au in s.execute(
                select(Item, ArchivalUnit)
                .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
                .where(Item.public_id.in_({e.item_public_id for e in events}))
            )
        }
    publisher_names = {p.key: p.name for p in publishers.values()}
    item_publisher = {e.item_public_id: e.publisher_key for e in events}
    counts: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    unique: set[tuple[str, ...]] = set()
    for e in events:
        key = e.title_key if report_id == "tr" else e.item_public_id
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
    report_items: dict[str, dict[str, Any]] = {}
    for (key, access), perf in sorted(counts.items()):
        if report_id == "tr":
            title = titles.get(key)
            pub = publishers.get(title.publisher_id) if title and title.publisher_id else None
            entry = report_items.setdefault(
                key,
                {
                    "Title": title.name if title else key,
                    "Item_ID": {
                        k: v
                        for k, v in (
                            ("Print_ISSN", title.issn_print if title else None),
                            ("Online_ISSN", title.issn_online if title else None),
                            ("Proprietary", f"strongroom:{key}"),
                        )
                        if v
                    },
                    "Platform": "Strongroom",
                    "Publisher": pub.name if pub else "",
                    "Attribute_Performance": [],
                },
            )
            data_type = "Journal"
        else:
            item = items[key][0]
            entry = report_items.setdefault(
                key,
                {
                    "Item": item.title,
                    "Item_ID": {k: v for k, v in (("DOI", item.doi), ("Proprietary", f"strongroom:{key}")) if v},
                    "Platform": "Strongroom",
                    "Publisher": publisher_names.get(item_publisher.get(key, ""), ""),
                    "Attribute_Performance": [],
                },
            )
            data_type = "Article"
        entry["Attribute_Performance"].append(
            {
                "Data_Type": data_type,
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
            "Report_ID": report_id.upper(),
            "Report_Name": REPORTS[report_id],
            "Institution_Name": name,
            "Institution_ID": {"Proprietary": [f"strongroom:{institution or 'publisher:' + str(publisher)}"]},
            "Report_Filters": filters,
            "Created": catalog.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Created_By": f"Strongroom {__version__}",
            "Registry_Record": "",
        },
        "Report_Items": list(report_items.values()),
    }


def as_csv(data: dict[str, Any]) -> str:
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
