"""COUNTER Release 5.1 usage reports from the usage log: the Title Report (TR), its journal Standard Views
(TR_J1, TR_J2, TR_J3, TR_J4) and the Item Report (IR), for one institution (customer) or one publisher, optionally
for one country, month by month; as COUNTER_SUSHI JSON and as the tabular CSV form; and the SUSHI server's status,
member and report lists.

Metrics (Code of Practice 5.1, section 3.3): ``Total_Item_Investigations`` (an article page or a file),
``Total_Item_Requests`` (the full text: a file), their ``Unique_Item_`` counts (once per user-session and item),
the TR's ``Unique_Title_`` counts (once per user-session and title), and ``No_License`` (a reader at a known
institution refused the content by the access programme). Access type is ``Open`` for released content and
``Controlled`` for the programme's. YOP is the year of publication of the article read (``0001`` when it is not
known, as the Code of Practice asks). A month is reported once it has ended (:mod:`strongroom.domain.usage`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from strongroom import __version__
from strongroom.catalog.models import Institution, Item, Publisher, Title, UsageEvent
from strongroom.catalog.repo import Catalog
from strongroom.domain.usage import PeriodError, month_of, next_month, period, previous_month
from strongroom.errors import ExitCode, StrongroomError

PLATFORM = "Strongroom"
_DOI = re.compile(r"^10\.[1-9][0-9]{3}[0-9.]*/.+$")
INVESTIGATIONS = ("Total_Item_Investigations", "Unique_Item_Investigations")
REQUESTS = ("Total_Item_Requests", "Unique_Item_Requests")
TITLES = ("Unique_Title_Investigations", "Unique_Title_Requests")
DENIALS = ("No_License",)
# The Exceptions a report can carry, with their messages exactly as the Code of Practice 5.1 (Appendix D) gives them.
MESSAGES = {
    1030: "Insufficient Information to Process Request",
    2020: "APIKey Invalid",
    3020: "Invalid Date Arguments",
    3030: "No Usage Available for Requested Dates",
    3031: "Usage Not Ready for Requested Dates",
    3050: "Parameter Not Recognized in this Context",
    3062: "Invalid ReportAttribute Value",
}


class CounterError(StrongroomError):
    """A report that cannot be made; ``code`` is the COUNTER Exception that says why."""

    exit_code = ExitCode.REFUSED

    def __init__(self, message: str, *, hint: str | None = None, code: int = 3020) -> None:
        super().__init__(message, hint=hint)
        self.code = code


def exception(code: int, data: str = "") -> dict[str, Any]:
    """A COUNTER_SUSHI 5.1 Exception (5.1 has no Severity)."""
    return {"Code": code, "Message": MESSAGES[code], **({"Data": data} if data else {})}


@dataclass(frozen=True)
class _Found:
    """What a report's rows are described from: the titles, publishers and items its usage events name."""

    titles: dict[str, Title]
    publishers: dict[int, Publisher]
    items: dict[str, Item]
    item_publisher: dict[str, str]  # item public id -> publisher key
    item_title: dict[str, str]  # item public id -> title key

    def publisher_name(self, key: str) -> str:
        return next((p.name for p in self.publishers.values() if p.key == key), "")


Describe = Callable[[str, _Found], dict[str, Any]]


@dataclass(frozen=True)
class ReportKind:
    """One COUNTER report or Standard View: the rows it counts by (``row_key`` of a usage event), how a row is
    described (``describe``), the Data_Type of its rows, the metrics it carries, its attributes (those a Report
    can show when asked, with ``attributes_to_show``; those a Standard View always shows), the access types it
    keeps, and the filters a Standard View is defined by (shown in its header)."""

    id: str
    name: str
    description: str
    data_type: str
    row_key: Callable[[UsageEvent], str]
    describe: Describe
    metrics: tuple[str, ...]
    attributes: tuple[str, ...] = ("YOP", "Access_Type", "Access_Method")
    access_types: frozenset[str] = frozenset({"Controlled", "Open"})
    filters: dict[str, list[str]] = field(default_factory=dict)
    master: str = ""  # the COUNTER Report a Standard View is of ("" for a Report)


