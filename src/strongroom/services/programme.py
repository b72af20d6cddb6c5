"""The access programme: publishers enroll titles for Group A and/or Group B, and every use of an item is logged
once (robots filtered, double clicks counted once) for COUNTER reports."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from sqlalchemy import select

from strongroom.catalog.models import Enrolment, Title, UsageEvent
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import NotFound, StrongroomError

DOUBLE_CLICK = dt.timedelta(seconds=30)  # COUNTER: the same use within 30 seconds counts once
# User agents COUNTER reports must leave out (a selection of the COUNTER-Robots list's patterns).
ROBOTS = re.compile(
    r"bot|crawl|spider|slurp|archiver|curl|wget|python-requests|httpx|libwww|java/|go-http-client|headless|"
    r"facebookexternalhit|ia_archiver|scrapy|pingdom|uptime|monitor|preview|fetch|^$",
    re.IGNORECASE,
)


def is_robot(user_agent: str) -> bool:
    return bool(ROBOTS.search(user_agent.strip()))


def session_of(address: str, user_agent: str) -> str:
    return hashlib.sha256(f"{address}\x00{user_agent}".encode()).hexdigest()


class Programme:
    """Publishers' enrolment of titles in the access programme, and the usage log."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def enroll(self, title_key: str, groups: set[str], *, by: str) -> None:
        if not groups or not groups <= {"A", "B"}:
            raise StrongroomError("enroll a title for group A, group B or both", hint="--groups A,B")
        with self.catalog.session() as s:
            title = s.scalar(select(Title).where(Title.key == title_key))
            if title is None:
                raise NotFound(f"no title {title_key!r}", hint="list them with: strongroom titles")
            found = s.scalar(select(Enrolment).where(Enrolment.title_id == title.id))
            if found is None:
                found = Enrolment(title_id=title.id, enrolled_at=self.catalog.clock.now())
                s.add(found)
            found.groups, found.active = sorted(groups), True
            self.catalog.record_event(
                s,
                EventType.INSTITUTION,
                EventOutcome.SUCCESS,
                agent=by,
                object_type="title",
                object_key=title_key,
                detail=f"enrolled in the programme for group {'/'.join(sorted(groups))}",
            )

    def withdraw(self, title_key: str, *, by: str) -> None:
        with self.catalog.session() as s:
            found = s.scalar(select(Enrolment).join(Title).where(Title.key == title_key))
            if found is None:
                raise NotFound(f"{title_key} is not enrolled")
            found.active = False
            self.catalog.record_event(
                s,
                EventType.INSTITUTION,
                EventOutcome.SUCCESS,
                agent=by,
                object_type="title",
                object_key=title_key,
                detail="withdrawn from the programme",
            )

    def log_use(
        self,
        *,
        item_public_id: str,
        title_key: str,
        publisher_key: str,
        metric: str,
        access: str,
        institution: str | None,
        country: str | None,
        address: str,
        user_agent: str,
    ) -> bool:
        """Record one use; False when it is not counted (a robot, or the same use again within 30 seconds)."""
        if is_robot(user_agent):
            return False
        now = self.catalog.clock.now()
        session = session_of(address, user_agent)
        with self.catalog.session() as s:
            recent = s.scalar(
                select(UsageEvent.id).where(
                    UsageEvent.session == session,
                    UsageEvent.item_public_id == item_public_id,
                    UsageEvent.metric == metric,
                    UsageEvent.time >= now - DOUBLE_CLICK,
                )
            )
            if recent is not None:
                return False
            s.add(
                UsageEvent(
                    time=now,
                    institution=institution,
                    country=country,
                    item_public_id=item_public_id,
                    title_key=title_key,
                    publisher_key=publisher_key,
                    metric=metric,
                    access=access,
                    session=session,
                )
            )
        return True
