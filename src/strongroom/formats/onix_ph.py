"""ONIX for Preservation Holdings (EDItEUR ONIX-PH 0.2), the feed archiving agencies send the Keepers Registry:
one ``HoldingsRecord`` per title with an ISSN, keyed by that ISSN (the online one, else the print one), and one
``PackageDetail`` per *preserved* issue, at volume and issue level, in the shape PKP PN publishes.

A title without an ISSN cannot be matched by the registry and is left out; so is an issue with neither a volume,
an issue number nor a date.

Must not import: anything above the base layer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from lxml import etree

from strongroom.formats.holdings import Holdings, IssueHolding, TitleHolding
from strongroom.formats.kbart import coverage_runs
from strongroom.formats.text import xml_safe
from strongroom.formats.xmlsafe import nsmap

NAMESPACE = "http://www.editeur.org/onix/serials/SOH"
VERSION = "0.2"
MEDIA_TYPE = "application/xml"
ISSN_TYPE = "07"
PRESERVED = "05"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}")
    if text is not None:
        element.text = xml_safe(text)
    return element


def _yyyymmdd(day: dt.date) -> str:
    return f"{day:%Y%m%d}"


def key_issn(title: TitleHolding) -> str | None:
    """The ISSN a title's record is keyed by: the online one, else the print one."""
    return title.issn_online or title.issn_print


def listed_issues(title: TitleHolding) -> list[IssueHolding]:
    """The issues of ``title`` the feed lists: preserved, enumerated or dated, in order."""
    return [i for run in coverage_runs(title.issues) for i in run if i.volume or i.issue or i.date]


def _package_detail(parent: etree._Element, issue: IssueHolding, status_date: dt.date) -> None:
    detail = _sub(parent, "PackageDetail")
    coverage = _sub(detail, "Coverage")
    _sub(coverage, "CoverageDescriptionLevel", "03")
    _sub(coverage, "SupplementInclusion", "04")
    _sub(coverage, "IndexInclusion", "04")
    release = _sub(_sub(coverage, "FixedCoverage"), "Release")
    if issue.volume or issue.issue:
        enumeration = _sub(release, "Enumeration")
        for level, unit, number in (("Level1", "Volume", issue.volume), ("Level2", "Issue", issue.issue)):
            if number:
                element = _sub(enumeration, level)
                _sub(element, "Unit", unit)
                _sub(element, "Number", number)
    if issue.date:
        nominal = _sub(release, "NominalDate")
        _sub(nominal, "Calendar", "00")
        _sub(nominal, "DateFormat", "00" if issue.exact else "05")  # ONIX list 55: YYYYMMDD, or YYYY
        _sub(nominal, "Date", _yyyymmdd(issue.date) if issue.exact else f"{issue.date.year:04d}")
    status = _sub(detail, "PreservationStatus")
    _sub(status, "PreservationStatusCode", PRESERVED)
    _sub(status, "DateOfStatus", _yyyymmdd(status_date))
    _sub(detail, "VerificationStatus", "01")


def build(holdings: Holdings, titles: Sequence[TitleHolding] | None = None) -> etree._Element:
    """The feed's root element, for ``titles`` (default: all the report's)."""
    root = etree.Element(f"{{{NAMESPACE}}}ONIXPreservationHoldings", nsmap=nsmap(NAMESPACE), version=VERSION)
    header = _sub(root, "Header")
    _sub(_sub(header, "Sender"), "SenderName", holdings.provider)
    _sub(header, "SentDateTime", _yyyymmdd(holdings.generated.date()))
    _sub(header, "CompleteFile")
    listing = _sub(root, "HoldingsList")
    _sub(_sub(listing, "PreservationAgency"), "PreservationAgencyName", holdings.provider)
    for title in holdings.titles if titles is None else titles:
        issn, issues = key_issn(title), listed_issues(title)
        if issn is None or not issues:
            continue
        record = _sub(listing, "HoldingsRecord")
        _sub(record, "NotificationType", "00")
        version = _sub(record, "ResourceVersion")
        identifier = _sub(version, "ResourceVersionIdentifier")
        _sub(identifier, "ResourceVersionIDType", ISSN_TYPE)
        _sub(identifier, "IDValue", issn)
        name = _sub(version, "Title")
        _sub(name, "TitleType", "01")
        _sub(name, "TitleText", title.name)
        if title.publisher_name:
            publisher = _sub(version, "Publisher")
            _sub(publisher, "PublishingRole", "01")
            _sub(publisher, "PublisherName", title.publisher_name)
        package = _sub(version, "OnlinePackage")
        website = _sub(package, "Website")
        _sub(website, "WebsiteRole", "05")
        _sub(website, "WebsiteLink", title.url)
        for issue in issues:
            _package_detail(package, issue, holdings.generated.date())
    return root


def write(holdings: Holdings, titles: Sequence[TitleHolding] | None = None) -> bytes:
    """The feed as UTF-8 bytes with an XML declaration."""
    return bytes(etree.tostring(build(holdings, titles), xml_declaration=True, encoding="UTF-8", pretty_print=True))
