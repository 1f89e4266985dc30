"""The request log's write-behind: a bounded in-memory queue and one task storing batches.

The request path only appends the finished ``Call`` to a deque (``submit``): no conversion, no
I/O. The writer task wakes when a batch is full or the flush interval has passed, turns the
batch into rows (``entry.log_values``) and hands them to the database's ``RowStore`` (one
transaction a batch; for SQLite, in a child process). A failed batch goes back to the head of
the queue and is retried with backoff, so a database hiccup loses nothing while the queue has
room. When the queue is full, new calls are shed: counted (``dropped``) and warned about,
never blocking a request.
``stop()`` stores everything still queued before the database is closed (clean shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from junction.accounting.entry import log_values
from junction.accounting.row_store import LogSinkError, row_store
from junction.config.snapshot import Snapshot
from junction.core.call import Call
from junction.store.errors import from_database
from junction.store.serving_db import Database

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0
SHED_WARNING_EVERY_SECONDS = 10.0
STOP_ATTEMPTS = 5
CONVERT_SLICE = 50  # calls turned into rows per event-loop turn


class LogWriter:
    def __init__(
        self,
        db: Database,
        snapshot: Callable[[], Snapshot],
        capacity: int,
        batch_size: int,
        flush_interval: float,
    ) -> None:
        self._snapshot = snapshot
        self._rows_store = row_store(db)
        self._capacity = capacity
        self._batch_size = batch_size
        self._interval = flush_interval
        self._queue: deque[Call] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_warning = 0.0
        self._shed_since_warning = 0
        self.dropped = 0
        self.written = 0
        self.write_errors = 0

    @property
    def depth(self) -> int:
        return len(self._queue)

    def submit(self, call: Call) -> None:
        """Call observer: queue the call; never blocks. A full queue sheds it (counted)."""
        if len(self._queue) >= self._capacity:
            self.dropped += 1
            self._shed_since_warning += 1
            now = time.monotonic()
            if now - self._last_warning >= SHED_WARNING_EVERY_SECONDS:
                log.warning(
                    "request log queue is full (%d entries): shed %d entries (%d in total); "
                    "the database is not keeping up",
                    self._capacity,
                    self._shed_since_warning,
                    self.dropped,
                )
                self._last_warning = now
                self._shed_since_warning = 0
            return
        self._queue.append(call)
        if len(self._queue) >= self._batch_size:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="request-log")

    async def stop(self) -> None:
        """Stop the task and store every queued row (a few tries if the database fails)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for _ in range(STOP_ATTEMPTS):
            if not self._queue or await self._write_batch(len(self._queue)):
                break
            await asyncio.sleep(0.2)
        if self._queue:
            log.error("request log: %d entries could not be stored at shutdown", len(self._queue))
        await self._rows_store.close()

    async def flush(self) -> None:
        """Store everything queued now (tests and shutdown)."""
        while self._queue:
            if not await self._write_batch(self._batch_size):
                return

    async def _run(self) -> None:
        backoff = 0.0
        while not self._stopping:
            timeout = backoff or self._interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            if self._stopping:
                return
            backoff = 0.0
            while self._queue and not self._stopping:
                if not await self._write_batch(self._batch_size):
                    backoff = min(MAX_BACKOFF_SECONDS, max(1.0, backoff * 2))
                    break
                if len(self._queue) < self._batch_size:
                    break  # a partial batch waits for the next tick

    async def _write_batch(self, size: int) -> bool:
        batch = [self._queue.popleft() for _ in range(min(size, len(self._queue)))]
        if not batch:
            return True
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(batch), CONVERT_SLICE):
            if start:
                await asyncio.sleep(0)  # let requests run between slices: short loop stalls
            rows += self._rows(batch[start : start + CONVERT_SLICE])
        try:
            await self._rows_store.store(rows)
        except Exception as exc:
            self.write_errors += 1
            if isinstance(exc, OSError | TimeoutError | LogSinkError) or from_database(exc):
                # The database is away for a moment: expected, no traceback.
                log.warning(
                    "request log: storing %d entries failed (%s); will retry",
                    len(batch),
                    type(exc).__name__,
                )
            else:
                log.exception("request log: storing %d entries failed; will retry", len(batch))
            self._queue.extendleft(reversed(batch))  # back at the head, in order
            return False
        self.written += len(batch)
        return True

    def _rows(self, batch: list[Call]) -> list[tuple[Any, ...]]:
        snapshot = self._snapshot()
        created_at = self._rows_store.created_at
        rows = []
        for call in batch:
            try:
                values = log_values(call, snapshot)
            except Exception:  # a malformed call must not poison the whole batch
                self.dropped += 1
                log.exception("request log: cannot store call %s", call.request_id)
                continue
            if created_at is not None:
                values = (values[0], created_at(values[1]), *values[2:])
            rows.append(values)
        return rows
