"""KBART Phase II (NISO RP-9-2014) holdings files: UTF-8, tab-separated, one header row of the 25 columns in their
order, titles sorted, and a title repeated as a new row after a coverage gap of 12 months or more.

Rows list *preserved* issues only (see :class:`~strongroom.formats.holdings.Holdings` for what "preserved" means).
The last-issue fields are left blank when the coverage runs to the present (KBART's way of saying "and onwards"),
which for an archive means the title is still being preserved as it appears (:func:`runs_to_present`); otherwise
they name the last issue preserved.

Must not import: anything above the base layer.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Iterator, Sequence

from strongroom.domain.names import sort_key
from strongroom.formats.holdings import IssueHolding, TitleHolding
from strongroom.formats.text import chunked

COLUMNS = (
    "publication_title",
    "print_identifier",
    "online_identifier",
    "date_first_issue_online",
    "num_first_vol_online",
    "num_first_issue_online",
    "date_last_issue_online",
    "num_last_vol_online",
    "num_last_issue_online",
    "title_url",
    "first_author",
    "title_id",
    "embargo_info",
    "coverage_depth",
    "notes",
    "publisher_name",
    "publication_type",
    "date_monograph_published_print",
    "date_monograph_published_online",
    "monograph_volume",
    "monograph_edition",
    "first_editor",
    "parent_publication_title_id",
    "preceding_publication_title_id",
    "access_type",
)
MEDIA_TYPE = "text/tab-separated-values; charset=utf-8"
GAP = dt.timedelta(days=365)  # "12 months or more" between two issues starts a new row

NOTE_DARK = "dark archive: preserved, readable once released by a trigger"
NOTE_RELEASED = "released by a trigger: free to read on the archive's portal"

_NUMBER = re.compile(r"(\d+)")


@functools.lru_cache(maxsize=4096)  # volumes and issues repeat ("1" to "12"): a report asks millions of times
def enumeration_key(value: str | None) -> tuple[tuple[int, int | str], ...]:
    """Volume and issue numbers in their natural order ("2" before "10", "S1" after the numbers)."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _NUMBER.split(value or "") if p)


def issue_order(i: IssueHolding) -> tuple[object, ...]:
    """The order of issues: by date (undated last), then volume and issue in their natural order."""
    return (i.date or dt.date.max, enumeration_key(i.volume), enumeration_key(i.issue))


def coverage_runs(issues: Sequence[IssueHolding]) -> list[list[IssueHolding]]:
    """The preserved issues in order, cut where two dated issues are 12 months or more apart."""
    runs: list[list[IssueHolding]] = []
    last: dt.date | None = None
    for issue in sorted((i for i in issues if i.preserved), key=issue_order):
        if not runs or (issue.date and last and issue.date - last >= GAP):
            runs.append([])
        runs[-1].append(issue)
        last = issue.date or last
    return runs


def runs_to_present(title: TitleHolding, run: Sequence[IssueHolding], generated: dt.date | None) -> bool:
    """Whether ``run`` (one of the title's coverage runs) runs to the present, as of ``generated``, the report's
    date: the title is a serial that is still coming in, that is ``run`` is its last run and its last preserved
    issue is dated in the report's calendar year or the one before (a yearly journal's next issue may not be out
    yet), and the title is neither released by a trigger nor from a publisher known to have ceased. A book, an
    undated last issue, or no report date (``None``): never."""
    if generated is None or title.kind == "book" or title.released or title.ceased or not run:
        return False
    return _open_ended(title, coverage_runs(title.issues), run, generated)


def _open_ended(
    title: TitleHolding, runs: Sequence[Sequence[IssueHolding]], run: Sequence[IssueHolding], generated: dt.date | None
) -> bool:
    """:func:`runs_to_present` with the title's runs already cut (a title's rows cut them once)."""
    if generated is None or title.kind == "book" or title.released or title.ceased or not run:
        return False
    if not runs or runs[-1][-1] != run[-1]:
        return False
    year = run[-1].year
    return year is not None and year >= generated.year - 1


def _clean(value: str | None) -> str:
    """A field's text: tabs and line breaks would break the row, so they become spaces."""
    return " ".join((value or "").split())


