"""Loads the configuration snapshot (``snapshot.py``) from the database.

The data plane never touches the database: it reads an immutable ``Snapshot``. At start-up
``Catalog.reload`` loads everything; after that, ``Catalog.catch_up`` applies the change feed
(``feed.py``): the rows each admin write touched are re-read and a new snapshot, sharing every
unchanged view, replaces the old one at once. Provider runtimes (and their pooled HTTP
sessions) survive a change when their settings did not change.

Start-up does not wait for the whole catalog: ``open`` loads the providers and starts the full
load in the background, and the router serves at once. Until that load is done, a request's
key is looked up by ``warm``: its workspace (key, workspace row, assistants) is read with a
few indexed point reads and added to the snapshot, once per key (concurrent requests share
the read; a key found unknown is remembered). At most ``WARM_READS`` such reads run at a time;
a request beyond them waits for the full load instead, so a flood of unknown keys during
start-up cannot turn into a flood of database reads. Once the full load is in, no request
reads the database again. Admin reads and writes wait for the full load (``wait_loaded``):
their checks need the whole catalog.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from junction.config import feed
from junction.config.load import (
    ProviderRow,
    apply_changes,
    load_all,
    load_providers,
    workspace_of_key,
)
from junction.config.snapshot import (
    ModelInfo,
    ProviderRuntime,
    Snapshot,
)
from junction.gc_tuning import freeze_startup_heap, paused_collector, return_free_memory
from junction.providers.base import Provider, ProviderConfig, UpstreamLimits
from junction.providers.registry import provider_class
from junction.security.secrets import SecretBox
from junction.settings import Settings
from junction.store.serving_db import Database, SqlAlchemyConn

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

RETIRED_PROVIDER_GRACE_SECONDS = 900.0
FEED_PAGE = 5000  # change-feed entries read per query
WARM_READS = 4  # point reads at a time while the full load runs (see the module docstring)
WARM_UNKNOWN_MAX = 10_000  # unknown key hashes remembered while the full load runs


class ProviderFields(Protocol):
    """What a provider's settings are made from: a loaded ``ProviderRow``, or the admin API's
    row object before it is saved (to ask the upstream for its models)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def api_key_encrypted(self) -> str | None: ...
    @property
    def connect_timeout(self) -> float | None: ...
    @property
    def read_timeout(self) -> float | None: ...
    @property
    def headers(self) -> dict[str, str] | None: ...
    @property
    def tls_verify(self) -> bool | None: ...
    @property
    def max_concurrent(self) -> int | None: ...
    @property
    def tokenizer(self) -> str: ...


@dataclass(frozen=True)
class Prepared:
    """A snapshot built from ``base`` inside an admin write's transaction."""

    base: Snapshot
    snapshot: Snapshot


