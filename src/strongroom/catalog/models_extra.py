"""The catalog tables of the node's other use cases: the board and its triggers, the publisher monitor, harvest
settings, eligibility (indicators, official lists, overrides), institutions and their IP ranges, enrolments, COUNTER
usage, accounts and their sign-ins, job progress, connectors, SUSHI keys and the PKP Preservation Network. Declared
only when one of them is used (``strongroom.catalog.models`` names them all and imports this module on first
access): a command that only reads the archive (``strongroom items``, ``au status``) declares and configures the
mappers of the archive's own tables alone. No relationship leads from those tables to these.

Must not import: services, faces.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from strongroom.catalog.models_core import Base, Publisher, Title, UTCDateTime


class BoardMember(Base):
    """A member of the board that decides triggers, with the Ed25519 key their votes are signed with."""

    __tablename__ = "board_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    public_key: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Trigger(Base):
    __tablename__ = "triggers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(20), unique=True)
    scope_kind: Mapped[str] = mapped_column(String(20))
    scope_ref: Mapped[str] = mapped_column(String(400))
    au_keys: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str] = mapped_column(String(40))
    explanation: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(20), index=True)
    decision: Mapped[str] = mapped_column(Text, default="")
    proposed_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    licence: Mapped[str | None] = mapped_column(String(500))

    votes: Mapped[list[TriggerVote]] = relationship(back_populates="trigger", order_by="TriggerVote.id")


class TriggerVote(Base):
    __tablename__ = "trigger_votes"
    __table_args__ = (UniqueConstraint("trigger_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger_id: Mapped[int] = mapped_column(ForeignKey("triggers.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("board_members.id"))
    choice: Mapped[str] = mapped_column(String(10))
    statement: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    trigger: Mapped[Trigger] = relationship(back_populates="votes")
    member: Mapped[BoardMember] = relationship()


class TitleWatch(Base):
    """Where the publisher still offers a preserved title: the addresses the monitor checks."""

    __tablename__ = "title_watches"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id"), unique=True)
    landing_url: Mapped[str | None] = mapped_column(String(1000))
    oai_url: Mapped[str | None] = mapped_column(String(1000))
    check_dois: Mapped[bool] = mapped_column(default=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    title: Mapped[Title] = relationship()


class MonitorCheck(Base):
    """One check of one publisher address, kept as evidence: what was asked, when, and what came back."""

    __tablename__ = "monitor_checks"
    __table_args__ = (Index("ix_monitor_checks_title_time", "title_id", "time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id"))
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(1000))
    ok: Mapped[bool] = mapped_column()
    status: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")


class HarvestConfig(Base):
    """How a title is collected from its publisher's site: the plan (by name) and its settings."""

    __tablename__ = "harvest_configs"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_key: Mapped[str] = mapped_column(String(200), unique=True)
    title_name: Mapped[str] = mapped_column(String(1000))
    publisher: Mapped[str] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(2))
    plan: Mapped[str] = mapped_column(String(40))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    every_days: Mapped[int | None] = mapped_column(Integer)
    closed_aus: Mapped[list[Any]] = mapped_column(default=list)
    last_run: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class IndicatorImport(Base):
    """One imported indicator file: what it was, where it came from, when."""

    __tablename__ = "indicator_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(1000))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    values: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[list[Any]] = mapped_column(default=list)


class IndicatorValue(Base):
    __tablename__ = "indicator_values"
    __table_args__ = (Index("ix_indicator_values_lookup", "country", "indicator", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("indicator_imports.id"))
    country: Mapped[str] = mapped_column(String(2))
    indicator: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)


class OfficialList(Base):
    """An officially published list of eligible countries: authoritative from its effective date."""

    __tablename__ = "official_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(1000))
    effective: Mapped[dt.date] = mapped_column(Date)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    entries: Mapped[dict[str, Any]] = mapped_column(default=dict)  # alpha-2 -> "A" or "B"


class EligibilityOverride(Base):
    __tablename__ = "eligibility_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    group: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(default=True)


class Institution(Base):
    """An institution registered for the access programme, with its contacts, its state and its dates."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2), index=True)
    address: Mapped[str] = mapped_column(Text, default="")
    director: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name, email
    librarian: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    group_at_validation: Mapped[str | None] = mapped_column(String(10))
    trial_until: Mapped[dt.date | None] = mapped_column(Date)
    paid_through: Mapped[dt.date | None] = mapped_column(Date)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    ranges: Mapped[list[IpRange]] = relationship(back_populates="institution", order_by="IpRange.id")


class IpRange(Base):
    """An institution's network, by which its readers are recognised without a password. ``first`` and ``last``
    are the range's ends as 32 hex digits, so IPv4 and IPv6 ranges compare in SQL."""

    __tablename__ = "ip_ranges"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    cidr: Mapped[str] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer)
    first: Mapped[str] = mapped_column(String(32), index=True)
    last: Mapped[str] = mapped_column(String(32))

    institution: Mapped[Institution] = relationship(back_populates="ranges")


