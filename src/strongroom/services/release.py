"""Recording a release in the preserved object itself: ``strongroom/release.json`` (see
:mod:`strongroom.formats.release_record`) in a new OCFL version of the AU, then catalogued, so a release survives
the loss of the catalog, travels to every replica and is audited with the content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strongroom.catalog.repo import Catalog
from strongroom.formats.release_record import RELEASE_RECORD, release_bytes
from strongroom.services.indexer import Indexer
from strongroom.services.journal import Journal
from strongroom.services.scratch import work_directory
from strongroom.services.versions import with_current
from strongroom.store.base import ObjectStore, stage_file


class Releases:
    def __init__(
        self,
        catalog: Catalog,
        store: ObjectStore,
        journal: Journal,
        indexer: Indexer,
        *,
        staging: Path,
        agent: str,
        node_id: str,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.journal = journal
        self.indexer = indexer
        self.staging = staging
        self.agent = agent
        self.node_id = node_id

    def record(self, au_key: str, record: dict[str, Any]) -> int:
        """A new version of the AU: its current files plus the release record; returns the version number."""
        with self.catalog.session() as s:
            object_id = self.catalog.get_au(s, au_key).object_id
        with work_directory(self.staging) as workdir, self.journal.intent(object_id):
            path = workdir / "release.json"
            path.write_bytes(release_bytes(record))
            result = self.store.commit_version(
                object_id,
                with_current(self.store, object_id, [stage_file(RELEASE_RECORD, path)]),
                message=f"release by trigger {record['trigger']} under {record['licence']}",
                user_name=self.agent,
                user_address=f"urn:strongroom:node:{self.node_id}",
            )
            self.indexer.index(object_id)
        return result.version