class Catalog:
    def __init__(self, settings: Settings, db: Database, box: SecretBox) -> None:
        self._settings = settings
        self._db = db
        self._box = box
        self._lock = asyncio.Lock()
        self._retired: list[tuple[float, Provider]] = []
        self._closing: set[asyncio.Task[None]] = set()
        self.snapshot = Snapshot()
        self.applied = 0  # the last change-feed entry the snapshot includes
        self.full_reloads = 0
        self.loaded = False  # the whole catalog is in the snapshot (else: only warmed keys)
        self._loaded = asyncio.Event()
        self._loading: asyncio.Task[None] | None = None
        self._warming: dict[bytes, asyncio.Task[None]] = {}  # key digest -> its read in flight
        self._unknown: set[bytes] = set()  # key digests read and not found, while warming
        self._generation = 0  # bumped when a change makes warmed views possibly stale
        self._limits = UpstreamLimits(
            settings.upstream_max_body_bytes,
            settings.upstream_max_error_bytes,
            settings.upstream_max_line_bytes,
        )

    async def open(self) -> None:
        """Start-up: the providers now, everything else in the background (module docstring)."""
        applied = await feed.current(self._db)
        providers = await load_providers(self._db, self._runtime)
        self._swap(Snapshot(providers=providers), applied)
        self._loading = asyncio.create_task(self._load_in_background(), name="catalog-load")

    async def _load_in_background(self) -> None:
        started = time.monotonic()
        while True:
            try:
                with paused_collector():
                    await self.reload()
                break
            except Exception as exc:  # the database away at start-up: keep serving warmed keys
                log.warning("loading the configuration failed (%s); retrying in 1 s", exc)
                await asyncio.sleep(1)
        snap = self.snapshot
        log.info(
            "configuration loaded: %d workspaces, %d keys, %d assistants in %.1f s",
            len(snap.workspaces),
            len(snap.keys),
            sum(len(ws.assistants) for ws in snap.workspaces.values()),
            time.monotonic() - started,
        )
        freeze_startup_heap()
        return_free_memory()
        await self.catch_up()  # changes committed while it loaded

    async def wait_loaded(self) -> None:
        if not self.loaded:
            await self._loaded.wait()

    async def reload(self) -> None:
        """Load everything (start-up, or a process that missed pruned feed entries)."""
        async with self._lock:
            await self._reload()

    async def _reload(self) -> None:
        # The number first: a change committed meanwhile is in the rows read below and is
        # applied once more later, which changes nothing.
        applied = await feed.current(self._db)
        snapshot = await load_all(self._db, self._runtime)
        self._swap(snapshot, applied)
        self.full_reloads += 1
        self.loaded = True
        self._loaded.set()
        self._unknown.clear()

    async def warm(self, digest: bytes) -> Snapshot:
        """Before the full load is in: the snapshot, with this key's workspace in it when the
        key exists (module docstring). A no-op once the full load is in."""
        if self.loaded or digest in self.snapshot.keys or digest in self._unknown:
            return self.snapshot
        pending = self._warming.get(digest)
        if pending is None:
            if len(self._warming) >= WARM_READS:
                await self._loaded.wait()
                return self.snapshot
            pending = asyncio.create_task(self._warm_one(digest), name="catalog-warm")
            self._warming[digest] = pending
            pending.add_done_callback(lambda _: self._warming.pop(digest, None))
        await asyncio.shield(pending)
        return self.snapshot

    async def _warm_one(self, digest: bytes) -> None:
        generation = self._generation
        part = await workspace_of_key(self._db, self.snapshot.providers, digest, self._runtime)
        if self.loaded or generation != self._generation:
            return  # the full load is in, or a change came meanwhile: the next request reads
        if part is None:
            if len(self._unknown) < WARM_UNKNOWN_MAX:
                self._unknown.add(digest)
            return
        now = self.snapshot  # merged without an await: no other warm-up is lost
        self.snapshot = Snapshot(
            now.providers,
            now.workspaces | part.workspaces,
            now.keys | part.keys,
        )

    async def prepare(self, session: AsyncSession, entries: list[feed.Entry]) -> Prepared | None:
        """Within the admin write's transaction, once ``entries`` are recorded: the snapshot as
        it will be after the commit (the rows read in the transaction that wrote them), so the
        writer needs no read after its commit. None when this process is behind the feed (or a
        provider changed: its new session is only made once the change is committed)."""
        if not self.loaded or not entries or entries[0].seq != self.applied + 1:
            return None
        if any(e.kind == "provider" for e in entries):
            return None
        base = self.snapshot
        conn = SqlAlchemyConn(session)
        return Prepared(base, await apply_changes(conn, base, entries, self._runtime))

    async def catch_up(self, seen: int | None = None, prepared: Prepared | None = None) -> None:
        """Apply the change feed's entries after the last applied one (up to ``seen`` at least):
        only the rows they name are read. Reloads everything when entries it needs were pruned.
        Readers see the old snapshot until the new one is complete. ``prepared``: the writer's
        own change, used as it is when nothing else was applied meanwhile."""
        if not self.loaded:  # warmed views may be stale now: read again on the next request
            self._generation += 1
            self._unknown.clear()
            self.snapshot = Snapshot(providers=self.snapshot.providers)
        async with self._lock:
            if seen is not None and seen <= self.applied:
                return
            if prepared is not None and seen is not None and prepared.base is self.snapshot:
                self._swap(prepared.snapshot, seen)
                return
            db = self._db
            entries: list[feed.Entry] = []
            while page := await feed.since(
                db, entries[-1].seq if entries else self.applied, FEED_PAGE
            ):
                entries += page
                if len(page) < FEED_PAGE:
                    break
            missed = (
                entries[0].seq != self.applied + 1
                if entries
                else await feed.current(db) > self.applied
            )
            if not entries and not missed:
                return
            if not missed:
                snapshot = await apply_changes(db, self.snapshot, entries, self._runtime)
            if missed:
                log.info("configuration feed entries after %d are gone: full reload", self.applied)
                await self._reload()
                return
            self._swap(snapshot, entries[-1].seq)

    def _swap(self, snapshot: Snapshot, applied: int) -> None:
        if snapshot.providers is not self.snapshot.providers:
            self._retire_replaced(snapshot)
        self.snapshot = snapshot
        self.applied = applied

    async def close(self) -> None:
        tasks = [t for t in (self._loading, *self._warming.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        clients = [p.client for p in self.snapshot.providers.values()]
        clients += [p for _, p in self._retired]
        self.snapshot = Snapshot()
        self._retired = []
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

    def provider_config(self, row: ProviderFields) -> ProviderConfig:
        return ProviderConfig(
            name=row.name,
            kind=row.kind,
            base_url=row.base_url,
            api_key=self._box.decrypt(row.api_key_encrypted) if row.api_key_encrypted else None,
            connect_timeout=row.connect_timeout or self._settings.default_connect_timeout,
            read_timeout=row.read_timeout or self._settings.default_read_timeout,
            headers=dict(row.headers or {}),
            tls_verify=row.tls_verify is not False,
            max_concurrent=row.max_concurrent,
            tokenizer=row.tokenizer,
            limits=self._limits,
        )

    def _runtime(self, row: ProviderRow) -> ProviderRuntime:
        """A provider's runtime, keeping the current pooled session when nothing changed."""
        config = self.provider_config(row)
        previous = self.snapshot.providers.get(row.name)
        if previous is not None and previous.config.fingerprint() == config.fingerprint():
            client = previous.client
        else:
            client = provider_class(config.kind)(config)
        return ProviderRuntime(config, client, _models(row.models))

    def _retire_replaced(self, new: Snapshot) -> None:
        """Close replaced sessions later, once requests still using them have finished."""
        now = time.monotonic()
        kept = {id(p.client) for p in new.providers.values()}
        for runtime in self.snapshot.providers.values():
            if id(runtime.client) not in kept:
                self._retired.append((now, runtime.client))
        due = [p for t, p in self._retired if now - t > RETIRED_PROVIDER_GRACE_SECONDS]
        self._retired = [
            (t, p) for t, p in self._retired if now - t <= RETIRED_PROVIDER_GRACE_SECONDS
        ]
        for client in due:
            task = asyncio.get_running_loop().create_task(client.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


def _models(entries: list[dict[str, Any]] | None) -> dict[str, ModelInfo]:
    return {
        e["name"]: ModelInfo(
            e["name"], e.get("context_length"), e.get("input_price"), e.get("output_price")
        )
        for e in entries or []
        if isinstance(e, dict) and isinstance(e.get("name"), str)
    }
