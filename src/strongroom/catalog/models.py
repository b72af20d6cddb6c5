"""SQLAlchemy 2 models of the catalog. Schema changes go through Alembic migrations in ``migrations/``;
a test checks the models and the migrations agree.

Every table is imported from here. The archive's own (publishers, titles, AUs and their versions, items, files,
events, the search queue), which nearly every command reads, are declared in :mod:`strongroom.catalog.models_core`;
the other use cases' in :mod:`strongroom.catalog.models_extra`, imported on first access to one of their names
(PEP 562): declaring and configuring a mapper costs a command that only lists items about as much as its query.
What needs every table (migrations, a schema comparison) asks :func:`all_models`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData

from strongroom.catalog.models_core import (
    SEARCH_ENGINE_OBJECTS,
    ArchivalUnit,
    AUVersion,
    Base,
    Event,
    File,
    Item,
    Publisher,
    SearchQueue,
    Title,
    TitleSummary,
    UTCDateTime,
    include_name,
)

if TYPE_CHECKING:
    from strongroom.catalog.models_extra import (
        Account,
        BoardMember,
        Connector,
        EligibilityOverride,
        Enrolment,
        HarvestConfig,
        IndicatorImport,
        IndicatorValue,
        Institution,
        IpRange,
        JobProgress,
        MonitorCheck,
        OfficialList,
        PkpDeposit,
        PkpJournal,
        RangeRequest,
        SignInFailure,
        SignInSession,
        SushiKey,
        TitleWatch,
        Trigger,
        TriggerVote,
        UsageEvent,
    )

EXTRA = frozenset(
    (
        "Account",
        "BoardMember",
        "Connector",
        "EligibilityOverride",
        "Enrolment",
        "HarvestConfig",
        "IndicatorImport",
        "IndicatorValue",
        "Institution",
        "IpRange",
        "JobProgress",
        "MonitorCheck",
        "OfficialList",
        "PkpDeposit",
        "PkpJournal",
        "RangeRequest",
        "SignInFailure",
        "SignInSession",
        "SushiKey",
        "TitleWatch",
        "Trigger",
        "TriggerVote",
        "UsageEvent",
    )
)
__all__ = [
    "SEARCH_ENGINE_OBJECTS",
    "AUVersion",
    "Account",
    "ArchivalUnit",
    "Base",
    "BoardMember",
    "Connector",
    "EligibilityOverride",
    "Enrolment",
    "Event",
    "File",
    "HarvestConfig",
    "IndicatorImport",
    "IndicatorValue",
    "Institution",
    "IpRange",
    "Item",
    "JobProgress",
    "MonitorCheck",
    "OfficialList",
    "PkpDeposit",
    "PkpJournal",
    "Publisher",
    "RangeRequest",
    "SearchQueue",
    "SignInFailure",
    "SignInSession",
    "SushiKey",
    "Title",
    "TitleSummary",
    "TitleWatch",
    "Trigger",
    "TriggerVote",
    "UTCDateTime",
    "UsageEvent",
    "all_models",
    "include_name",
]


def __getattr__(name: str) -> Any:
    if name in EXTRA:
        from strongroom.catalog import models_extra

        return getattr(models_extra, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def all_models() -> MetaData:
    """The metadata of every table, the other use cases' included (for migrations and schema comparisons)."""
    from strongroom.catalog import models_extra  # noqa: F401 - declares its tables

    return Base.metadata
