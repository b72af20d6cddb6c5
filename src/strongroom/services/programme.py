"""The access programme: publishers enroll titles for Group A and/or Group B, and every use of an item is logged
for COUNTER reports, as the Code of Practice 5.1 says (:mod:`strongroom.domain.usage`): robots and machines left
out by the COUNTER-Robots list, double-clicks on the same URL counted once, each use in its user-session."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from sqlalchemy import delete, select

from strongroom.catalog.models import Enrolment, Title, UsageEvent
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.usage import is_double_click, session_of, url_key, visitor_of
from strongroom.errors import NotFound, StrongroomError

METRICS = ("investigation", "request", "no_license")  # a page or file seen, a file (full text), a refusal


@cache
def _robots() -> re.Pattern[str]:
    # The published COUNTER-Robots list as the counter-robots package ships it; the list's maintainers ask for
    # case-insensitive matching, which the package's own is_robot() does not do.
    patterns = (files("counter_robots") / "data" / "robot.txt").read_text(encoding="utf-8").splitlines()
    return re.compile("|".join(p for p in patterns if p.strip()), re.IGNORECASE)


def is_robot(user_agent: str) -> bool:
    """Whether COUNTER reports must leave out a request from this user agent (an empty one included)."""
    return bool(_robots().search(user_agent.strip()))


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
        url: str = "",
        signin: str | None = None,
    ) -> bool:
        """Record one use of ``url`` (a page or file path); False when it is not counted (a robot).

        ``signin`` is the reader's sign-in session, if any. A request for the same URL by the same reader within 30
        seconds of their previous one is a double-click: the previous use is removed and this one kept."""
        if metric not in METRICS:
            raise StrongroomError(f"no usage metric {metric!r}", hint=" or ".join(METRICS))
        if is_robot(user_agent):
            return False
        now = self.catalog.clock.now()
        visitor, url_digest = visitor_of(address, user_agent, signin), url_key(url or item_public_id)
        with self.catalog.session() as s:
            previous = s.execute(
                select(UsageEvent.id, UsageEvent.time)
                .where(UsageEvent.visitor == visitor, UsageEvent.url == url_digest)
                .order_by(UsageEvent.time.desc(), UsageEvent.id.desc())
                .limit(1)
            ).first()
            if previous is not None and is_double_click(previous.time, now):
                s.execute(delete(UsageEvent).where(UsageEvent.id == previous.id))
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
                    session=session_of(now, address, user_agent, signin),
                    visitor=visitor,
                    url=url_digest,
                )
            )
        return True
