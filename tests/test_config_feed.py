"""The configuration change feed on both databases: a change applied by the rows it touched,
rotation chains' owners kept right, a full reload when entries were pruned, never a snapshot
that holds half of a change."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from junction.config import catalog as catalog_module
from junction.config import feed, feed_record
from junction.config import load as load_module
from junction.config.catalog import Catalog, Prepared
from junction.config.load import RuntimeFor
from junction.config.snapshot import ProviderRuntime, Snapshot
from junction.security.secrets import SecretBox
from junction.settings import Settings
from junction.store import models as m
from junction.store.db import session_factory
from junction.store.serving_db import Conn, Database

Providers = dict[str, ProviderRuntime]


def _consistent(snap: Snapshot) -> None:
    """What no reader may ever see: a key or assistant whose workspace is not there."""
    assert all(k.workspace_id in snap.workspaces for k in snap.keys.values())
    assert all(
        a.workspace_id == w for w, v in snap.workspaces.items() for a in v.assistants.values()
    )


class Writer:
    """Admin-style writes: a tracked session whose commit carries its feed entries."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], keep: int = 10_000) -> None:
        self.sessions = sessions
        self.keep = keep

    async def write(self, *rows: object, delete: tuple[object, ...] = ()) -> int | None:
        async with self.sessions() as s:
            feed_record.track(s)
            for row in rows:
                await s.merge(row)
            for row in delete:
                await s.delete(await s.merge(row))
            entries = await feed_record.record(s, self.keep)
            await s.commit()
            return entries[-1].seq if entries else None


def _h(name: str) -> bytes:
    """A test key's digest (as the catalog looks it up; stored as its hex)."""
    return hashlib.sha256(name.encode()).digest()


def _key(kid: str, ws: str, parent: str | None = None) -> m.ApiKey:
    return m.ApiKey(
        id=kid,
        workspace_id=ws,
        name=kid,
        key_hash=_h(kid).hex(),
        key_prefix="jk",
        rotated_from=parent,
    )


async def _catalogs(engine: AsyncEngine, db: Database, tmp_path: Path) -> tuple[Writer, Catalog]:
    sessions = session_factory(engine)
    catalog = Catalog(Settings(data_dir=tmp_path), db, SecretBox(b"s" * 32))
    await catalog.reload()
    return Writer(sessions), catalog


async def test_changes_apply_by_the_rows_they_touched(
    engine: AsyncEngine, db: Database, tmp_path: Path
) -> None:
    writer, catalog = await _catalogs(engine, db, tmp_path)
    try:
        seq = await writer.write(m.Workspace(id="ws_a", name="a"))
        assert seq == 1
        expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        expiring = _key("k1", "ws_a")
        expiring.expires_at = expires
        await writer.write(
            expiring,
            m.Assistant(
                id="as_1", workspace_id="ws_a", name="bot", model=["p/m"], fallbacks=["p/f"]
            ),
        )
        await catalog.catch_up()
        first = catalog.snapshot
        assert catalog.applied == 3 and catalog.full_reloads == 1
        assert first.keys[_h("k1")].workspace_id == "ws_a"
        assert first.keys[_h("k1")].expires_at == expires.timestamp()
        bot = first.roster("ws_a")["bot"]
        assert bot.model == ("p/m",) and bot.fallbacks == ("p/f",)
        assert abs(bot.created - time.time()) < 300
        _consistent(first)
        fresh = Catalog(catalog._settings, db, SecretBox(b"s" * 32))
        await fresh.reload()
        assert fresh.snapshot.keys == first.keys and fresh.snapshot.workspaces == first.workspaces
        await fresh.close()

        # A rename touches one assistant: the keys are shared, not rebuilt.
        await writer.write(
            m.Assistant(id="as_1", workspace_id="ws_a", name="helper", model=["p/n"])
        )
        await catalog.catch_up()
        second = catalog.snapshot
        assert second is not first and catalog.full_reloads == 1
        assert "bot" not in second.roster("ws_a")
        assert second.roster("ws_a")["helper"].model == ("p/n",)
        assert second.keys is first.keys and second.providers is first.providers
        assert first.roster("ws_a")["bot"].model == ("p/m",), "the old snapshot unchanged"

        # A workspace deleted: its keys and assistants go with it, in the same snapshot.
        await writer.write(delete=(m.Workspace(id="ws_a", name="a"),))
        await catalog.catch_up()
        third = catalog.snapshot
        assert "ws_a" not in third.workspaces and _h("k1") not in third.keys
        _consistent(third)
        assert catalog.full_reloads == 1
    finally:
        await catalog.close()


