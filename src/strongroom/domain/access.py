"""The access decision: may this reader open this item? One function of the item's state and the reader's
institution, returning allow or deny with the reason and, when denied, what to do. The portal asks it for every
page and download that is not released content.

Reasons and next steps are :class:`~strongroom.domain.text.Text`: English strings that keep their message id, so
the portal shows them in the reader's language (every one is in the portal's translation catalogs).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from strongroom.domain.text import N_


class ItemState(StrEnum):
    DARK = "dark"  # preserved, neither released nor enrolled
    ENROLLED = "enrolled"  # a publisher enrolled it in the programme (for group A, B or both)
    RELEASED = "released"  # triggered and released: open to everyone


class InstitutionStatus(StrEnum):
    PENDING = "pending"
    VALIDATED = "validated"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class Reader:
    """Who asks: an institution (recognised by account or IP range), or nobody (None institution)."""

    institution: str | None = None  # its name
    status: InstitutionStatus | None = None
    key: str | None = None  # its registration key, for usage reports
    country: str | None = None
    group: str = "none"  # the institution's country's group now: A, B or none
    trial_until: dt.date | None = None
    paid_through: dt.date | None = None


@dataclass(frozen=True)
class Decision:
    allow: bool
    reason: str
    next_step: str = ""


def decide(state: ItemState, enrolled_for: frozenset[str], reader: Reader, today: dt.date) -> Decision:
    if state is ItemState.RELEASED:
        return Decision(True, N_("released: open access to everyone under its licence"))
    if state is ItemState.DARK:
        return Decision(
            False,
            N_("preserved in the dark archive and not released"),
            N_("nothing to do: it opens only if the board releases it"),
        )
    if reader.institution is None:
        return Decision(
            False,
            N_("enrolled in the access programme: readers at eligible institutions only"),
            N_("sign in with your institution's account, or connect from its network"),
        )
    who = reader.institution
    if reader.status is not InstitutionStatus.VALIDATED:
        status = reader.status or InstitutionStatus.PENDING
        reasons = {
            InstitutionStatus.PENDING: N_("%(institution)s is pending, not validated", institution=who),
            InstitutionStatus.REJECTED: N_("%(institution)s is rejected, not validated", institution=who),
            InstitutionStatus.SUSPENDED: N_("%(institution)s is suspended, not validated", institution=who),
        }
        steps = {
            InstitutionStatus.PENDING: N_("wait for validation (two to four weeks) or write to the programme"),
            InstitutionStatus.REJECTED: N_("read the reason given with the decision; write to the programme to appeal"),
            InstitutionStatus.SUSPENDED: N_("your librarian can ask the programme why and how to lift the suspension"),
        }
        return Decision(False, reasons[status], steps[status])
    if reader.group == "none":
        return Decision(
            False,
            N_("%(institution)s's country is not eligible for the programme", institution=who),
            N_("the publisher may offer other access; country lists are reviewed every year"),
        )
    if reader.group not in enrolled_for:
        return Decision(
            False,
            N_(
                "the publisher enrolled this title for group %(groups)s only, "
                "and %(institution)s is in group %(group)s",
                groups="/".join(sorted(enrolled_for)) or "-",
                institution=who,
                group=reader.group,
            ),
            N_("ask your librarian"),
        )
    if reader.group == "A":
        return Decision(True, N_("%(institution)s is a validated group A institution: free access", institution=who))
    if reader.trial_until is not None and today <= reader.trial_until:
        return Decision(
            True, N_("%(institution)s is in its group B trial until %(date)s", institution=who, date=reader.trial_until)
        )
    if reader.paid_through is not None and today <= reader.paid_through:
        return Decision(
            True,
            N_("%(institution)s's group B fee is paid through %(date)s", institution=who, date=reader.paid_through),
        )
    lapsed = max(d for d in (reader.trial_until, reader.paid_through, dt.date.min) if d is not None)
    return Decision(
        False,
        N_("%(institution)s's group B access lapsed on %(date)s", institution=who, date=lapsed)
        if lapsed != dt.date.min
        else N_("%(institution)s has neither a trial nor a paid subscription", institution=who),
        N_("your librarian can renew the yearly fee with the programme"),
    )
