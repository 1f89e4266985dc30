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

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from junction.store.models import RequestLog
from junction.store.usage_rollups import usage_rollups

log = logging.getLogger(__name__)

PURGE_CHUNK = 1000
PAUSE_SECONDS = 0.02  # between chunks: the writer's next batch goes first


async def purge_before(
    engine: AsyncEngine, cutoff: datetime, chunk: int = PURGE_CHUNK, pause: float = PAUSE_SECONDS
) -> int:
    """Delete every log row created before ``cutoff``; returns how many went."""
    removed = 0
    while True:
        async with engine.begin() as conn:
            doomed = (
                select(RequestLog.request_id)
                .where(RequestLog.created_at < cutoff)
                .limit(chunk)
                .scalar_subquery()
            )
            result = await conn.execute(delete(RequestLog).where(RequestLog.request_id.in_(doomed)))
        count = result.rowcount or 0
        removed += count
        if count < chunk:
            return removed
        await asyncio.sleep(pause)


async def purge_rollups_before(
    engine: AsyncEngine, cutoff: datetime, pause: float = PAUSE_SECONDS
) -> int:
    """Delete the rollups of every hour before ``cutoff``, one hour a transaction."""
    hour = usage_rollups.c.hour
    removed = 0
    while True:
        async with engine.begin() as conn:
            oldest = await conn.scalar(select(func.min(hour)).where(hour < cutoff))
            if oldest is None:
                return removed
            result = await conn.execute(delete(usage_rollups).where(hour == oldest))
        removed += result.rowcount or 0
        await asyncio.sleep(pause)


class Retention:
    def __init__(
        self, engine: AsyncEngine, days: float, interval: float, rollup_days: float = 0.0
    ) -> None:
        self._engine = engine
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
            removed = await purge_before(self._engine, cutoff)
            if removed:
                log.info("request log: purged %d entries older than %s", removed, cutoff)
        if self._rollup_days > 0:
            cutoff = datetime.fromtimestamp(now - self._rollup_days * 86400, UTC)
            rolled = await purge_rollups_before(self._engine, cutoff)
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