async def test_rotation_owner_kept_incrementally(
    engine: AsyncEngine, db: Database, tmp_path: Path
) -> None:
    writer, catalog = await _catalogs(engine, db, tmp_path)
    try:
        await writer.write(m.Workspace(id="ws_r", name="r"))
        await writer.write(_key("k1", "ws_r"))
        await catalog.catch_up()
        for parent, child in (("k1", "k2"), ("k2", "k3"), ("k3", "k4")):
            await writer.write(_key(child, "ws_r", parent))
            await catalog.catch_up()  # one rotation at a time: the chain is in the database
        await writer.write(_key("k5", "ws_r", "k4"), _key("k6", "ws_r", "k5"))
        await catalog.catch_up()  # two links in one change
        owners = {h: k.owner_id for h, k in catalog.snapshot.keys.items()}
        assert set(owners.values()) == {"k1"}, owners
        assert catalog.full_reloads == 1

        fresh = Catalog(catalog._settings, db, SecretBox(b"s" * 32))
        await fresh.reload()
        assert fresh.snapshot.keys == catalog.snapshot.keys, "incremental equals a full load"
        await fresh.close()
    finally:
        await catalog.close()


async def test_missed_pruned_entries_mean_a_full_reload(
    engine: AsyncEngine, db: Database, tmp_path: Path
) -> None:
    writer, catalog = await _catalogs(engine, db, tmp_path)
    writer.keep = 100
    try:
        await writer.write(m.Workspace(id="ws_p", name="p"))
        keys = [_key(f"k{i}", "ws_p") for i in range(feed.PRUNE_EVERY + 50)]
        seq = await writer.write(*keys)  # one change of 1,050 rows: pruning runs with it
        assert seq == feed.PRUNE_EVERY + 51
        async with writer.sessions() as s:
            oldest = await s.scalar(select(func.min(m.ConfigChange.seq)))
            kept = await s.scalar(select(func.count()).select_from(m.ConfigChange))
        assert oldest == seq - 99 and kept == 100, "only the newest entries are kept"

        await catalog.catch_up()  # catalog had applied nothing: entries it needs are gone
        assert catalog.full_reloads == 2
        assert catalog.applied == seq
        assert len(catalog.snapshot.keys) == feed.PRUNE_EVERY + 50
        _consistent(catalog.snapshot)

        await writer.write(_key("late", "ws_p"))
        await catalog.catch_up()
        assert _h("late") in catalog.snapshot.keys and catalog.full_reloads == 2
    finally:
        await catalog.close()


async def test_a_write_without_configuration_rows_is_not_an_entry(
    engine: AsyncEngine, db: Database, tmp_path: Path
) -> None:
    writer, catalog = await _catalogs(engine, db, tmp_path)
    try:
        assert await writer.write() is None
        assert await feed.current(db) == 0
        await catalog.catch_up()
        assert catalog.applied == 0 and catalog.full_reloads == 1
    finally:
        await catalog.close()


async def test_the_writer_applies_what_it_read_in_its_own_transaction(
    engine: AsyncEngine, db: Database, tmp_path: Path
) -> None:
    writer, catalog = await _catalogs(engine, db, tmp_path)
    try:

        async def write(row: object) -> tuple[int, Prepared]:
            async with writer.sessions() as s:
                feed_record.track(s)
                await s.merge(row)
                entries = await feed_record.record(s, writer.keep)
                prepared = await catalog.prepare(s, entries)
                await s.commit()
            assert prepared is not None
            return entries[-1].seq, prepared

        seq, prepared = await write(m.Workspace(id="ws_w", name="w"))
        await catalog.catch_up(seq, prepared)
        assert catalog.snapshot is prepared.snapshot
        assert "ws_w" in catalog.snapshot.workspaces and catalog.applied == seq

        # Built on a snapshot that was replaced meanwhile: not used; the feed is read instead.
        seq, prepared = await write(_key("kw", "ws_w"))
        await catalog.reload()
        await writer.write(m.Workspace(id="ws_w", name="w", max_tokens=7))
        await catalog.catch_up(seq + 1, prepared)
        assert catalog.snapshot is not prepared.snapshot
        assert catalog.snapshot.workspaces["ws_w"].max_tokens == 7
        assert _h("kw") in catalog.snapshot.keys
        _consistent(catalog.snapshot)
    finally:
        await catalog.close()


