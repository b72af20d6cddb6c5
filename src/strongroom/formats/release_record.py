"""The release record, ``strongroom/release.json``: written into a new OCFL version of every AU the board releases
(the trigger, its reason and evidence, each member's signed ballot with their public key, the licence and the time),
so a release survives the loss of the catalog, travels with every replica and is audited with the content.

Must not import: anything but the error tree and the licence vocabulary.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from strongroom.domain.licences import accepted_licences, open_licence
from strongroom.errors import StorageError

RELEASE_RECORD = "strongroom/release.json"
RELEASE_FORMAT = "strongroom-release/1"
MAX_RECORD_BYTES = 1024 * 1024


def release_bytes(record: dict[str, Any]) -> bytes:
    return json.dumps({"format": RELEASE_FORMAT, **record}, indent=2, sort_keys=True, ensure_ascii=False).encode()


def parse_release(raw: bytes, object_id: str) -> dict[str, Any]:
    """A release record read back (at most MAX_RECORD_BYTES: pass one byte more to detect a larger one), its licence
    as the canonical URL. A record whose licence is not an open licence the board may choose (a hostile replica's
    ``javascript:`` link, say) is refused like any other damaged record: the AU is not shown as released."""
    try:
        record = json.loads(raw) if len(raw) <= MAX_RECORD_BYTES else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        record = None
    if not isinstance(record, dict) or record.get("format") != RELEASE_FORMAT:
        raise StorageError(f"object {object_id}: {RELEASE_RECORD} is not a {RELEASE_FORMAT} record")
    licence = record.get("licence")
    canonical = open_licence(licence) if isinstance(licence, str) else None
    if canonical is None:
        raise StorageError(
            f"object {object_id}: {RELEASE_RECORD} names the licence {licence!r}, which is not an open licence the "
            "board may release under",
            hint=f"a release record's licence is one of {accepted_licences()}",
        )
    return record | {"licence": canonical}


def released_at(record: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(record["released_at"]).replace("Z", "+00:00"))