def title_rows(
    title: TitleHolding, *, generated: dt.date | None = None, runs: Sequence[Sequence[IssueHolding]] | None = None
) -> Iterator[list[str]]:
    """One title's data rows, one per coverage run (none when nothing of it is preserved); ``generated`` as for
    :func:`rows`; ``runs``, when given, the title's runs already cut (:func:`coverage_runs`: a run may then be its
    first and last issue only), else cut from its issues."""
    monograph = title.kind == "book"
    runs = coverage_runs(title.issues) if runs is None else runs
    for run in runs:
        first, last = run[0], run[-1]
        year = str(first.year) if monograph and first.year else ""
        row = {
            "publication_title": title.name,
            "print_identifier": title.isbn if monograph and title.isbn else title.issn_print,
            "online_identifier": title.issn_online,
            "date_first_issue_online": first.iso_date(),
            "num_first_vol_online": first.volume,
            "num_first_issue_online": first.issue,
            "date_last_issue_online": last.iso_date(),
            "num_last_vol_online": last.volume,
            "num_last_issue_online": last.issue,
            "title_url": title.url,
            "title_id": title.key,
            "coverage_depth": "fulltext",
            "notes": NOTE_RELEASED if title.released else NOTE_DARK,
            "publisher_name": title.publisher_name,
            "publication_type": "monograph" if monograph else "serial",
            "date_monograph_published_online": year,
            "access_type": "F" if title.released else "P",
        }
        if _open_ended(title, runs, run, generated):  # "to the present": the last issue is left open
            for c in ("date_last_issue_online", "num_last_vol_online", "num_last_issue_online"):
                row[c] = ""
        if monograph:  # a book has no issues: its coverage is its publication
            for c in ("date_first_issue_online", "date_last_issue_online"):
                row[c] = ""
        yield [_clean(row.get(c)) for c in COLUMNS]


def title_order(title: TitleHolding) -> tuple[str, str]:
    """The order of titles in a file: by name as every listing orders names (:mod:`strongroom.domain.names`), then
    key (a report, which knows the titles' ids, breaks ties by id as its pages do)."""
    return sort_key(title.name), title.key


def rows(titles: Sequence[TitleHolding], *, generated: dt.date | None = None) -> list[list[str]]:
    """The data rows (without the header), titles sorted by name, one row per coverage run. ``generated`` is the
    report's date: a run that runs to the present on it (:func:`runs_to_present`) has blank last-issue fields."""
    return [row for title in sorted(titles, key=title_order) for row in title_rows(title, generated=generated)]


def lines(titles: Iterable[TitleHolding], *, generated: dt.date | None = None) -> Iterator[str]:
    """The file as it is written, a line at a time (header first; LF line ends): ``titles`` must come in
    :func:`title_order` or a report's order (the same but for ties, by id there) (they are not sorted here, so that a
    long file is written as its titles are read)."""
    yield "\t".join(COLUMNS) + "\n"
    for title in titles:
        for row in title_rows(title, generated=generated):
            yield "\t".join(row) + "\n"


def run_lines(
    titles: Iterable[tuple[TitleHolding, Sequence[Sequence[IssueHolding]]]], *, generated: dt.date | None = None
) -> Iterator[str]:
    """:func:`lines` of titles whose coverage runs are already cut (a title's summary keeps them)."""
    yield "\t".join(COLUMNS) + "\n"
    for title, runs in titles:
        for row in title_rows(title, generated=generated, runs=runs):
            yield "\t".join(row) + "\n"


def write(titles: Sequence[TitleHolding], *, generated: dt.date | None = None) -> str:
    """The whole file: header and rows, tab-separated, LF line ends (encode it as UTF-8); ``generated`` as for
    :func:`rows`."""
    return "".join(lines(sorted(titles, key=title_order), generated=generated))


def encoded(lines: Iterable[str], size: int = 1 << 16) -> Iterator[bytes]:
    """Lines as UTF-8, about ``size`` characters a chunk (a chunk per line would cost more than the line)."""
    for chunk in chunked(lines, size):
        yield chunk.encode("utf-8")


def name_part(text: str) -> str:
    """One part of a KBART file name: letters and digits only, words joined in CamelCase ("Kumasi Academic
    Press" -> "KumasiAcademicPress"), since ``_`` separates the parts."""
    words = re.findall(r"[A-Za-z0-9]+", text)
    return "".join(w[:1].upper() + w[1:] for w in words) or "Unnamed"


def file_name(provider: str, package: str, day: dt.date, *, region: str = "Global") -> str:
    """``{Provider}_{Region}_{Package}_{YYYY-MM-DD}.txt``, as KBART recommends."""
    return f"{name_part(provider)}_{name_part(region)}_{name_part(package)}_{day.isoformat()}.txt"
