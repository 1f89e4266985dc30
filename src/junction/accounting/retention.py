"""Request log retention: a background task deletes entries older than the retention period.

Deletes go in bounded chunks so that a long backlog never holds one huge transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from junction.store.models import RequestLog

log = logging.getLogger(__name__)

PURGE_CHUNK = 5000


async def purge_before(engine: AsyncEngine, cutoff: datetime) -> int:
    """Delete every entry created before ``cutoff``; returns how many went."""
    removed = 0
    while True:
        async with engine.begin() as conn:
            doomed = (
                select(RequestLog.request_id)
                .where(RequestLog.created_at < cutoff)
                .limit(PURGE_CHUNK)
                .scalar_subquery()
            )
            result = await conn.execute(delete(RequestLog).where(RequestLog.request_id.in_(doomed)))
        count = result.rowcount or 0
        removed += count
        if count < PURGE_CHUNK:
            return removed


class Retention:
    def __init__(self, engine: AsyncEngine, days: float, interval: float) -> None:
        self._engine = engine
        self._days = days
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._days > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="log-purge")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def purge_once(self) -> int:
        cutoff = datetime.fromtimestamp(time.time() - self._days * 86400, UTC)
        removed = await purge_before(self._engine, cutoff)
        if removed:
            log.info("request log: purged %d entries older than %s", removed, cutoff.isoformat())
        return removed

    async def _run(self) -> None:
        while True:
            try:
                await self.purge_once()
            except Exception:  # a failed purge is retried next interval; never kills the task
                log.exception("request log purge failed")
            await asyncio.sleep(self._interval)