REPORTS: dict[str, ReportKind] = {}  # report id -> kind; a new report is one describe function and one register()


def register(
    id: str,
    name: str,
    description: str,
    data_type: str,
    row_key: Callable[[UsageEvent], str],
    metrics: tuple[str, ...],
    **options: Any,
) -> Callable[[Describe], Describe]:
    def add(describe: Describe) -> Describe:
        REPORTS[id] = ReportKind(id, name, description, data_type, row_key, describe, metrics, **options)
        return describe

    return add


def _title_key(e: UsageEvent) -> str:
    return e.title_key


def _journal(key: str, found: _Found) -> dict[str, Any]:
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
        "Platform": PLATFORM,
        "Publisher": pub.name if pub else "",
    }


register(
    "tr",
    "Title Report",
    "Usage of each journal: investigations, requests and refusals, by access type.",
    "Journal",
    _title_key,
    (*INVESTIGATIONS, *REQUESTS, *TITLES, *DENIALS),
)(_journal)
register(
    "tr_j1",
    "Journal Requests (Controlled)",
    "Requests for the full text of each journal's articles in the access programme.",
    "Journal",
    _title_key,
    REQUESTS,
    attributes=(),
    access_types=frozenset({"Controlled"}),
    filters={
        "Access_Method": ["Regular"],
        "Access_Type": ["Controlled"],
        "Data_Type": ["Journal"],
        "Metric_Type": ["Total_Item_Requests", "Unique_Item_Requests"],
    },
    master="tr",
)(_journal)
register(
    "tr_j2",
    "Journal Access Denied",
    "Refusals of each journal's articles to readers at institutions the access programme does not open them to.",
    "Journal",
    _title_key,
    ("Limit_Exceeded", "No_License"),
    attributes=(),
    access_types=frozenset({"Controlled"}),
    filters={"Access_Method": ["Regular"], "Data_Type": ["Journal"], "Metric_Type": ["Limit_Exceeded", "No_License"]},
    master="tr",
)(_journal)
register(
    "tr_j3",
    "Journal Usage by Access Type",
    "Investigations and requests of each journal, open and in the access programme.",
    "Journal",
    _title_key,
    ("Total_Item_Investigations", "Total_Item_Requests", "Unique_Item_Investigations", "Unique_Item_Requests"),
    attributes=("Access_Type",),
    filters={
        "Access_Method": ["Regular"],
        "Data_Type": ["Journal"],
        "Metric_Type": [
            "Total_Item_Investigations",
            "Total_Item_Requests",
            "Unique_Item_Investigations",
            "Unique_Item_Requests",
        ],
    },
    master="tr",
)(_journal)
register(
    "tr_j4",
    "Journal Requests by YOP (Controlled)",
    "Requests for the full text of each journal's articles in the access programme, by year of publication.",
    "Journal",
    _title_key,
    REQUESTS,
    attributes=("YOP",),
    access_types=frozenset({"Controlled"}),
    filters={
        "Access_Method": ["Regular"],
        "Access_Type": ["Controlled"],
        "Data_Type": ["Journal"],
        "Metric_Type": ["Total_Item_Requests", "Unique_Item_Requests"],
    },
    master="tr",
)(_journal)


@register(
    "ir",
    "Item Report",
    "Usage of each article: investigations, requests and refusals, by access type.",
    "Article",
    lambda e: e.item_public_id,
    (*INVESTIGATIONS, *REQUESTS, *DENIALS),
)
def _item_row(key: str, found: _Found) -> dict[str, Any]:
    item = found.items.get(key)
    return {
        "Item": item.title if item else key,
        "Item_ID": {k: v for k, v in (("DOI", _doi(item)), ("Proprietary", f"strongroom:{key}")) if v},
        "Platform": PLATFORM,
        "Publisher": found.publisher_name(found.item_publisher.get(key, "")),
    }


