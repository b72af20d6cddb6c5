"""What a publisher pays to be preserved: free in Group A countries and in Research4Life Connector countries,
reduced in Group B countries, the full fee elsewhere (the amounts are settings). The Connector countries and
their host institutions are a registry staff maintain."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from strongroom.catalog.models import Connector, Publisher
from strongroom.catalog.repo import Catalog
from strongroom.domain.identifiers import normalise_country
from strongroom.errors import NotFound, StrongroomError
from strongroom.services.eligibility import Eligibility
from strongroom.settings import FeeSettings


@dataclass(frozen=True)
class Fee:
    country: str
    tier: str  # free, reduced, full
    amount: int
    currency: str
    why: str


class Fees:
    """Preservation fees and the Connector countries."""

    def __init__(self, catalog: Catalog, eligibility: Eligibility, settings: FeeSettings) -> None:
        self.catalog = catalog
        self.eligibility = eligibility
        self.settings = settings

    def add_connector(self, country: str, *, host: str, since: int, contact: str = "") -> None:
        if not host.strip():
            raise StrongroomError("a Connector has a host institution", hint="pass --host")
        code = normalise_country(country)
        with self.catalog.session() as s:
            found = s.scalar(select(Connector).where(Connector.country == code))
            if found is None:
                s.add(Connector(country=code, host=host, contact=contact, since=since, active=True))
            else:
                found.host, found.contact, found.since, found.active = host, contact, since, True

    def remove_connector(self, country: str) -> None:
        code = normalise_country(country)
        with self.catalog.session() as s:
            found = s.scalar(select(Connector).where(Connector.country == code, Connector.active))
            if found is None:
                raise NotFound(f"{code} is not a Connector country")
            found.active = False

    def connectors(self) -> list[Connector]:
        with self.catalog.session() as s:
            return list(s.scalars(select(Connector).where(Connector.active).order_by(Connector.country)))

    def fee_for_country(self, country: str) -> Fee:
        code = normalise_country(country)
        with self.catalog.session() as s:
            connector = s.scalar(select(Connector).where(Connector.country == code, Connector.active))
        group = self.eligibility.status(code).final
        if group == "A":
            return Fee(code, "free", 0, self.settings.currency, f"{code} is a Group A country")
        if connector is not None:
            return Fee(
                code,
                "free",
                0,
                self.settings.currency,
                f"{code} is a Research4Life Connector country (host: {connector.host}, since {connector.since})",
            )
        if group == "B":
            return Fee(code, "reduced", self.settings.reduced, self.settings.currency, f"{code} is a Group B country")
        return Fee(
            code,
            "full",
            self.settings.full,
            self.settings.currency,
            f"{code} is neither in Group A or B nor a Connector",
        )

    def fee_for_publisher(self, publisher_key: str) -> Fee:
        with self.catalog.session() as s:
            publisher = s.scalar(select(Publisher).where(Publisher.key == publisher_key))
        if publisher is None:
            raise NotFound(f"no publisher {publisher_key!r}", hint="list them with: strongroom publishers")
        if not publisher.country:
            raise StrongroomError(f"{publisher.name} has no country on record, so its fee tier is not known")
        return self.fee_for_country(publisher.country)
