"""Harvest plans: what to collect from a publisher's site and which archival unit each address belongs to.

A plan is one class plus one registration (``@register``). Plans are chosen by name in a title's harvest
configuration; ``ojs`` knows Open Journal Systems sites, ``generic`` takes start URLs, include and exclude
patterns, a depth and an AU rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from strongroom.errors import StrongroomError

# what an OJS page needs to display (its stylesheets' fonts and images, its media too)
ASSETS = re.compile(
    r"\.(css|js|png|jpe?g|gif|svg|webp|avif|ico|woff2?|ttf|otf|eot|mp4|webm|mp3|ogg|oga|ogv|vtt)$", re.IGNORECASE
)
YEAR = re.compile(r"\((\d{4})\)|\b(19\d\d|20\d\d)\b")


@dataclass(frozen=True)
class Link:
    url: str
    text: str  # an <a>'s text; an asset's is "stylesheet" for a stylesheet (its addresses are relative to it)
    kind: str  # "a", "asset" (what a page needs to display: stylesheet, script, image, font, media, frame, icon)


class Plan(Protocol):
    name: ClassVar[str]

    def seeds(self) -> list[str]: ...

    def permission_url(self) -> str: ...

    def in_scope(self, url: str) -> bool: ...

    def au_for(self, url: str, parent_au: str | None, link: Link | None) -> str | None:
        """The AU label a URL belongs to (None: a page every AU keeps, such as the manifest)."""
        ...

    def max_depth(self) -> int: ...


PLANS: dict[str, Callable[[dict[str, Any]], Plan]] = {}


def register(name: str) -> Callable[[type[Any]], type[Any]]:
    def add(cls: type[Any]) -> type[Any]:
        PLANS[name] = cls
        cls.name = name
        return cls

    return add


def make_plan(name: str, config: dict[str, Any]) -> Plan:
    if name not in PLANS:
        raise StrongroomError(f"no harvest plan {name!r}", hint=f"plans: {', '.join(sorted(PLANS))}")
    return PLANS[name](config)


@register("ojs")
@dataclass
class OjsPlan:
    """Open Journal Systems: start from the publisher manifest (``…/gateway/clockss``) or the issue archive,
    follow issues, articles, galleys and the assets they need; stay out of search, login, user and statistics
    pages; an issue's AU is the year its manifest or archive entry names."""

    config: dict[str, Any]
    name: ClassVar[str] = "ojs"
    EXCLUDE: ClassVar[re.Pattern[str]] = re.compile(
        r"/(search|login|user|stats|statistics|notification|payment|management|api|lostPassword)(/|$|\?)"
    )
    FOLLOW: ClassVar[re.Pattern[str]] = re.compile(
        r"/(gateway/clockss|gateway/lockss|issue/archive|issue/view/[^/?#]+|article/view/[^/?#]+(/[^/?#]+)?"
        r"|article/download/[^/?#]+/[^/?#]+)$"
    )
    journal: str = field(init=False)
    host: str = field(init=False)

    def __post_init__(self) -> None:
        start = str(self.config.get("start_url", ""))
        m = re.match(r"^(https?://[^/]+)(.*?/index\.php/[^/]+)(/.*)?$", start)
        if not m:
            raise StrongroomError(
                f"{start!r} is not an OJS journal address",
                hint="give the journal's manifest, e.g. https://host/index.php/JOURNAL/gateway/clockss",
            )
        self.host, self.journal = m.group(1), m.group(1) + m.group(2)

    def seeds(self) -> list[str]:
        return [str(self.config["start_url"])]

    def permission_url(self) -> str:
        return str(self.config["start_url"])

    def max_depth(self) -> int:
        return int(self.config.get("depth", 6))

    def in_scope(self, url: str) -> bool:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.host:
            return False
        if ASSETS.search(parts.path):
            return True
        if not url.startswith(self.journal + "/") or self.EXCLUDE.search(parts.path):
            return False
        return bool(self.FOLLOW.search(parts.path)) and not parts.query

    def au_for(self, url: str, parent_au: str | None, link: Link | None) -> str | None:
        path = urlsplit(url).path
        if path.endswith(("/gateway/clockss", "/gateway/lockss", "/issue/archive")):
            return None
        if "/issue/view/" in path and link is not None:
            m = YEAR.search(link.text)
            if m:
                return m.group(1) or m.group(2)
        return parent_au


@register("generic")
@dataclass
class GenericPlan:
    """Any site: start URLs, include and exclude patterns (regular expressions on the whole URL), a depth, and
    an AU rule (a regular expression whose first group names the AU; URLs it does not match inherit their
    parent's AU)."""

    config: dict[str, Any]
    name: ClassVar[str] = "generic"

    def __post_init__(self) -> None:
        starts = self.config.get("start_urls") or [self.config.get("start_url")]
        if not starts or not all(isinstance(s, str) and s.startswith(("http://", "https://")) for s in starts):
            raise StrongroomError("the generic plan needs start_urls (http or https)")
        self.starts = [str(s) for s in starts]
        try:
            self.include = [re.compile(p) for p in self.config.get("include", [re.escape(self._origin()) + ".*"])]
            self.exclude = [re.compile(p) for p in self.config.get("exclude", [])]
            self.au_rule = re.compile(self.config["au_rule"]) if self.config.get("au_rule") else None
        except re.error as exc:
            raise StrongroomError(f"a pattern of the generic plan is not a regular expression: {exc}") from None

    def _origin(self) -> str:
        parts = urlsplit(self.starts[0])
        return f"{parts.scheme}://{parts.netloc}/"

    def seeds(self) -> list[str]:
        return list(self.starts)

    def permission_url(self) -> str:
        return str(self.config.get("permission_url") or self.starts[0])

    def max_depth(self) -> int:
        return int(self.config.get("depth", 4))

    def in_scope(self, url: str) -> bool:
        return any(p.match(url) for p in self.include) and not any(p.search(url) for p in self.exclude)

    def au_for(self, url: str, parent_au: str | None, link: Link | None) -> str | None:
        if self.au_rule is not None:
            m = self.au_rule.search(url)
            if m:
                return m.group(1)
        return parent_au if parent_au is not None else str(self.config.get("default_au", "all"))
