"""The composition root: a :class:`Node` is built from a home directory's settings and owns its catalog, object
store, search index and clock; every use case is one of its services, built on first use with the narrow
dependencies it needs. Every face (the command line, the portal, the peer API, the scheduler) reaches every use
case the same way: ``node.<service>.<use case>(...)``. Nothing here is created at import, so several nodes can
live in one process.

Must not import: any face.
"""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from strongroom import __version__
from strongroom.catalog.db import make_engine, migrate
from strongroom.catalog.repo import Catalog
from strongroom.catalog.tables import search_queue
from strongroom.clock import Clock, SystemClock
from strongroom.domain.identifiers import normalise_country
from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import ConfigError
from strongroom.search.base import SearchIndex, SearchIndexBusy
from strongroom.search.lazy import LazyIndex
from strongroom.search.registry import open_search
from strongroom.services.journal import FileJournal, Journal
from strongroom.services.scratch import remove_stale_work
from strongroom.settings import S3Settings, Settings, load_settings, validate, write_settings
from strongroom.store.base import ObjectStore
from strongroom.store.registry import create_store, open_store

if TYPE_CHECKING:  # a service is imported when first used: a command pays only for the libraries its use case
    # needs (the harvest services bring libcurl and warcio, deposits PDF and image parsers, the network TLS)
    from strongroom.services.accounts import Accounts
    from strongroom.services.audit import Audits
    from strongroom.services.browse import Browse
    from strongroom.services.copies import Copies
    from strongroom.services.counter import Counter
    from strongroom.services.deposit import Ingest
    from strongroom.services.eligibility import Eligibility
    from strongroom.services.events import EventLog
    from strongroom.services.export import Exports
    from strongroom.services.fees import Fees
    from strongroom.services.harvests import AuVersions, Harvests
    from strongroom.services.health import Health
    from strongroom.services.holdings import HoldingsReports
    from strongroom.services.indexer import Indexer, Progress
    from strongroom.services.institutions import Institutions
    from strongroom.services.jobs_local import LocalJobs
    from strongroom.services.jobs_postgres import PostgresJobs
    from strongroom.services.membership import Membership
    from strongroom.services.monitor import Monitor
    from strongroom.services.network_admin import NetworkAdministration
    from strongroom.services.network_status import NetworkCopies, NetworkStatus
    from strongroom.services.oai_harvest import OaiHarvest
    from strongroom.services.peer import PeerService
    from strongroom.services.pkppn import PkpPn
    from strongroom.services.polls import PollQueue, Polls
    from strongroom.services.programme import Programme
    from strongroom.services.publishers import Publishers
    from strongroom.services.release import Releases
    from strongroom.services.released import Released
    from strongroom.services.replay import Replay
    from strongroom.services.replication import Replication
    from strongroom.services.sushi import SushiKeys
    from strongroom.services.triggers import Workflow
    from strongroom.services.web_harvest import WebHarvest


RECOVERY_LOCK_WAIT = 1.0  # seconds recovery waits for the search index's writer before leaving the queue as it is