class Enrolment(Base):
    """A title a publisher enrolled in the access programme, for Group A, Group B or both."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id"), unique=True)
    groups: Mapped[list[Any]] = mapped_column(default=list)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(default=True)


class UsageEvent(Base):
    """One counted use of an item (COUNTER: an investigation, or a request for its full text)."""

    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_time", "time"),
        Index("ix_usage_events_visitor_url", "visitor", "url"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    institution: Mapped[str | None] = mapped_column(String(20), index=True)
    country: Mapped[str | None] = mapped_column(String(2))
    item_public_id: Mapped[str] = mapped_column(String(16))
    title_key: Mapped[str] = mapped_column(String(200))
    publisher_key: Mapped[str] = mapped_column(String(200), index=True)
    metric: Mapped[str] = mapped_column(String(40))  # "investigation", "request" or "no_license" (a denial)
    access: Mapped[str] = mapped_column(String(20))  # "open" (released) or "controlled" (the programme)
    session: Mapped[str] = mapped_column(String(64))  # the COUNTER user-session (digest), for the Unique_ metrics
    visitor: Mapped[str] = mapped_column(String(64), default="")  # who clicked (digest), for double-clicks
    url: Mapped[str] = mapped_column(String(64), default="")  # the URL requested (digest), for double-clicks


class Account(Base):
    """A sign-in: an institution's one institutional account or a named user under it, a publisher's staff, or the
    archive's own staff with their console ``roles`` (space-separated: operator, network-admin, board)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    publisher_id: Mapped[int | None] = mapped_column(ForeignKey("publishers.id"), index=True)  # a publisher's staff
    username: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # institutional, named, or staff
    display_name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    roles: Mapped[str] = mapped_column(String(100), default="")  # the archive's staff: their console roles
    board_member: Mapped[str] = mapped_column(String(200), default="")  # a board account: the member it votes as

    institution: Mapped[Institution | None] = relationship()
    publisher: Mapped[Publisher | None] = relationship()


class JobProgress(Base):
    """How far a running job has got, as its worker reports it, for the console to show (the job's state is the
    queue's)."""

    __tablename__ = "job_progress"

    job_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(500), default="")
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text, default="")
    started_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class RangeRequest(Base):
    """An institution's request to change its address ranges, waiting for an operator to confirm or refuse it."""

    __tablename__ = "range_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    added: Mapped[list[str]] = mapped_column(JSON)
    removed: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))  # pending, confirmed, refused
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")

    institution: Mapped[Institution] = relationship()


class SignInSession(Base):
    __tablename__ = "signin_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SignInFailure(Base):
    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Connector(Base):
    """A Research4Life Country Connector: a country, its host institution, since when."""

    __tablename__ = "connectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), unique=True)
    host: Mapped[str] = mapped_column(String(500))
    contact: Mapped[str] = mapped_column(String(500), default="")
    since: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)


class SushiKey(Base):
    """The COUNTER_SUSHI API key of one report subject (``institution:KEY`` or ``publisher:KEY``), kept hashed."""

    __tablename__ = "sushi_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(250), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class PkpJournal(Base):
    """An OJS journal known to the PKP PN deposit service: registered by its plugin's service-document request."""

    __tablename__ = "pkppn_journals"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)  # upper case, as the plugin's UUIDs are compared
    title: Mapped[str] = mapped_column(String(1000), default="")
    journal_url: Mapped[str] = mapped_column(String(2000), default="")
    issn: Mapped[str | None] = mapped_column(String(9))
    publisher_name: Mapped[str] = mapped_column(String(500), default="")
    publisher_url: Mapped[str] = mapped_column(String(2000), default="")
    email: Mapped[str] = mapped_column(String(500), default="")
    language: Mapped[str] = mapped_column(String(10), default="en")  # from Accept-Language: the manager's messages
    status: Mapped[str] = mapped_column(String(20), default="new")  # new, accepted, refused
    status_note: Mapped[str] = mapped_column(Text, default="")
    ojs_version: Mapped[str | None] = mapped_column(String(40))
    terms_accepted: Mapped[bool | None] = mapped_column()
    handshake_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    handshake_error: Mapped[str] = mapped_column(Text, default="")
    title_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PkpDeposit(Base):
    """One deposit the plugin sent (an OJS issue): where to fetch it, and how far processing has got."""

    __tablename__ = "pkppn_deposits"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("pkppn_journals.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    size_kb: Mapped[int] = mapped_column(BigInteger, default=0)
    checksum_type: Mapped[str] = mapped_column(String(10))
    checksum_value: Mapped[str] = mapped_column(String(128))
    volume: Mapped[str] = mapped_column(String(40), default="")
    issue: Mapped[str] = mapped_column(String(40), default="")
    pubdate: Mapped[str] = mapped_column(String(40), default="")
    ojs_version: Mapped[str] = mapped_column(String(40), default="")
    licence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(30), index=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"message": msgid, "params": {...}, "detail": ...}
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    au_key: Mapped[str | None] = mapped_column(String(300))
    au_version: Mapped[int | None] = mapped_column(Integer)
    received_count: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deposited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    preserved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # the network first held enough copies
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # a process is working on it until then

    journal: Mapped[PkpJournal] = relationship()
