"""Closed vocabularies of the model and the plain records that carry metadata between layers.

Records here are immutable dataclasses with no behaviour that needs I/O; parsers (``formats``) produce them,
the catalog stores them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class PublisherStatus(StrEnum):
    ACTIVE = "active"
    CEASED = "ceased"
    UNKNOWN = "unknown"


class TitleKind(StrEnum):
    JOURNAL = "journal"
    BOOK = "book"
    BOOK_SERIES = "book-series"


class AUState(StrEnum):
    CONFIGURED = "configured"
    COLLECTED = "collected"
    CLOSED = "closed"


class ItemType(StrEnum):
    RESEARCH_ARTICLE = "research-article"
    REVIEW_ARTICLE = "review-article"
    EDITORIAL = "editorial"
    BOOK_REVIEW = "book-review"
    LETTER = "letter"
    CASE_REPORT = "case-report"
    BOOK = "book"
    CHAPTER = "chapter"
    OTHER = "other"

    @classmethod
    def from_jats(cls, value: str | None) -> ItemType:
        """Map a JATS ``@article-type`` to the closed vocabulary (unknown values become ``other``)."""
        if not value:
            return cls.RESEARCH_ARTICLE
        mapping = {
            "research-article": cls.RESEARCH_ARTICLE,
            "review-article": cls.REVIEW_ARTICLE,
            "editorial": cls.EDITORIAL,
            "book-review": cls.BOOK_REVIEW,
            "letter": cls.LETTER,
            "case-report": cls.CASE_REPORT,
        }
        return mapping.get(value.strip().lower(), cls.OTHER)


class FileSource(StrEnum):
    """How a file came to be stored."""

    DEPOSIT = "deposit"
    HARVEST = "harvest"
    GENERATED = "generated"  # written by Strongroom itself (metadata records)


class FileRole(StrEnum):
    """What a file is for, within its item."""

    METADATA = "metadata"  # JATS XML and other metadata records
    FULLTEXT = "fulltext"  # PDF, HTML, full-text XML
    SUPPLEMENT = "supplement"
    OTHER = "other"


class EventType(StrEnum):
    """PREMIS-style event types (names follow the PREMIS eventType vocabulary where one exists)."""

    INGESTION = "ingestion"
    VALIDATION = "validation"
    FIXITY_CHECK = "fixity check"
    REPLICATION = "replication"
    POLL = "poll"
    REPAIR = "repair"
    TRIGGER = "trigger"
    RELEASE = "release"
    DISSEMINATION = "dissemination"  # an export
    DELETION = "deletion"
    CREATION = "creation"  # a node created
    RECOVERY = "recovery"  # crash recovery finished an interrupted write
    MONITOR = "monitor"  # a watched title changed availability at its publisher
    ELIGIBILITY = "eligibility"  # indicator or official list imports, overrides
    INSTITUTION = "institution"  # registration, validation, rejection, suspension, payment
    PUBLISHER = "publisher"  # a publisher's staff accounts
    PKPPN = "pkppn"  # an OJS journal registered, accepted or refused; a PKP PN deposit received or failed
    CONSOLE = "console"  # the archive's staff accounts, and what a person did in the console


class EventOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    WARNING = "warning"


@dataclass(frozen=True)
class Contributor:
    """An author (or editor) of an item."""

    name: str
    orcid: str | None = None
    affiliations: tuple[str, ...] = ()
    role: str = "author"

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "orcid": self.orcid,
            "affiliations": list(self.affiliations),
            "role": self.role,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Contributor:
        affs = data.get("affiliations") or []
        assert isinstance(affs, list)
        orcid = data.get("orcid")
        return cls(
            name=str(data["name"]),
            orcid=str(orcid) if orcid else None,
            affiliations=tuple(str(a) for a in affs),
            role=str(data.get("role") or "author"),
        )


@dataclass(frozen=True)
class JournalMeta:
    """What a JATS ``journal-meta`` (or a package's options) says about the title and its publisher."""

    title: str | None = None
    issn_print: str | None = None
    issn_online: str | None = None
    isbn: str | None = None
    publisher_name: str | None = None
    publisher_country: str | None = None  # ISO 3166-1 alpha-2 where known
    abbrev_title: str | None = None


@dataclass(frozen=True)
class ArticleMeta:
    """What a JATS ``article-meta`` says about one item."""

    title: str
    doi: str | None = None
    contributors: tuple[Contributor, ...] = ()
    publication_date: dt.date | None = None
    year: int | None = None
    volume: str | None = None
    issue: str | None = None
    first_page: str | None = None
    last_page: str | None = None
    abstract: str | None = None
    keywords: tuple[str, ...] = ()
    licence: str | None = None  # a licence URL where given, else its text
    language: str | None = None  # ISO 639 code as given in xml:lang
    item_type: ItemType = ItemType.RESEARCH_ARTICLE
    journal: JournalMeta = field(default_factory=JournalMeta)

    @property
    def pages(self) -> str | None:
        if self.first_page and self.last_page and self.first_page != self.last_page:
            return f"{self.first_page}-{self.last_page}"
        return self.first_page
