"""The composition root: a :class:`Node` is built from a home directory's settings and owns its catalog,
storage root, journal and clock. Faces (CLI, web) call its methods; nothing here is created at import, so
several nodes can live in one process."""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from strongroom import __version__
from strongroom.catalog.db import make_engine, migrate
from strongroom.catalog.models import ArchivalUnit, Event, Item, Publisher, Title
from strongroom.catalog.repo import Catalog
from strongroom.clock import Clock, SystemClock
from strongroom.domain.identifiers import normalise_country
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.placement import holders
from strongroom.domain.trigger import DecisionRule
from strongroom.errors import ConfigError
from strongroom.ingest.deposit import DepositOptions
from strongroom.keys import create_keypair, load_private_key, public_key_text
from strongroom.network.auth import Verifier
from strongroom.network.config import NetworkConfig, verify_config
from strongroom.progress import Reporter
from strongroom.services import audit as audit_service
from strongroom.services import deposit as deposit_service
from strongroom.services.export import ExportResult, export_au
from strongroom.services.indexer import index_object
from strongroom.services.monitor import Monitor
from strongroom.services.release_record import write_release
from strongroom.services.triggers import Workflow
from strongroom.settings import Settings, load_settings, validate, write_settings
from strongroom.store.ocfl import OcflStore

if TYPE_CHECKING:
    from strongroom.services import harvest as harvest_service


