"""Usage rollups in process: kept with the rows, never counted twice, back-filled by the
migration, and purged in bounded batches on their own period (both databases)."""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from junction.accounting.entry import log_values
from junction.accounting.raw_usage import raw_counters
from junction.accounting.retention import Retention, purge_before, purge_rollups_before
from junction.accounting.row_store import INSERT, row_store
from junction.accounting.usage import report, usage
from junction.accounting.writer import LogWriter
from junction.store import models as m
from junction.store import rollup
from junction.store.db import alembic_config, create_engine, migrate, session_factory
from junction.store.serving_db import Database, SqlAlchemyConn, open_database, sqlite_timestamp
from junction.store.usage_rollups import usage_rollups
from tests.conftest import drop_store
from tests.test_store_request_log import call_at, priced_snapshot

DOORS = ("chat.completions", "responses.create", "messages", "embeddings", "completions")


def varied_calls(now: datetime, count: int, first: int = 0) -> list[Any]:
    """Calls over three days and several hours, assistants, keys, models, front doors and
    statuses."""
    calls = []
    for n in range(first, first + count):
        call = call_at(now - timedelta(hours=n % 50, minutes=n % 7), n, (n % 13, n % 29))
        call.endpoint = DOORS[n % len(DOORS)]
        call.status = (200, 200, 200, 429, 502, 400)[n % 6]
        call.finished_at = call.started + (n % 40) * 0.037
        if n % 3 == 0:
            call.first_token_at = call.started + (n % 11) * 0.011
        call.counted_by_router = n % 5 == 0
        if n % 4 == 0:
            call.deployment = None
        if n % 9 == 0:
            call.workspace = None  # failed authentication
        calls.append(call)
    return calls


