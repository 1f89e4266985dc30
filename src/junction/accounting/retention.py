"""Retention: a background task deletes log rows and usage rollups past their periods.

Raw rows and rollups have periods of their own (``JUNCTION_LOG_RETENTION_DAYS``, 30 by
default; ``JUNCTION_USAGE_RETENTION_DAYS``, 400): usage over a year keeps answering after the
rows themselves are gone. Deletes go in bounded chunks — ``PURGE_CHUNK`` rows, or the rollups of
one hour — each its own short transaction, with a pause between them, so a long backlog never
holds one big transaction and the log writer's batches (and on SQLite, its write lock) get
their turn in between. Nothing here runs on the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from junction.store.serving_db import Database, Sql

log = logging.getLogger(__name__)

PURGE_CHUNK = 1000
PAUSE_SECONDS = 0.02  # between chunks: the writer's next batch goes first

_PURGE_LOGS = Sql(
    "DELETE FROM request_logs WHERE request_id IN "
    "(SELECT request_id FROM request_logs WHERE created_at < $1 LIMIT $2)"
)
_OLDEST_HOUR = Sql("SELECT MIN(hour) FROM usage_rollups WHERE hour < $1")
_PURGE_HOUR = Sql("DELETE FROM usage_rollups WHERE hour = $1")


async def purge_before(
    db: Database, cutoff: datetime, chunk: int = PURGE_CHUNK, pause: float = PAUSE_SECONDS
) -> int:
    """Delete every log row created before ``cutoff``; returns how many went."""
    removed = 0
    before = db.timestamp(cutoff)
    while True:
        count = await db.execute(_PURGE_LOGS, before, chunk)
        removed += count
        if count < chunk:
            return removed
        await asyncio.sleep(pause)


async def purge_rollups_before(db: Database, cutoff: datetime, pause: float = PAUSE_SECONDS) -> int:
    """Delete the rollups of every hour before ``cutoff``, one hour a transaction."""
    before = db.timestamp(cutoff)
    removed = 0
    while True:
        async with db.transaction() as conn:
            oldest = await conn.value(_OLDEST_HOUR, before)
            if oldest is None:
                return removed
            removed += await conn.execute(_PURGE_HOUR, oldest)
        await asyncio.sleep(pause)


class Retention:
    def __init__(
        self, db: Database, days: float, interval: float, rollup_days: float = 0.0
    ) -> None:
        self._db = db
        self._days = days
        self._rollup_days = rollup_days
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._days > 0 or self._rollup_days > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="log-purge")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def purge_once(self) -> int:
        """Purge rows and rollups past their periods; returns how many rows went."""
        now = time.time()
        removed = 0
        if self._days > 0:
            cutoff = datetime.fromtimestamp(now - self._days * 86400, UTC)
            removed = await purge_before(self._db, cutoff)
            if removed:
                log.info("request log: purged %d entries older than %s", removed, cutoff)
        if self._rollup_days > 0:
            cutoff = datetime.fromtimestamp(now - self._rollup_days * 86400, UTC)
            rolled = await purge_rollups_before(self._db, cutoff)
            if rolled:
                log.info("usage rollups: purged %d rows older than %s", rolled, cutoff)
        return removed

    async def _run(self) -> None:
        while True:
            try:
                await self.purge_once()
            except Exception:  # a failed purge is retried next interval; never kills the task
                log.exception("request log purge failed")
            await asyncio.sleep(self._interval)