async def test_start_up_serves_keys_before_the_full_load_without_a_read_per_request(
    engine: AsyncEngine, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``open`` loads the providers only; until the full load is in, a key's workspace is read
    once (shared by concurrent requests), an unknown key once, and a change drops what was
    warmed. Once the full load is in, nothing is read per request."""
    sessions = session_factory(engine)
    writer = Writer(sessions)
    for ws in ("ws_a", "ws_b"):
        await writer.write(
            m.Workspace(id=ws, name=ws),
            _key("k" + ws, ws),
            m.Assistant(id="as" + ws, workspace_id=ws, name="bot", model=["p/m"]),
        )
    gate = asyncio.Event()
    full_load = load_module.load_all

    async def held_load(port: Database, runtime_for: RuntimeFor) -> Snapshot:
        await gate.wait()
        return await full_load(port, runtime_for)

    reads: list[bytes] = []
    point_reads = load_module.workspace_of_key

    async def counted(
        conn: Conn, providers: Providers, digest: bytes, runtime_for: RuntimeFor
    ) -> Snapshot | None:
        reads.append(digest)
        return await point_reads(conn, providers, digest, runtime_for)

    monkeypatch.setattr(catalog_module, "load_all", held_load)
    monkeypatch.setattr(catalog_module, "workspace_of_key", counted)
    catalog = Catalog(Settings(data_dir=tmp_path), db, SecretBox(b"s" * 32))
    try:
        await catalog.open()
        assert not catalog.loaded and catalog.snapshot.keys == {}

        warmed = await asyncio.gather(*(catalog.warm(_h("kws_a")) for _ in range(10)))
        assert reads == [_h("kws_a")], "concurrent requests share one read"
        snap = warmed[-1]
        assert set(snap.keys) == {_h("kws_a")} and set(snap.workspaces) == {"ws_a"}
        assert snap.roster("ws_a")["bot"].model == ("p/m",)
        _consistent(snap)
        await catalog.warm(_h("kws_a"))
        await catalog.warm(_h("nobody"))
        await catalog.warm(_h("nobody"))
        assert reads == [_h("kws_a"), _h("nobody")], "a known or unknown key is read once"

        # A change while warming: what was warmed may be stale, so it is read again.
        revoked = _key("kws_a", "ws_a")
        revoked.revoked_at = datetime.now(UTC)
        seq = await writer.write(revoked)
        follow = asyncio.create_task(catalog.catch_up(seq))  # waits for the full load
        await asyncio.sleep(0)
        assert catalog.snapshot.keys == {}
        assert (await catalog.warm(_h("kws_a"))).keys[_h("kws_a")].revoked

        gate.set()
        await follow
        await catalog.wait_loaded()
        assert catalog.loaded and set(catalog.snapshot.keys) == {_h("kws_a"), _h("kws_b")}
        _consistent(catalog.snapshot)
        count = len(reads)
        for _ in range(5):
            await catalog.warm(_h("nobody"))
            await catalog.warm(_h("other"))
        assert len(reads) == count, "after the full load, no request reads the database"
    finally:
        gate.set()
        await catalog.close()


async def test_warm_reads_are_bounded_while_loading(
    engine: AsyncEngine, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of unknown keys during start-up: at most WARM_READS reads at a time; the rest
    wait for the full load instead of queueing reads."""
    gate, slow = asyncio.Event(), asyncio.Event()
    full_load = load_module.load_all

    async def held_load(port: Database, runtime_for: RuntimeFor) -> Snapshot:
        await gate.wait()
        return await full_load(port, runtime_for)

    reads: list[bytes] = []

    async def stuck(
        conn: Conn, providers: Providers, digest: bytes, runtime_for: RuntimeFor
    ) -> Snapshot | None:
        reads.append(digest)
        await slow.wait()
        return None

    monkeypatch.setattr(catalog_module, "load_all", held_load)
    monkeypatch.setattr(catalog_module, "workspace_of_key", stuck)
    catalog = Catalog(Settings(data_dir=tmp_path), db, SecretBox(b"s" * 32))
    try:
        await catalog.open()
        flood = [asyncio.create_task(catalog.warm(_h(f"x{i}"))) for i in range(50)]
        await asyncio.sleep(0.05)
        assert len(reads) == catalog_module.WARM_READS
        gate.set()
        slow.set()
        await asyncio.gather(*flood)
        assert catalog.loaded and len(reads) == catalog_module.WARM_READS
    finally:
        gate.set()
        slow.set()
        await catalog.close()
