"""Where the request log's rows go: ``row_store(db)`` picks the store for the database.

Both stores take a batch of rows (tuples in ``entry.COLUMNS`` order) and store it in one
transaction or raise; a row whose ``request_id`` is already stored is skipped (a retried batch
whose first commit did land), so a retry never duplicates nor fails. The same transaction adds
the rows it inserts — only those — to the usage rollups (``store.rollup``).

- ``DatabaseRowStore``: one executemany through the serving port. PostgreSQL uses it
  (asyncpg pipelines the batch on the event loop, with no thread to compete with).
- ``SqliteSinkStore``: a child process (``sqlite_sink``) does the inserts into the SQLite file,
  so that they cost the router's event loop only the batch's serialisation.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
from collections.abc import Callable
from typing import Any, Protocol

import orjson

from junction.accounting.entry import COLUMNS
from junction.store import rollup
from junction.store.serving_db import Database, Sql, SqliteDatabase, sqlite_timestamp

Rows = list[tuple[Any, ...]]
SINK_EXIT_SECONDS = 10.0


class LogSinkError(Exception):
    """The SQLite sink process could not store a batch (its message says why)."""


class RowStore(Protocol):
    # The dialect's conversion of ``created_at``, applied while rows are built (or None).
    created_at: Callable[[Any], Any] | None

    async def store(self, rows: Rows) -> None: ...

    async def close(self) -> None: ...


# Already-stored request ids are skipped.
INSERT = Sql(
    f"INSERT INTO request_logs ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))}) "
    "ON CONFLICT (request_id) DO NOTHING"
)
_UPSERT = Sql(rollup.upsert_statement("numeric_dollar"))
_LOCK = Sql("SELECT pg_advisory_xact_lock($1)")
_EXISTING = Sql("SELECT request_id FROM request_logs WHERE request_id = ANY($1)")


def row_store(db: Database) -> RowStore:
    if isinstance(db, SqliteDatabase) and db.path != ":memory:":
        return SqliteSinkStore(db.path, INSERT.sqlite, sqlite_timestamp)
    return DatabaseRowStore(db)


class DatabaseRowStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._reader = rollup.Reader(COLUMNS)
        self._postgres = db.dialect == "postgresql"
        # This writer's transactions take this lock: a retry waits for an earlier attempt
        # whose connection was lost mid-commit, so it sees that attempt's rows as stored.
        self._lock_key = secrets.randbits(63)
        # SQLite stores timestamps as text; asyncpg takes the datetimes as they are.
        self.created_at: Callable[[Any], Any] | None = None if self._postgres else db.timestamp

    async def store(self, rows: Rows) -> None:
        if not rows:
            return
        async with self._db.transaction() as conn:
            if self._postgres:
                await conn.value(_LOCK, self._lock_key)
            stored: set[str] = set()
            for ids in rollup.id_chunks(rows):
                stored.update(r[0] for r in await conn.fetch(_EXISTING, ids))
            fresh = rollup.fresh_rows(rows, stored)
            if not fresh:
                return
            await conn.execute_many(INSERT, fresh)
            totals = self._reader.add({}, fresh)
            await conn.execute_many(_UPSERT, rollup.upsert_values(totals))

    async def close(self) -> None:
        return None


class SqliteSinkStore:
    """Talks to one ``sqlite_sink`` child, started on first use and again after it died."""

    def __init__(self, database: str, insert: str, created_at: Callable[[Any], Any] | None) -> None:
        self._database = database
        self._insert = insert
        self.created_at = created_at
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()  # one frame and its reply at a time

    @property
    def pid(self) -> int | None:
        """The running sink's process id, if one runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    async def store(self, rows: Rows) -> None:
        if not rows:
            return
        payload = orjson.dumps(rows)
        async with self._lock:
            proc = await self._running()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(len(payload).to_bytes(4, "big"))
                proc.stdin.write(payload)
                await proc.stdin.drain()
                reply = await proc.stdout.readline()
            except (OSError, asyncio.CancelledError):
                await self._reap(proc)  # a frame may be half-sent: never reuse this pipe
                raise
            if not reply.endswith(b"\n"):
                await self._reap(proc)
                raise OSError(f"the request-log sink exited (code {proc.returncode})")
        if reply != b"ok\n":
            raise LogSinkError(reply.decode("utf-8", "replace").strip())

    async def close(self) -> None:
        async with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                await self._reap(proc)  # end of input: the sink finishes and exits

    async def _running(self) -> asyncio.subprocess.Process:
        if self._proc is None or self._proc.returncode is not None:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "junction.accounting.sqlite_sink",
                self._database,
                self._insert,
                ",".join(COLUMNS),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C to the router's process group skips it
            )
        return self._proc

    async def _reap(self, proc: asyncio.subprocess.Process) -> None:
        """End the child (its input closed; killed if it lingers) so no process is left."""
        if self._proc is proc:
            self._proc = None
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), SINK_EXIT_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