class Node:
    def __init__(
        self, settings: Settings, catalog: Catalog, store: ObjectStore, search: SearchIndex, clock: Clock
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.search = search
        self.clock = clock

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
        node_id: str | None = None,
        restore_key: Path | None = None,
        storage_backend: str = "ocfl-local",
        s3: S3Settings | None = None,
    ) -> Node:
        """Create a node home: settings, catalog (migrated), storage root and Ed25519 key pair; or, for a node
        restored from a backup, with its old id and key (``node_id``, ``restore_key``)."""
        from strongroom.keys import create_keypair, public_key_text, read_private_key, restore_keypair

        clock = clock or SystemClock()
        if (node_id is None) != (restore_key is None):
            raise ConfigError(
                "a node is restored with both its id and its key",
                hint="strongroom init --restore-key BACKUP/node.key --node-id node-...",
            )
        restored = read_private_key(restore_key) if restore_key is not None else None
        if node_id is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", node_id):
            raise ConfigError(f"not a node id: {node_id!r}", hint="node ids look like node-1a2b3c4d")
        if (home / "strongroom.toml").exists():
            raise ConfigError(f"{home} already holds a Strongroom node", hint="use it, or choose another --home")
        if home.exists() and any(home.iterdir()):
            raise ConfigError(f"{home} exists and is not empty", hint="choose an empty or new directory")
        settings = validate(
            Settings(
                home=home,
                node_id=node_id or "node-" + secrets.token_hex(4),
                node_name=name or f"Strongroom node at {home.name}",
                institution=institution,
                country=normalise_country(country) if country else "",
                database_url=database_url or "sqlite:///catalog.sqlite",
                digest_algorithm=digest_algorithm,
                storage_backend=storage_backend,
                s3=s3 or S3Settings(),
            )
        )
        made_home = not home.exists()
        home.mkdir(parents=True, exist_ok=True)
        try:
            engine = make_engine(settings.resolved_database_url())
            try:
                migrate(engine)
            finally:
                engine.dispose()
            settings.resolved_staging().mkdir(parents=True, exist_ok=True)
            create_store(settings)  # a bucket that is missing or refuses us fails here
            public = restore_keypair(settings.keys_dir, restored) if restored else create_keypair(settings.keys_dir)
            write_settings(settings)  # last: a home without settings is not yet a node
        except BaseException:
            # The home was new or empty: leave it so, so that the same command can be run again once fixed.
            for made in list(home.iterdir()):
                if made.is_dir() and not made.is_symlink():
                    shutil.rmtree(made)
                else:
                    made.unlink()
            if made_home:
                home.rmdir()
            raise
        node = cls.open(home, clock=clock)
        if node.catalog.engine.dialect.name == "postgresql":
            node.jobs  # noqa: B018 - the job queue's schema goes in with the catalog's
        with node.catalog.session() as s:
            node.catalog.record_event(
                s,
                EventType.CREATION,
                EventOutcome.SUCCESS,
                agent=node.agent,
                object_type="node",
                object_key=settings.node_id,
                detail=f"node {'restored from a key backup' if restored else 'created'}; "
                f"public key {public_key_text(public)}",
            )
        return node

    @classmethod
    def open(
        cls,
        home: Path,
        *,
        clock: Clock | None = None,
        recover: bool = True,
        progress: Progress | None = None,
        fill_search: bool = True,
    ) -> Node:
        """The node at ``home``; ``progress`` (done, total) follows a search index written from the catalog as it
        opens (a new or changed engine, or an upgrade's first start on a new default engine). A caller that writes
        the whole index itself next (``strongroom reindex --search``) passes ``fill_search=False``: a new index is
        then only queued in full (what a crash before the caller's rebuild leaves for the next start), not written
        twice."""
        settings = load_settings(home)
        clock = clock or SystemClock()
        catalog = Catalog.open(settings.resolved_database_url(), clock)  # applies pending migrations
        try:
            store = open_store(settings)
            search = open_search(settings.search_engine, catalog.engine, settings.home, settings.search_shards)
        except BaseException:
            catalog.close()
            raise
        node = cls(settings, catalog, store, search, clock)
        if isinstance(search, LazyIndex):  # opened on first use: should it then find its storage new, it is filled
            search.when_new = node._fill_search if recover and fill_search else node._queue_search
        if search.created and recover and fill_search:  # a new or changed engine is filled from the catalog at once
            node.indexer.rebuild_search(progress)
        elif search.created:  # ... or by the next recovery, or the caller's rebuild
            node.indexer.queue_everything()
        if recover:
            node.recover(search=fill_search)
        return node

    def close(self) -> None:
        if "jobs" in self.__dict__:  # opened: its connections are closed with the node
            self.jobs.close()
        self.catalog.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def agent(self) -> str:
        return f"strongroom/{__version__} ({self.settings.node_id})"

    def recover(self, *, search: bool = True) -> list[str]:
        """Finish or undo writes a crash interrupted, then catalogue what the store committed and (unless ``search``
        is False, for a caller about to write the whole index) bring the search index up to date."""
        actions = self.store.recover()
        actions += remove_stale_work(self.settings.resolved_staging())
        for journal in self._journals():
            with journal.orphans() as orphans:  # intents of writers that died; live ones are left alone
                for intent in orphans:
                    if intent.kind == "release" and not self.store.exists(intent.object_id):
                        actions += self.copies.finish_release(intent.object_id)
                    elif self.store.exists(intent.object_id):
                        result = self.indexer.index(intent.object_id, recovered=True)
                        if result.indexed:
                            actions.append(f"catalogued {result.au_key} v{result.version} after an interrupted write")
                    journal.end(intent)
        # Opening a node while another process rebuilds the search index (it holds the writer for the whole
        # rebuild) must not wait on it: the queued items stay queued for the rebuild or the next write.
        if not search or not self._search_queued():  # (the indexer, and the engine, only when there is work)
            return actions
        patient = hasattr(self.search, "lock_wait")
        if patient:
            self.search.lock_wait = RECOVERY_LOCK_WAIT  # type: ignore[attr-defined]
        try:
            if self.indexer.sync_search():
                actions.append("brought the search index up to date")
        except SearchIndexBusy:
            actions.append("left the search queue for the process writing the search index")
        finally:
            if patient:
                self.search.lock_wait = None  # type: ignore[attr-defined]
        return actions

    def _search_queued(self) -> bool:
        with self.catalog.connection() as conn:  # every start asks: on a connection, without the ORM
            return conn.scalar(select(search_queue.c.id).limit(1)) is not None

    def _fill_search(self) -> None:
        self.indexer.rebuild_search()

    def _queue_search(self) -> None:
        self.indexer.queue_everything()

    # ---- preserving ---------------------------------------------------------------------------------------

    @cached_property
    def journal(self) -> Journal:
        """Where writes in flight are journalled: in the catalog when it is PostgreSQL (every machine of the node sees
        every intent), else in files in the home."""
        conninfo = self.settings.postgres_conninfo()
        if conninfo is not None:
            from strongroom.services.journal_postgres import PostgresJournal

            return PostgresJournal(conninfo, self.catalog.engine)
        return FileJournal(self.settings.home / "journal")

    def _journals(self) -> list[Journal]:
        """The journal, and on a PostgreSQL node this machine's file journal too while it holds intents: those of
        writes cut short before the node was upgraded to keep its journal in the catalog (revision 0021)."""
        files = FileJournal(self.settings.home / "journal")
        if isinstance(self.journal, FileJournal) or not files.pending():
            return [self.journal]
        return [self.journal, files]

    @cached_property
    def events(self) -> EventLog:
        from strongroom.services.events import EventLog

        return EventLog(self.catalog, self.agent)

    @cached_property
    def indexer(self) -> Indexer:
        from strongroom.services.indexer import Indexer

        return Indexer(self.catalog, self.store, self.search, agent=self.agent)

    @cached_property
    def ingest(self) -> Ingest:
        from strongroom.services.deposit import Ingest

        return Ingest(self.settings, self.catalog, self.store, self.journal, self.indexer, agent=self.agent)

    @cached_property
    def audits(self) -> Audits:
        from strongroom.services.audit import Audits

        return Audits(self.catalog, self.store, self.indexer, self.journal, agent=self.agent)

    @cached_property
    def jobs(self) -> PostgresJobs | LocalJobs:
        """The job queue: procrastinate's in the catalog's database on PostgreSQL, else run by the serving
        process (docs/jobs.md)."""
        engine = self.catalog.engine
        if engine.dialect.name == "postgresql":
            from strongroom.services.jobs_postgres import PostgresJobs

            return PostgresJobs(engine, self.settings.jobs, self.clock)
        from strongroom.services.jobs_local import LocalJobs

        return LocalJobs(self.settings.home / "jobs.sqlite", self.settings.jobs, self.clock, catalog=engine)

    @cached_property
    def exports(self) -> Exports:
        from strongroom.services.export import Exports

        return Exports(self.catalog, self.store, agent=self.agent)

    @cached_property
    def browse(self) -> Browse:
        from strongroom.services.browse import Browse

        return Browse(self.catalog, self.search)

    # ---- harvesting ---------------------------------------------------------------------------------------

    @cached_property
    def harvests(self) -> Harvests:
        from strongroom.services.harvests import Harvests

        return Harvests(self.catalog)

    @cached_property
    def _au_versions(self) -> AuVersions:
        from strongroom.services.harvests import AuVersions

        return AuVersions(self.store, self.journal, self.indexer, agent=self.agent, node_id=self.settings.node_id)

    @cached_property
    def web_harvest(self) -> WebHarvest:
        from strongroom.services.web_harvest import WebHarvest

        staging = self.settings.resolved_staging()
        return WebHarvest(self.harvests, self._au_versions, self.store, staging=staging, agent=self.agent)

    @cached_property
    def oai_harvest(self) -> OaiHarvest:
        from strongroom.services.oai_harvest import OaiHarvest

        return OaiHarvest(self.harvests, self._au_versions, staging=self.settings.resolved_staging())

    @cached_property
    def replay(self) -> Replay:
        from strongroom.services.replay import Replay

        return Replay(self.catalog, self.store)

    # ---- triggers and the public ---------------------------------------------------------------------------

    @property
    def triggers(self) -> Workflow:
        """The trigger workflow, deciding by the network's rule (CLOCKSS' default when not in a network)."""
        from strongroom.services.triggers import Workflow

        return Workflow(self.catalog, self.agent, self.membership.decision_rule(), record_release=self.releases.record)

    @cached_property
    def releases(self) -> Releases:
        from strongroom.services.release import Releases

        return Releases(
            self.catalog,
            self.store,
            self.journal,
            self.indexer,
            staging=self.settings.resolved_staging(),
            agent=self.agent,
            node_id=self.settings.node_id,
        )

    def monitor(self, transport: Any = None) -> Monitor:
        """The publisher monitor (``transport`` lets tests answer its HTTP requests in-process)."""
        from strongroom.services.monitor import Monitor

        return Monitor(self.catalog, self.settings.monitor, agent=self.agent, transport=transport)

    def released(self, *, cache_seconds: float = 0.0) -> Released:
        """The public read model (``cache_seconds`` > 0 remembers what was found released that long)."""
        from strongroom.services.released import Released

        return Released(self.catalog, self.search, self.store, cache_seconds=cache_seconds)

    # ---- the access programme ------------------------------------------------------------------------------

    @cached_property
    def eligibility(self) -> Eligibility:
        from strongroom.services.eligibility import Eligibility

        return Eligibility(self.catalog)

    @cached_property
    def institutions(self) -> Institutions:
        from strongroom.services.institutions import Institutions

        return Institutions(self.catalog, self.eligibility)

    @cached_property
    def accounts(self) -> Accounts:
        from strongroom.services.accounts import Accounts

        return Accounts(self.catalog, self.eligibility)

    @cached_property
    def programme(self) -> Programme:
        from strongroom.services.programme import Programme

        return Programme(self.catalog)

    @cached_property
    def counter(self) -> Counter:
        from strongroom.services.counter import Counter

        return Counter(self.catalog)

    @cached_property
    def sushi(self) -> SushiKeys:
        from strongroom.services.sushi import SushiKeys

        return SushiKeys(self.catalog)

    @cached_property
    def fees(self) -> Fees:
        from strongroom.services.fees import Fees

        return Fees(self.catalog, self.eligibility, self.settings.fees)

    # ---- the network ----------------------------------------------------------------------------------------

    @cached_property
    def membership(self) -> Membership:
        from strongroom.services.membership import Membership

        s = self.settings
        return Membership(s.home, s.node_id, s.admin_key, s.keys_dir, self._pin_admin_key)

    def _pin_admin_key(self, key: str) -> None:
        self.settings = replace(self.settings, admin_key=key)
        write_settings(self.settings)

    @cached_property
    def poll_queue(self) -> PollQueue:
        from strongroom.services.polls import PollQueue

        return PollQueue()

    @cached_property
    def replication(self) -> Replication:
        from strongroom.services.replication import Replication

        return Replication(self.store, self.journal, self.indexer, self.membership, self.events)

    @cached_property
    def copies(self) -> Copies:
        from strongroom.services.copies import Copies

        return Copies(self.store, self.journal, self.indexer, self.membership, self.events)

    @cached_property
    def polls(self) -> Polls:
        from strongroom.services.polls import Polls

        return Polls(
            self.store, self.membership, self.events, staging=self.settings.resolved_staging(), queue=self.poll_queue
        )

    @cached_property
    def peer(self) -> PeerService:
        from strongroom.services.peer import PeerService

        return PeerService(self.store, self.membership, self.events, self.poll_queue)

    @cached_property
    def network_status(self) -> NetworkStatus:
        from strongroom.services.network_status import NetworkStatus

        return NetworkStatus(self.catalog, self.store, self.membership)

    @cached_property
    def health(self) -> Health:
        """The node's health as its operators read it in the console (storage, audits, errors, AUs, suspects)."""
        from strongroom.services.health import Health

        local = self.settings.storage_backend == "ocfl-local"
        return Health(self.catalog, self.settings.resolved_storage_root() if local else None)

    @cached_property
    def network_admin(self) -> NetworkAdministration:
        """The network administrators' drafts of the next configuration, their previews and installing one."""
        from strongroom.services.network_admin import NetworkAdministration

        return NetworkAdministration(self.membership, self.catalog)

    @cached_property
    def network_copies(self) -> NetworkCopies:
        """Where the members hold every AU, as they answered within the last minute: the one answer the holdings
        reports, the publishers' pages and the OJS deposits' agreement share."""
        from strongroom.services.network_status import CopyStatus, NetworkCopies

        def ask() -> list[CopyStatus]:
            client = self.membership.client()
            try:
                return self.network_status.copies(client)[1]
            finally:
                client.close()

        return NetworkCopies(
            ask,
            lambda: self.membership.joined,
            self.clock,
            max_age=60.0,
        )

    @cached_property
    def pkppn(self) -> PkpPn:
        """The PKP PN deposit service for OJS journals; an issue is preserved (``agreement``) when the network
        holds enough copies of it, as ``network status`` counts them."""
        from strongroom.services.pkppn import PkpPn

        return PkpPn(
            self.catalog,
            self.settings,
            self.ingest,
            self.network_copies.preserved,
            base_url=self.settings.portal.base_url,
            allow_private=self.settings.pkppn.allow_private_addresses,
        )

    @cached_property
    def holdings(self) -> HoldingsReports:
        """Holdings reports (KBART, ONIX-PH, DOAJ; the portal reuses each for a while); in a network, "preserved" is
        what the members answered within the last minute."""
        from strongroom.services.holdings import HoldingsReports

        return HoldingsReports(
            self.catalog,
            self.store,
            self.membership,
            self.network_copies.preserved,
            provider=self.settings.node_name,
            base_url=self.settings.portal.base_url,
        )

    @cached_property
    def publishers(self) -> Publishers:
        """Publishers' staff and their titles' paths to preserved; the public certificates and look-up. In a
        network, copies are what the members answered within the last minute."""
        from strongroom.services.publishers import Publishers

        return Publishers(
            self.catalog,
            self.store,
            self.membership,
            self.holdings,
            self.ingest,
            self.network_copies.copies,
            pkppn=lambda: self.pkppn,
            archive_name=self.settings.node_name,
            country=self.settings.country,
            base_url=self.settings.portal.base_url,
        )
