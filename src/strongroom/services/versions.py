"""Writing a new version of an AU's object over its current one: the helpers deposit, harvest and release share.

A new version's state is the object's current files (carried forward by digest, nothing copied) with the new files
added or replacing those at the same logical paths; a released AU's release record is carried into every later
version, so a publisher's correction to released content stays released.
"""

from __future__ import annotations

from strongroom.formats.release_record import RELEASE_RECORD
from strongroom.store.base import ObjectStore, StagedFile


def with_current(store: ObjectStore, object_id: str, files: list[StagedFile]) -> list[StagedFile]:
    """The state of a new version: the object's current files (if it exists), with ``files`` added or replacing
    the files at the same logical paths."""
    if not store.exists(object_id):
        return list(files)
    replaced = {f.logical_path for f in files}
    return [f for f in store.current_files(object_id) if f.logical_path not in replaced] + list(files)


def carried_release(store: ObjectStore, object_id: str) -> StagedFile | None:
    """The release record of an AU's head version, to carry into its next version (None when unreleased)."""
    if not store.exists(object_id):
        return None
    return next((f for f in store.current_files(object_id) if f.logical_path == RELEASE_RECORD), None)