class Node:
    def __init__(self, settings: Settings, catalog: Catalog, store: OcflStore, clock: Clock) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.clock = clock
        self.journal = deposit_service.Journal(settings.home / "journal")
        self._network: tuple[int, NetworkConfig] | None = None
        self._verifier: Verifier | None = None
        self._poll_soon: set[str] = set()
        self._lock = threading.Lock()

    # ---- life cycle ----------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        home: Path,
        *,
        database_url: str | None = None,
        digest_algorithm: str = "sha512",
        name: str | None = None,
        institution: str = "",
        country: str = "",
        clock: Clock | None = None,
    ) -> Node:
        """Create a node home: settings, catalog (migrated), OCFL storage root and Ed25519 key pair."""
        clock = clock or SystemClock()
        if (home / "strongroom.toml").exists():
            raise ConfigError(f"{home} already holds a Strongroom node", hint="use it, or choose another --home")
        if home.exists() and any(home.iterdir()):
            raise ConfigError(f"{home} exists and is not empty", hint="choose an empty or new directory")
        settings = validate(
            Settings(
                home=home,
                node_id="node-" + secrets.token_hex(4),
                node_name=name or f"Strongroom node at {home.name}",
                institution=institution,
                country=normalise_country(country) if country else "",
                database_url=database_url or "sqlite:///catalog.sqlite",
                digest_algorithm=digest_algorithm,
            )
        )
        home.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url())
        try:
            migrate(engine)
        finally:
            engine.dispose()
        settings.resolved_staging().mkdir(parents=True, exist_ok=True)
        OcflStore.create(settings.resolved_storage_root(), settings.resolved_staging(), digest_algorithm)
        public = create_keypair(settings.keys_dir)
        write_settings(settings)  # last: a home without settings is not yet a node
        node = cls.open(home, clock=clock)
        with node.catalog.session() as s:
            node.catalog.record_event(
                s,
                EventType.CREATION,
                EventOutcome.SUCCESS,
                agent=node.agent,
                object_type="node",
                object_key=settings.node_id,
                detail=f"node created; public key {public_key_text(public)}",
            )
        return node

    @classmethod
    def open(cls, home: Path, *, clock: Clock | None = None, recover: bool = True) -> Node:
        settings = load_settings(home)
        clock = clock or SystemClock()
        catalog = Catalog.open(settings.resolved_database_url(), clock)  # applies pending migrations
        store = OcflStore.open(settings.resolved_storage_root(), settings.resolved_staging())
        node = cls(settings, catalog, store, clock)
        if recover:
            node.recover()
        return node

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def agent(self) -> str:
        return f"strongroom/{__version__} ({self.settings.node_id})"

    def recover(self) -> list[str]:
        """Finish or undo writes a crash interrupted, then catalogue what the store committed."""
        actions = self.store.recover()
        actions += deposit_service.remove_stale_work(self.settings.resolved_staging())
        for object_id in self.journal.pending():
            if self.store.exists(object_id):
                result = index_object(self.catalog, self.store, object_id, agent=self.agent, recovered=True)
                if result.indexed:
                    actions.append(f"catalogued {result.au_key} v{result.version} after an interrupted deposit")
            self.journal.end(object_id)
        return actions

    def reindex(self) -> list[str]:
        """Re-catalogue every object whose head version the catalog does not know yet."""
        done = []
        for object_id in self.store.iter_object_ids():
            result = index_object(self.catalog, self.store, object_id, agent=self.agent)
            if result.indexed:
                done.append(f"{result.au_key} v{result.version}")
        return done

    # ---- use cases ------------------------------------------------------------------------------------------

    def deposit(
        self, path: Path, options: DepositOptions | None = None, *, reporter: Reporter | None = None
    ) -> deposit_service.DepositResult:
        return deposit_service.deposit(
            settings=self.settings,
            catalog=self.catalog,
            store=self.store,
            journal=self.journal,
            agent=self.agent,
            path=path,
            options=options or DepositOptions(),
            reporter=reporter,
        )

    def audit(
        self, au_keys: Sequence[str] = (), *, progress: audit_service.Progress | None = None
    ) -> audit_service.AuditReport:
        return audit_service.audit(self.catalog, self.store, au_keys=au_keys, agent=self.agent, progress=progress)

    def export(self, au_key: str, dest: Path) -> ExportResult:
        return export_au(self.catalog, self.store, au_key=au_key, dest=dest, agent=self.agent)

    # ---- the network ----------------------------------------------------------------------------------------

    @property
    def network_file(self) -> Path:
        return self.settings.home / "network.json"

    def network_config(self) -> NetworkConfig:
        """The signed network configuration, verified against the pinned administrative key (cached by mtime)."""
        try:
            mtime = self.network_file.stat().st_mtime_ns
        except FileNotFoundError:
            raise ConfigError(
                "this node has not joined a network",
                hint="strongroom network join SIGNED-CONFIG --admin-key ed25519:...",
            ) from None
        if self._network is None or self._network[0] != mtime:
            document = json.loads(self.network_file.read_text(encoding="utf-8"))
            self._network = (mtime, verify_config(document, self.settings.admin_key))
        return self._network[1]

    def join_network(self, document: dict[str, Any], admin_key: str) -> NetworkConfig:
        """Install a signed configuration; the first join pins the administrative key."""
        pinned = self.settings.admin_key or admin_key
        if self.settings.admin_key and admin_key and admin_key != self.settings.admin_key:
            raise ConfigError(
                "this node already trusts another administrative key",
                hint="a node's trust anchor is changed only by editing network.admin_key on purpose",
            )
        held = self.network_config().serial if self.network_file.exists() else None
        config = verify_config(document, pinned, held_serial=held)
        if config.member(self.settings.node_id) is None:
            raise ConfigError(
                f"the configuration does not list this node ({self.settings.node_id})",
                hint="send the administrators this node's id and public key (keys/node.pub)",
            )
        if not self.settings.admin_key:
            self.settings = replace(self.settings, admin_key=pinned)
            write_settings(self.settings)
        tmp = self.network_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.network_file)
        self._network = None
        return config

    def holders(self, object_id: str) -> list[str]:
        config = self.network_config()
        return holders(
            object_id,
            [(m.id, m.country) for m in config.members],
            config.policy.target_copies,
            config.policy.min_countries,
        )

    def private_key(self) -> Ed25519PrivateKey:
        return load_private_key(self.settings.keys_dir)

    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = Verifier(config=self.network_config)
        return self._verifier

    def record(
        self, type: EventType, outcome: EventOutcome, object_id: str, detail: str, data: dict[str, Any] | None = None
    ) -> None:
        """An event about the AU stored as ``object_id`` (or about the object, if the catalog lacks it)."""
        with self.catalog.session() as s:
            key = s.scalar(select(ArchivalUnit.key).where(ArchivalUnit.object_id == object_id)) or object_id
            self.catalog.record_event(
                s, type, outcome, agent=self.agent, object_type="au", object_key=key, detail=detail, data=data
            )

    def au_key_for(self, object_id: str) -> str:
        with self.catalog.session() as s:
            return s.scalar(select(ArchivalUnit.key).where(ArchivalUnit.object_id == object_id)) or object_id

    def poll_soon(self, object_id: str) -> None:
        with self._lock:
            self._poll_soon.add(object_id)

    def take_poll_soon(self) -> set[str]:
        with self._lock:
            due, self._poll_soon = self._poll_soon, set()
        return due

    # ---- triggers -------------------------------------------------------------------------------------------

    def triggers(self) -> Workflow:
        """The trigger workflow, deciding by the network's rule (CLOCKSS' default when not in a network)."""
        rule = DecisionRule()
        if self.network_file.exists():
            p = self.network_config().policy
            rule = DecisionRule(p.trigger_share_in_favour, p.trigger_max_against, p.trigger_quorum)
        return Workflow(self.catalog, self.agent, rule, record_release=self._record_release)

    def _record_release(self, au_key: str, record: dict[str, Any]) -> None:
        """Write a release record into the AU's object (a new OCFL version) and catalogue it."""
        with self.catalog.session() as s:
            object_id = self.catalog.get_au(s, au_key).object_id
        with deposit_service.work_directory(self.settings.resolved_staging()) as workdir:
            write_release(
                self.store,
                object_id,
                record,
                workdir=workdir,
                agent=self.agent,
                user_address=f"urn:strongroom:node:{self.settings.node_id}",
            )
        index_object(self.catalog, self.store, object_id, agent=self.agent)

    def monitor(self, transport: Any = None) -> Monitor:
        """The publisher monitor (``transport`` lets tests answer its HTTP requests in-process)."""
        return Monitor(self.catalog, self.settings.monitor, agent=self.agent, transport=transport)

    # ---- harvest ----------------------------------------------------------------------------------------------

    def harvest(
        self,
        title_key: str,
        *,
        only_au: str | None = None,
        fetcher: Any = None,
        progress: Any = None,
        pause_after: int | None = None,
    ) -> harvest_service.HarvestResult:
        from strongroom.services import harvest as harvest_service  # warcio and friends: only when harvesting

        return harvest_service.harvest(
            settings=self.settings,
            catalog=self.catalog,
            store=self.store,
            journal=self.journal,
            agent=self.agent,
            title_key=title_key,
            only_au=only_au,
            fetcher=fetcher,
            progress=progress,
            pause_after=pause_after,
        )

    def oai_harvest(self, title_key: str, base_url: str, **options: Any) -> harvest_service.OaiHarvestResult:
        from strongroom.services import harvest as harvest_service

        return harvest_service.oai_harvest(
            settings=self.settings,
            catalog=self.catalog,
            store=self.store,
            journal=self.journal,
            agent=self.agent,
            title_key=title_key,
            base_url=base_url,
            **options,
        )

    def object_id_of(self, au_key: str) -> str:
        with self.catalog.session() as s:
            return self.catalog.get_au(s, au_key).object_id

    # ---- looking around ------------------------------------------------------------------------------------

    def publishers(self) -> list[tuple[Publisher, int, int]]:
        return self.catalog.publishers()

    def titles(self) -> list[tuple[Title, int, int]]:
        return self.catalog.titles()

    def aus(self, keys: Sequence[str] = ()) -> list[tuple[ArchivalUnit, int, int, int]]:
        return self.catalog.aus(keys)

    def items(self, query: str | None = None, *, limit: int = 50) -> list[Item]:
        return self.catalog.items(query, limit=limit)

    def show(self, ref: str) -> Item:
        return self.catalog.find_item(ref)

    def events(self, *, object_key: str | None = None, type: str | None = None, limit: int = 100) -> list[Event]:
        return self.catalog.events(object_key=object_key, type=type, limit=limit)
