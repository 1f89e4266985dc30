"""The writer, queries, retention and budget seeding on both databases, in process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from junction.accounting.budget import BudgetLedger, LocalSpend
from junction.accounting.entry import cost_of
from junction.accounting.queries import LogFilter, log_page
from junction.accounting.retention import Retention, purge_before
from junction.accounting.usage import usage
from junction.accounting.writer import LogWriter
from junction.config.snapshot import (
    ModelInfo,
    ProviderRuntime,
    Snapshot,
    WorkspaceSettings,
    WorkspaceView,
)
from junction.core.call import Call
from junction.errors import QuotaExceeded
from junction.store import models as m
from junction.store.db import create_engine, migrate, session_factory
from junction.store.serving_db import Database, open_database

WS = WorkspaceView("ws_1", "team", WorkspaceSettings(monthly_token_budget=100))


def priced_snapshot() -> Snapshot:
    provider = ProviderRuntime(
        config=None,  # type: ignore[arg-type]
        client=None,  # type: ignore[arg-type]
        models={"m": ModelInfo("m", None, input_price=1.0, output_price=4.0)},
    )
    return Snapshot(providers={"p": provider})


def call_at(when: datetime, n: int, assistant_tokens: tuple[int, int] = (10, 20)) -> Call:
    call = Call(f"req_{n:04d}", "chat.completions", created_at=when.timestamp())
    call.workspace = WS
    call.deployment = "p/m"
    call.prompt_tokens, call.completion_tokens = assistant_tokens
    call.finished_at = call.started + 0.01
    return call


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.scalar(select(func.count()).select_from(m.RequestLog))) or 0)


def test_cost_uses_the_models_prices() -> None:
    snap = priced_snapshot()
    assert cost_of(snap, "p/m", 1_000_000, 500_000) == pytest.approx(1.0 + 2.0)
    assert cost_of(snap, "p/unpriced", 100, 100) == 0
    assert cost_of(snap, None, 100, 100) == 0


async def test_writer_batches_pages_and_usage(engine: AsyncEngine, db: Database) -> None:
    writer = LogWriter(db, priced_snapshot, capacity=1000, batch_size=7, flush_interval=0.05)
    writer.start()
    now = datetime.now(UTC)
    for i in range(30):
        writer.submit(call_at(now - timedelta(days=i % 3, seconds=i), i))
    await writer.stop()
    assert await count(engine) == 30 and writer.written == 30 and writer.depth == 0

    sessions = session_factory(engine)
    async with sessions() as s:
        seen: list[str] = []
        cursor = None
        while True:
            rows, cursor = await log_page(s, LogFilter("ws_1"), 8, cursor)
            seen += [r.request_id for r in rows]
            if cursor is None:
                break
        assert len(seen) == 30 == len(set(seen))
        by_day, _ = await usage(s, "ws_1", "day")
        assert [r["requests"] for r in by_day] == [10, 10, 10]
        assert by_day[-1]["day"] == now.strftime("%Y-%m-%d")
        assert sum(r["cost"] for r in by_day) == pytest.approx(30 * (10 * 1.0 + 20 * 4.0) / 1e6)


async def test_failed_batches_stay_queued_and_are_stored_later(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'late.db'}"
    engine, db = create_engine(url), open_database(url)
    try:
        writer = LogWriter(db, priced_snapshot, capacity=100, batch_size=50, flush_interval=0.05)
        now = datetime.now(UTC)
        for i in range(5):
            writer.submit(call_at(now, i))
        await writer.flush()  # no table yet: the batch fails and goes back to the queue
        assert writer.write_errors == 1 and writer.depth == 5
        await migrate(engine)
        await writer.flush()
        assert writer.depth == 0 and await count(engine) == 5
        writer.submit(call_at(now, 4))  # a row that is already stored
        writer.submit(call_at(now, 5))
        await writer.flush()
        assert await count(engine) == 6, "duplicates are skipped, new rows kept"
        await writer.stop()
    finally:
        await engine.dispose()
        await db.close()


async def test_retention_purges_only_old_entries(engine: AsyncEngine, db: Database) -> None:
    writer = LogWriter(db, priced_snapshot, capacity=100, batch_size=100, flush_interval=1)
    now = datetime.now(UTC)
    for i in range(6):
        writer.submit(call_at(now - timedelta(days=10 * (i % 2)), i))
    await writer.stop()
    assert await purge_before(db, now - timedelta(days=100)) == 0
    retention = Retention(db, days=5, interval=0.05)
    retention.start()
    for _ in range(100):  # the task purges at start, then every 0.05 s
        if await count(engine) <= 3:
            break
        await asyncio.sleep(0.05)
    await retention.stop()
    assert await count(engine) == 3


async def test_budget_is_seeded_from_this_month_only(db: Database) -> None:
    writer = LogWriter(db, priced_snapshot, capacity=100, batch_size=100, flush_interval=1)
    now = datetime.now(UTC)
    last_month = now.replace(day=1) - timedelta(days=1)
    writer.submit(call_at(now, 1, (30, 30)))
    writer.submit(call_at(last_month, 2, (500, 500)))
    await writer.stop()
    ledger = BudgetLedger(LocalSpend())
    await ledger.seed(db)
    assert ledger.counter.spent("ws_1", now.strftime("%Y-%m")) == 60
    probe = Call("req_x", "chat.completions")
    probe.workspace = WS  # budget 100
    ledger.check(probe)
    ledger.record(call_at(now, 3, (20, 20)))
    with pytest.raises(QuotaExceeded):
        ledger.check(probe)


def test_a_new_month_starts_a_new_budget() -> None:
    clock = [datetime(2026, 1, 31, 23, 59, tzinfo=UTC).timestamp()]
    ledger = BudgetLedger(LocalSpend(), clock=lambda: clock[0])
    call = call_at(datetime.fromtimestamp(clock[0], UTC), 1, (60, 40))
    ledger.record(call)
    with pytest.raises(QuotaExceeded):
        ledger.check(call)
    clock[0] = datetime(2026, 2, 1, 0, 0, 1, tzinfo=UTC).timestamp()
    ledger.check(call)  # February: nothing spent yet
    ledger.record(call)  # a January call finishing late does not count against February
    ledger.check(call)


async def test_request_log_table_exists_after_migration(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM request_logs"))).scalar() == 0
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in inspect(c).get_columns("workspaces")}
        )
    assert "log_content" in columns