def _doi(item: Item | None) -> str | None:
    # only a DOI as COUNTER writes them (10.NNNN/...): a malformed one would make the whole report invalid
    doi = item.doi if item else None
    return doi if doi and _DOI.match(doi) else None


UNKNOWN_YOP = "0001"  # the Code of Practice's YOP for an item whose year of publication is not known


def _yop(item: Item | None) -> str:
    return f"{item.year:04d}" if item is not None and item.year and 0 < item.year < 10000 else UNKNOWN_YOP


def _count(
    kind: ReportKind, events: list[UsageEvent], shown: tuple[str, ...], found: _Found
) -> dict[tuple[str, str, str], dict[str, dict[str, int]]]:
    """(row key, YOP or "", access type or "") -> metric -> month -> count, over the metrics the report carries;
    YOP and access type only when the report shows them.

    A request is an investigation too; a refusal is neither. Unique_ metrics count a user-session once per item
    (or title) in each row."""
    counts: dict[tuple[str, str, str], dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    seen: set[tuple[str, ...]] = set()

    def add(row: tuple[str, str, str], metric: str, month: str, unique: tuple[str, ...] | None = None) -> None:
        if unique is not None:
            if (metric, *row, *unique) in seen:
                return
            seen.add((metric, *row, *unique))
        counts[row][metric][month] += 1

    for e in events:
        access = "Open" if e.access == "open" else "Controlled"
        if access not in kind.access_types:
            continue
        yop = _yop(found.items.get(e.item_public_id)) if "YOP" in shown else ""
        row, month = (kind.row_key(e), yop, access if "Access_Type" in shown else ""), month_of(e.time)
        if e.metric == "no_license":
            add(row, "No_License", month)
            continue
        add(row, "Total_Item_Investigations", month)
        add(row, "Unique_Item_Investigations", month, (e.session, e.item_public_id))
        add(row, "Unique_Title_Investigations", month, (e.session, e.title_key))
        if e.metric == "request":
            add(row, "Total_Item_Requests", month)
            add(row, "Unique_Item_Requests", month, (e.session, e.item_public_id))
            add(row, "Unique_Title_Requests", month, (e.session, e.title_key))
    return counts


class Counter:
    """COUNTER 5.1 reports of the usage log."""

    reports = REPORTS

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def available(self) -> tuple[str, str]:
        """The first and last month of usage processed and available: from the month of the first use logged
        (or the last complete month, if nothing was used before it) to the last complete month."""
        last = previous_month(month_of(self.catalog.clock.now()))
        with self.catalog.session() as s:
            first_use = s.scalar(select(func.min(UsageEvent.time)))
        first = min(month_of(first_use), last) if first_use is not None else last
        return first, last

    def report_list(self) -> list[dict[str, Any]]:
        """The reports this server offers, as COUNTER_SUSHI's report list."""
        first, last = self.available()
        return [
            {
                "Report_Name": k.name,
                "Report_ID": k.id.upper(),
                "Release": "5.1",
                "Report_Description": k.description,
                "Path": f"/r51/reports/{k.id}",
                "First_Month_Available": first,
                "Last_Month_Available": last,
            }
            for k in REPORTS.values()
        ]

    def status(self, node_name: str) -> list[dict[str, Any]]:
        """The SUSHI server's status (no Registry_Record: Strongroom nodes are not in the COUNTER Registry)."""
        return [{"Description": f"COUNTER Release 5.1 usage reports of {node_name}", "Service_Active": True}]

    def member(self, institution: str) -> dict[str, Any]:
        """An institution as COUNTER_SUSHI's member list gives it."""
        with self.catalog.session() as s:
            name = s.scalar(select(Institution.name).where(Institution.key == institution))
        if name is None:
            raise CounterError(f"no institution {institution!r}", hint="customer_id is an institution key")
        return {
            "Customer_ID": institution,
            "Institution_Name": name,
            "Institution_ID": {"Proprietary": [f"strongroom:{institution}"]},
        }

    def report(
        self,
        report_id: str,
        *,
        begin: str,
        end: str,
        institution: str | None = None,
        publisher: str | None = None,
        country: str | None = None,
        attributes: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A COUNTER_SUSHI 5.1 JSON report (``tr``, ``ir`` or a Standard View) for an institution or a publisher.

        ``begin`` and ``end`` are months (yyyy-mm) or dates; the report covers whole months that have ended.
        ``attributes`` are a Report's ``attributes_to_show`` (``Access_Type``, ``Access_Method``); what it cannot
        show, and a country for a Standard View (which has no such filter), are left out with an Exception."""
        kind = REPORTS.get(report_id)
        if kind is None:
            raise CounterError(
                f"no report {report_id!r}",
                hint=" or ".join(f"{k.id} ({k.name})" for k in REPORTS.values()),
            )
        if (institution is None) == (publisher is None):
            raise CounterError("a report is for one institution (customer_id) or one publisher", code=1030)
        try:
            wanted = period(begin, end, self.catalog.clock.now().date())
        except PeriodError as exc:
            raise CounterError(
                str(exc), hint="begin_date and end_date are months that have ended, begin first"
            ) from exc
        first, last = wanted.months[0], wanted.months[-1]
        exceptions = []
        if wanted.not_ready:
            begun, ending = wanted.not_ready
            months = begun if begun == ending else f"{begun} to {ending}"
            exceptions.append(exception(3031, f"{months}: a month is reported once it has ended"))
        if kind.master:
            shown = kind.attributes
            if attributes:
                exceptions.append(exception(3050, "attributes_to_show: a Standard View's attributes are fixed"))
            if country:
                exceptions.append(exception(3050, "country_code: a Standard View has no country filter"))
                country = None
        else:
            shown = tuple(a for a in kind.attributes if a in attributes)
            if unknown := [a for a in attributes if a not in kind.attributes]:
                exceptions.append(exception(3062, "attributes_to_show: " + "|".join(unknown)))
        with self.catalog.session() as s:
            stmt = select(UsageEvent).where(
                UsageEvent.time >= _start(first), UsageEvent.time < _start(next_month(last))
            )
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
            events = list(s.scalars(stmt.order_by(UsageEvent.time, UsageEvent.id)))
            found = _Found(
                titles={t.key: t for t in s.scalars(select(Title).where(Title.key.in_({e.title_key for e in events})))},
                publishers={p.id: p for p in s.scalars(select(Publisher))},
                items={
                    i.public_id or "": i
                    for i in s.scalars(select(Item).where(Item.public_id.in_({e.item_public_id for e in events})))
                },
                item_publisher={e.item_public_id: e.publisher_key for e in events},
                item_title={e.item_public_id: e.title_key for e in events},
            )
            rows: dict[str, dict[str, Any]] = {}
            for (key, yop, access), perf in sorted(
                _count(kind, events, shown, found).items(),
                key=lambda row: (row[0][0], _newest_first(row[0][1]), row[0][2]),
            ):
                performance = {m: dict(sorted(perf[m].items())) for m in kind.metrics if perf.get(m)}
                if not performance:
                    continue
                row_attributes = {"Data_Type": kind.data_type} if not kind.master else {}
                if "YOP" in shown:
                    row_attributes["YOP"] = yop
                if "Access_Type" in shown:
                    row_attributes["Access_Type"] = access
                if "Access_Method" in shown:
                    row_attributes["Access_Method"] = "Regular"
                entry = rows.setdefault(key, {**kind.describe(key, found), "Attribute_Performance": []})
                entry["Attribute_Performance"].append({**row_attributes, "Performance": performance})
            if kind.id == "ir":  # 5.1 groups items by their parent; without parent details, by journal
                by_title: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for key, entry in rows.items():
                    by_title[found.item_title.get(key, "")].append(entry)
                items: list[dict[str, Any]] = [{"Items": entries} for _, entries in sorted(by_title.items())]
            else:
                items = list(rows.values())
        filters: dict[str, Any] = {"Begin_Date": wanted.begin_date, "End_Date": wanted.end_date, **kind.filters}
        if country:
            filters["Country_Code"] = country.upper()  # the Common Extension filter (Code of Practice 5.1, 11)
        header: dict[str, Any] = {
            "Release": "5.1",
            "Report_ID": kind.id.upper(),
            "Report_Name": kind.name,
            "Institution_Name": name,
            "Institution_ID": {"Proprietary": [f"strongroom:{institution or 'publisher:' + str(publisher)}"]},
            "Report_Filters": filters,
            "Created": self.catalog.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Created_By": f"Strongroom {__version__}",
            "Registry_Record": "",
        }
        if shown and not kind.master:
            header["Report_Attributes"] = {"Attributes_To_Show": list(shown)}
        if not items:
            exceptions.append(exception(3030, f"no usage from {wanted.begin_date} to {wanted.end_date}"))
        if exceptions:
            header["Exceptions"] = exceptions
        return {"Report_Header": header, "Report_Items": items}

    def as_csv(self, data: dict[str, Any]) -> str:
        """A report in COUNTER's tabular form."""
        return tabular(data)


def _newest_first(yop: str) -> int:
    return -int(yop) if yop else 0


def _start(month: str) -> dt.datetime:
    return dt.datetime.fromisoformat(month + "-01").replace(tzinfo=dt.UTC)


def tabular(data: dict[str, Any]) -> str:
    """The tabular form: the report header rows, a blank row, then one row per item, access type and metric."""
    header = data["Report_Header"]
    filters = header["Report_Filters"]
    months = [filters["Begin_Date"][:7]]
    while months[-1] < filters["End_Date"][:7]:
        months.append(next_month(months[-1]))
    out = io.StringIO()
    w = csv.writer(out)
    for name in ("Report_Name", "Report_ID", "Release", "Institution_Name"):
        w.writerow([name, header[name]])
    w.writerow(
        [
            "Report_Filters",
            "; ".join(f"{k}={'|'.join(v) if isinstance(v, list) else v}" for k, v in filters.items()),
        ]
    )
    w.writerow(
        [
            "Exceptions",
            "; ".join(f"{e['Code']}: {e['Message']} ({e.get('Data', '')})" for e in header.get("Exceptions", [])),
        ]
    )
    w.writerow(["Created", header["Created"]])
    w.writerow(["Created_By", header["Created_By"]])
    w.writerow([])
    name = "Item" if header["Report_ID"] == "IR" else "Title"
    entries = [i for group in data["Report_Items"] for i in group["Items"]] if name == "Item" else data["Report_Items"]
    by_yop = any("YOP" in ap for entry in entries for ap in entry["Attribute_Performance"])
    w.writerow(
        [
            name,
            "Publisher",
            "Platform",
            "Proprietary_ID",
            "Data_Type",
            *(["YOP"] if by_yop else []),
            "Access_Type",
            "Metric_Type",
            "Reporting_Period_Total",
            *months,
        ]
    )
    for entry in entries:
        for ap in entry["Attribute_Performance"]:
            for metric, by_month in ap["Performance"].items():
                w.writerow(
                    [
                        entry.get(name, ""),
                        entry["Publisher"],
                        entry["Platform"],
                        entry["Item_ID"].get("Proprietary", ""),
                        ap.get("Data_Type", filters.get("Data_Type", [""])[0]),
                        *([ap.get("YOP", "")] if by_yop else []),
                        ap.get("Access_Type", ""),
                        metric,
                        sum(by_month.values()),
                        *(by_month.get(m, 0) for m in months),
                    ]
                )
    return out.getvalue()
