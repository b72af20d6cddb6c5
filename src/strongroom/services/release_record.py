"""A release is written into the preserved object itself, as ``strongroom/release.json`` in a new OCFL version of
every released AU: the trigger, its reason and evidence, the board's signed ballots (with each member's public
key, so anyone can check them again), the licence and the time.

So a release survives the loss of the catalog (``reindex`` reads it back, as it reads ``deposit.json``), travels
to every node that holds a replica (replication copies new versions), and is part of what the network audits.
A later deposit into the same AU carries the record forward.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from strongroom.errors import StorageError
from strongroom.store.ocfl import OcflStore, StagedFile, stage_file

RELEASE_RECORD = "strongroom/release.json"
RELEASE_FORMAT = "strongroom-release/1"
MAX_RECORD_BYTES = 1024 * 1024


def current_files(store: OcflStore, object_id: str) -> list[StagedFile]:
    """The head version's files as staged files (their bytes stay where they are; nothing is copied again)."""
    from strongroom.services.indexer import stored_files  # the indexer reads release records: import late

    inventory = store.inventory(object_id)
    root = store.object_path(object_id)
    alg = inventory["digestAlgorithm"]
    out = []
    for f in stored_files(store, object_id, inventory):
        if f.other_digest is None:
            raise StorageError(f"object {object_id}: {f.logical_path} has no {('sha256', 'sha512')[alg == 'sha256']}")
        sha512, sha256 = (f.digest, f.other_digest) if alg == "sha512" else (f.other_digest, f.digest)
        out.append(StagedFile(f.logical_path, root / f.content_path, f.size, sha512, sha256))
    return out


def with_current(store: OcflStore, object_id: str, files: list[StagedFile]) -> list[StagedFile]:
    """The state of a new version: the object's current files (if it exists), with ``files`` added or replacing
    the files at the same logical paths."""
    if not store.exists(object_id):
        return list(files)
    replaced = {f.logical_path for f in files}
    return [f for f in current_files(store, object_id) if f.logical_path not in replaced] + list(files)


def carried_record(store: OcflStore, object_id: str) -> StagedFile | None:
    """The release record of an AU's head version, to carry into its next version (None when unreleased)."""
    if not store.exists(object_id):
        return None
    return next((f for f in current_files(store, object_id) if f.logical_path == RELEASE_RECORD), None)


def write_release(
    store: OcflStore, object_id: str, record: dict[str, Any], *, workdir: Path, agent: str, user_address: str
) -> int:
    """A new version of ``object_id``: its current files plus the release record. Returns the version number."""
    data = json.dumps({"format": RELEASE_FORMAT, **record}, indent=2, sort_keys=True, ensure_ascii=False).encode()
    path = workdir / "release.json"
    path.write_bytes(data)
    result = store.commit_version(
        object_id,
        with_current(store, object_id, [stage_file(RELEASE_RECORD, path)]),
        message=f"release by trigger {record['trigger']} under {record['licence']}",
        user_name=agent,
        user_address=user_address,
    )
    return result.version


def read_release(store: OcflStore, object_id: str, state_paths: set[str]) -> dict[str, Any] | None:
    if RELEASE_RECORD not in state_paths:
        return None
    with store.open_file(object_id, RELEASE_RECORD) as fh:
        raw = fh.read(MAX_RECORD_BYTES + 1)
    try:
        record = json.loads(raw) if len(raw) <= MAX_RECORD_BYTES else None
    except (UnicodeDecodeError, ValueError):
        record = None
    if not isinstance(record, dict) or record.get("format") != RELEASE_FORMAT:
        raise StorageError(f"object {object_id}: {RELEASE_RECORD} is not a {RELEASE_FORMAT} record")
    return record


def released_at(record: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(record["released_at"]).replace("Z", "+00:00"))