async def raw_by(engine: AsyncEngine, column: str) -> dict[Any, tuple[int, int, int, int, float]]:
    """(requests, errors, prompt, completion, cost) per value of a log column, by plain SQL."""
    log = m.RequestLog
    col = getattr(log, column)
    query = (
        select(
            col,
            func.count(),
            func.sum(case((log.status >= 400, 1), else_=0)),
            func.sum(log.prompt_tokens),
            func.sum(log.completion_tokens),
            func.sum(log.cost),
        )
        .where(log.workspace_id == "ws_1")
        .group_by(col)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {v: (int(n), int(e), int(p), int(c), float(cost)) for v, n, e, p, c, cost in rows}


async def assert_usage_equals_log(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as s:
        for group_by, column in (
            ("assistant", "assistant"),
            ("model", "model"),
            ("endpoint", "endpoint"),
            ("day", "day"),
        ):
            rows, total = await usage(s, "ws_1", group_by)
            field = "key_id" if group_by == "key" else group_by
            got = {r[field]: r for r in rows}
            want = await raw_by(engine, column)
            assert set(got) == set(want), group_by
            for value, (n, errors, prompt, completion, cost) in want.items():
                row = got[value]
                assert (row["requests"], row["errors"]) == (n, errors), (group_by, value)
                assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
                assert row["cost"] == pytest.approx(cost)
            assert total["requests"] == sum(w[0] for w in want.values())


async def test_rollups_equal_the_log_and_a_resent_batch_counts_once(
    engine: AsyncEngine, db: Database
) -> None:
    writer = LogWriter(db, priced_snapshot, capacity=1000, batch_size=40, flush_interval=1)
    now = datetime.now(UTC)
    for call in varied_calls(now, 300):
        writer.submit(call)
    await writer.flush()
    # The same batch again (its first commit landed, the reply was lost), with new rows in it.
    store = writer._rows_store
    again = [log_values(c, priced_snapshot()) for c in varied_calls(now, 60, first=270)]
    if store.created_at is not None:
        again = [(v[0], store.created_at(v[1]), *v[2:]) for v in again]
    await store.store(again)
    await store.store(again[:30])
    await writer.stop()
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(m.RequestLog)) == 330
        rolled = await conn.scalar(select(func.sum(usage_rollups.c.requests)))
    assert int(rolled or 0) == 330
    await assert_usage_equals_log(engine)


async def test_latency_histograms_give_the_logs_percentiles(
    engine: AsyncEngine, db: Database
) -> None:
    writer = LogWriter(db, priced_snapshot, capacity=1000, batch_size=100, flush_interval=1)
    for call in varied_calls(datetime.now(UTC), 400):
        writer.submit(call)
    await writer.stop()
    log = m.RequestLog
    async with engine.connect() as conn:
        latencies = sorted(
            (await conn.scalars(select(log.latency_ms).where(log.workspace_id == "ws_1"))).all()
        )
    async with session_factory(engine)() as s:
        _, total = await usage(s, "ws_1", "assistant")
    bounds = (0, *rollup.LATENCY_BOUNDS_MS)
    for share, name in ((0.5, "latency_p50_ms"), (0.95, "latency_p95_ms")):
        exact = latencies[int(share * len(latencies))]
        i = bisect_left(rollup.LATENCY_BOUNDS_MS, exact)
        # The estimate lies in the exact value's bucket (or at its edge).
        assert bounds[i] - 1e-9 <= total[name] <= bounds[i + 1] + 1e-9, (name, exact, total)


async def test_raw_rows_add_up_to_the_rollups_counters(engine: AsyncEngine, db: Database) -> None:
    """The partial-hour path (SQL over raw rows) buckets and sums exactly as the writer."""
    writer = LogWriter(db, priced_snapshot, capacity=1000, batch_size=100, flush_interval=1)
    for call in varied_calls(datetime.now(UTC), 400):
        writer.submit(call)
    await writer.stop()
    async with session_factory(engine)() as s:
        for group_by, column in (("endpoint", m.RequestLog.endpoint), ("assistant", None)):
            rows, total = await usage(s, "ws_1", group_by)  # whole hours: rollups only
            where = m.RequestLog.workspace_id == "ws_1"
            raw = await raw_counters(s, where, column)
            if column is None:
                assert report(raw[None]) == pytest.approx(total)
            else:
                assert {r[group_by]: r for r in rows} == {
                    value: pytest.approx({group_by: value, **report(c)}) for value, c in raw.items()
                }
    assert total["latency_p95_ms"] is not None and total["ttft_p50_ms"] is not None


async def test_partial_hours_at_the_edges_come_from_the_rows(
    engine: AsyncEngine, db: Database
) -> None:
    writer = LogWriter(db, priced_snapshot, capacity=1000, batch_size=100, flush_interval=1)
    base = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    for n in range(180):  # one call a minute from 10:00 to 12:59
        writer.submit(call_at(base + timedelta(minutes=n), n, (1, 2)))
    await writer.stop()
    async with session_factory(engine)() as s:
        for since, until, want in (
            (base + timedelta(minutes=30), base + timedelta(minutes=150), 120),
            (base + timedelta(minutes=30), None, 150),
            (None, base + timedelta(minutes=75), 75),
            (base + timedelta(minutes=5), base + timedelta(minutes=10), 5),
            (base + timedelta(minutes=55), base + timedelta(minutes=70), 15),
            (base + timedelta(hours=1), base + timedelta(hours=2), 60),
        ):
            rows, total = await usage(s, "ws_1", "hour", since, until)
            assert total["requests"] == want, (since, until)
            assert total["prompt_tokens"] == want and total["completion_tokens"] == 2 * want
            assert sum(r["requests"] for r in rows) == want
        rows, _ = await usage(s, "ws_1", "hour", base + timedelta(minutes=30))
        assert [(r["hour"], r["requests"]) for r in rows] == [
            (base.isoformat(), 30),
            ((base + timedelta(hours=1)).isoformat(), 60),
            ((base + timedelta(hours=2)).isoformat(), 60),
        ]


def _upgrade_to(target: str) -> Any:
    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, target)

    return run


