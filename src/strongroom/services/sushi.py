"""Who may read which COUNTER usage report: an API key for each institution (its own usage) and each publisher
(the use of its titles), given once and kept only as a hash, as COUNTER_SUSHI's ``api_key`` parameter."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select

from strongroom.catalog.models import Institution, Publisher, SushiKey
from strongroom.catalog.repo import Catalog
from strongroom.errors import NotFound, StrongroomError

KINDS = ("institution", "publisher")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class SushiKeys:
    """The API keys that open an institution's or a publisher's COUNTER_SUSHI reports."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def issue_key(self, kind: str, subject_key: str, *, by: str) -> str:
        """A new API key for an institution's or a publisher's reports (an earlier one stops working); shown once."""
        if kind not in KINDS:
            raise StrongroomError(f"a report key is for an institution or a publisher, not {kind!r}")
        model = Institution if kind == "institution" else Publisher
        key = "sr-" + secrets.token_urlsafe(24)
        with self.catalog.session() as s:
            if s.scalar(select(model.id).where(model.key == subject_key)) is None:
                raise NotFound(f"no {kind} {subject_key!r}", hint=f"strongroom {kind}s lists them")
            subject = f"{kind}:{subject_key}"
            row = s.scalar(select(SushiKey).where(SushiKey.subject == subject))
            if row is None:
                row = SushiKey(subject=subject, key_hash="", created_at=self.catalog.clock.now(), created_by=by)
                s.add(row)
            row.key_hash, row.created_at, row.created_by = _hash(key), self.catalog.clock.now(), by
        return key

    def authorised(self, kind: str, subject_key: str, api_key: str) -> bool:
        """Whether ``api_key`` is the current key of that institution or publisher."""
        with self.catalog.session() as s:
            stored = s.scalar(select(SushiKey.key_hash).where(SushiKey.subject == f"{kind}:{subject_key}"))
        return stored is not None and hmac.compare_digest(stored, _hash(api_key))
