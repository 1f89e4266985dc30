"""``last_used_at`` of API keys, kept in memory and written in batches, off the request path.

Each finished call notes its key's time of use in a dict (no I/O); every
``key_usage_flush_seconds`` one transaction writes what gathered, and once more at shutdown.
A write that fails keeps its entries for the next flush, so no use is lost to a database
that is briefly unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from junction.core.call import Call
from junction.store.serving_db import Database, Sql

log = logging.getLogger(__name__)

# An executemany; a later use never goes back in time.
_UPDATE = Sql(
    "UPDATE api_keys SET last_used_at = $2 "
    "WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)"
)


class KeyUsage:
    def __init__(self, db: Database, interval: float) -> None:
        self.db = db
        self.interval = interval
        self.pending: dict[str, float] = {}  # key id -> unix time of last use
        self.flushes = 0
        self._task: asyncio.Task[None] | None = None

    def observe(self, call: Call) -> None:
        """A ``Runtime.call_observers`` entry."""
        if call.key is not None:
            self.pending[call.key.id] = call.created_at

    async def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, {}
        stored = self.db.timestamp
        rows = [
            (key_id, stored(datetime.fromtimestamp(used, UTC))) for key_id, used in batch.items()
        ]
        try:
            await self.db.execute_many(_UPDATE, rows)
        except Exception as exc:  # keep them for the next try; never lose a use
            log.warning("could not write keys' last_used_at (%s); will retry", exc)
            for key_id, used in batch.items():
                self.pending[key_id] = max(used, self.pending.get(key_id, 0.0))
        else:
            self.flushes += 1

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