async def insert_raw(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    """Log rows as the writer stores them, straight into a schema of an older revision."""
    if conn.dialect.name == "sqlite":
        rows = [(v[0], sqlite_timestamp(v[1]), *v[2:]) for v in rows]
    await SqlAlchemyConn(conn).execute_many(INSERT, rows)


async def test_the_migration_back_fills_existing_logs(tmp_path: Path, pg_url: str) -> None:
    for url in (f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", pg_url):
        engine, db = create_engine(url), open_database(url)
        try:
            async with engine.begin() as conn:  # the schema as it was before the rollups
                for head in ("0006", "0012"):
                    await conn.run_sync(_upgrade_to(head))
            rows = [log_values(c, priced_snapshot()) for c in varied_calls(datetime.now(UTC), 250)]
            async with engine.begin() as conn:
                await insert_raw(conn, rows)
            await migrate(engine)  # 0008: creates and back-fills the rollups
            await assert_usage_equals_log(engine)
            writer = LogWriter(db, priced_snapshot, 1000, 100, 1)  # then kept by the writer
            for call in varied_calls(datetime.now(UTC), 50, first=1000):
                writer.submit(call)
            await writer.stop()
            await assert_usage_equals_log(engine)
        finally:
            await db.close()
            await drop_store(engine, dropped=url == pg_url)


BEFORE_FRONT_DOORS = ("0007", "0008", "0009", "0010", "0011", "0013")


async def test_the_front_door_migration_splits_rollups_by_the_rows_still_kept(
    tmp_path: Path, pg_url: str
) -> None:
    for url in (f"sqlite+aiosqlite:///{tmp_path / 'doors.db'}", pg_url):
        engine, db = create_engine(url), open_database(url)
        try:
            async with engine.begin() as conn:
                for head in ("0006", "0012"):
                    await conn.run_sync(_upgrade_to(head))
            now = datetime.now(UTC)
            rows = [log_values(c, priced_snapshot()) for c in varied_calls(now, 400)]
            async with engine.begin() as conn:
                await insert_raw(conn, rows)
                for head in BEFORE_FRONT_DOORS:  # rollups without front doors (0008)
                    await conn.run_sync(_upgrade_to(head))
            # Retention took the older rows, the oldest kept hour only in part.
            cutoff = now - timedelta(hours=30, minutes=3)
            purged = await purge_before(db, cutoff, pause=0)
            assert 0 < purged < 400
            before = await rollup_sums(engine)
            await migrate(engine)  # 0014
            assert await rollup_sums(engine) == pytest.approx(before)
            async with session_factory(engine)() as s:
                by_door, total = await usage(s, "ws_1", "endpoint")
            got = {r["endpoint"]: r["requests"] for r in by_door}
            kept = {door: n for door, (n, *_) in (await raw_by(engine, "endpoint")).items()}
            gone = total["requests"] - sum(kept.values())
            assert gone > 0
            assert got == {**kept, None: gone}
            # From here on the writer keeps each front door's rollups itself.
            writer = LogWriter(db, priced_snapshot, 1000, 100, 1)
            for call in varied_calls(datetime.now(UTC), 50, first=1000):
                writer.submit(call)
            await writer.stop()
            async with session_factory(engine)() as s:
                by_door, _ = await usage(s, "ws_1", "endpoint")
            kept = {door: n for door, (n, *_) in (await raw_by(engine, "endpoint")).items()}
            assert {r["endpoint"]: r["requests"] for r in by_door} == {**kept, None: gone}
        finally:
            await db.close()
            await drop_store(engine, dropped=url == pg_url)


async def rollup_sums(engine: AsyncEngine) -> list[float]:
    """Every counter of the rollups, summed over all of them."""
    columns = [func.coalesce(func.sum(usage_rollups.c[name]), 0) for name in rollup.COUNTERS]
    async with engine.connect() as conn:
        return [float(v) for v in (await conn.execute(select(*columns))).one()]


async def test_retention_purges_rows_and_rollups_on_their_own_periods(
    engine: AsyncEngine, db: Database
) -> None:
    writer = LogWriter(db, priced_snapshot, capacity=2000, batch_size=200, flush_interval=1)
    now = datetime.now(UTC)
    for n in range(120):  # one call every 6 hours: 30 days back
        writer.submit(call_at(now - timedelta(hours=6 * n), n))
    await writer.stop()

    async def counts() -> tuple[int, int]:
        async with engine.connect() as conn:
            rows = await conn.scalar(select(func.count()).select_from(m.RequestLog))
            hours = await conn.scalar(select(func.count()).select_from(usage_rollups))
        return int(rows or 0), int(hours or 0)

    assert await counts() == (120, 120)
    # Raw rows older than 10 days go, in chunks of 7: the rollups stay.
    assert await purge_before(db, now - timedelta(days=10), chunk=7, pause=0) == 79
    assert await counts() == (41, 120)
    async with session_factory(engine)() as s:
        _, total = await usage(s, "ws_1", "day")
    assert total["requests"] == 120  # usage over the whole period still answers
    # Rollups have their own, longer period: 20 days.
    assert await purge_rollups_before(db, now - timedelta(days=20), pause=0) == 40
    assert await counts() == (41, 80)
    retention = Retention(db, days=5, interval=3600, rollup_days=15)
    # Its clock is a moment later: the row exactly 5 days old goes too.
    assert await retention.purge_once() == 21
    assert await counts() == (20, 60)


async def test_stored_rows_are_checked_in_chunks(engine: AsyncEngine, db: Database) -> None:
    """A batch larger than one id look-up (the flush at shutdown) is still counted once."""
    store = row_store(db)
    try:
        rows = [log_values(c, priced_snapshot()) for c in varied_calls(datetime.now(UTC), 1200)]
        if store.created_at is not None:
            rows = [(v[0], store.created_at(v[1]), *v[2:]) for v in rows]
        await store.store(rows[:700])
        await store.store(rows)
    finally:
        await store.close()
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.sum(usage_rollups.c.requests))) == 1200
