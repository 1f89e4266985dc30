"""The SQLite request-log sink process: its protocol, its failures and its lifetime."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import sqlalchemy

from junction.accounting.entry import COLUMNS
from junction.accounting.row_store import INSERT, SqliteSinkStore
from junction.accounting.sqlite_sink import Statements, serve
from junction.accounting.writer import LogWriter
from junction.store.db import create_engine, migrate
from junction.store.models import Base
from junction.store.serving_db import open_database
from tests.accounting_support import USER, start_router
from tests.conftest import make_tenant
from tests.test_store_request_log import call_at, priced_snapshot
from tests.upstream import Upstream

SINK_MODULE = b"junction.accounting.sqlite_sink"


def frame(rows: object) -> bytes:
    payload = orjson.dumps(rows)
    return len(payload).to_bytes(4, "big") + payload


def sink_database(path: Path) -> str:
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    return str(path)


def row(request_id: str, status: int | None = 200, tokens: int = 10) -> list[object]:
    """A log row as the writer sends it (``created_at`` in SQLite's stored text form)."""
    values = dict.fromkeys(COLUMNS)
    values.update(
        request_id=request_id,
        created_at="2026-01-02 03:04:05.000000",
        day="2026-01-02",
        workspace_id="ws_1",
        endpoint="chat.completions",
        stream=False,
        status=status,
        latency_ms=12.5,
        prompt_tokens=tokens,
        completion_tokens=tokens,
        cost=0.0,
        attempts=1,
        cut_off=False,
        counted_by_router=False,
    )
    return [values[c] for c in COLUMNS]


def test_each_frame_is_one_transaction_answered_by_one_line(tmp_path: Path) -> None:
    db = sink_database(tmp_path / "sink.db")
    frames = io.BytesIO(
        frame([row("a", tokens=1), row("b", tokens=2)])
        + frame([row("b", tokens=20), row("c", tokens=3)])  # "b" is stored: skipped, "c" kept
        + frame([row("d", tokens=4), row("e", None)])  # NOT NULL fails: the frame is rolled back
        + frame([row("d", tokens=4)])
        + b"\x00\x00\x01"  # a cut-off header at the end of input: the sink just ends
    )
    replies = io.BytesIO()
    serve(db, Statements(INSERT.sqlite, list(COLUMNS)), frames, replies)
    lines = replies.getvalue().decode().splitlines()
    assert lines[:2] == ["ok", "ok"] and lines[3] == "ok" and len(lines) == 4
    assert lines[2].startswith("error IntegrityError: NOT NULL constraint failed")
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT request_id, prompt_tokens FROM request_logs ORDER BY 1")
        assert stored.fetchall() == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
        # The rollup counts what was stored, once: the skipped and the rolled-back rows not.
        rolled = conn.execute("SELECT requests, prompt_tokens FROM usage_rollups").fetchall()
    assert rolled == [(4, 1 + 2 + 3 + 4)]


def sink_of(writer: LogWriter) -> SqliteSinkStore:
    store = writer._rows_store
    assert isinstance(store, SqliteSinkStore)
    return store


async def test_a_killed_sink_loses_nothing_and_is_replaced(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()
    port = open_database(url)
    writer = LogWriter(port, priced_snapshot, capacity=100, batch_size=50, flush_interval=1)
    now = datetime.now(UTC)
    try:
        for i in range(5):
            writer.submit(call_at(now, i))
        await writer.flush()
        first = sink_of(writer).pid
        assert first is not None and writer.written == 5
        os.kill(first, signal.SIGKILL)
        for i in range(5, 10):
            writer.submit(call_at(now, i))
        await writer.flush()  # the dead sink: the batch fails and stays queued
        assert writer.write_errors == 1 and writer.depth == 5
        await writer.flush()
        assert writer.depth == 0 and writer.written == 10
        second = sink_of(writer).pid
        assert second is not None and second != first
    finally:
        await writer.stop()
        await port.close()
    assert sink_of(writer).pid is None
    with sqlite3.connect(tmp_path / "log.db") as conn:
        assert conn.execute("SELECT count(*) FROM request_logs").fetchone() == (10,)


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(p) for p in found]


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def ignores_sigterm(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has exited


def test_the_sink_never_outlives_a_killed_router(tmp_path: Path, upstream: Upstream) -> None:
    router = start_router(tmp_path, upstream, JUNCTION_LOG_FLUSH_INTERVAL="0.05")
    try:
        tenant = make_tenant(router)
        tenant.assistant("bot")
        with tenant.client() as client:
            client.chat.completions.create(model="bot", messages=USER)
        assert router.proc is not None
        sinks: list[int] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # started by the first batch; then exec'd
            sinks = [p for p in children(router.proc.pid) if SINK_MODULE in cmdline(p)]
            if sinks:
                break
            time.sleep(0.05)
        assert len(sinks) == 1, "one sink process beside the router"
        while not ignores_sigterm(sinks[0]) and time.monotonic() < deadline:
            time.sleep(0.01)  # still starting up
        os.kill(sinks[0], signal.SIGTERM)  # ignored: only the end of its input ends it
        time.sleep(0.3)
        assert not gone(sinks[0])
        router.proc.kill()
        router.proc.wait()
        deadline = time.monotonic() + 10
        while not gone(sinks[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone(sinks[0]), "the sink ends when the router's end of the pipe closes"
    finally:
        router.stop()
