"""The background worker that turns uploaded files into embedded chunks.

Files wait in the database with ``status = processing``. A worker claims one by setting its
lease (an atomic conditional update, so replicas never work on the same file), renews the lease
while it works, and ends the file ``ready`` or ``failed``. A router killed mid-file leaves a
lease that runs out; the next start (or another replica) claims the file again, and a file
claimed more than ``knowledge_max_attempts`` times ends ``failed``: none stays ``processing``.
Parsing and chunking run in a thread; at most ``knowledge_workers`` files at once per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from junction.config.catalog import Catalog
from junction.settings import Settings
from junction.store.orm import LazyOrm
from junction.store.serving_db import Database, Sql

if TYPE_CHECKING:
    import tiktoken

    from junction.knowledge.calls import Embedder
    from junction.knowledge.ingest_work import AfterCommit, FileWork

log = logging.getLogger(__name__)

# The waiting file a worker claims (the oldest whose lease is free), and its claim: a
# conditional update, so that replicas never work on the same file. Through the serving port:
# a router that never gets a file never loads the ORM side (``ingest_work``).
_FREE = "status = 'processing' AND (lease_until IS NULL OR lease_until < $1)"
_WAITING = Sql(f"SELECT id FROM knowledge_files WHERE {_FREE} ORDER BY created_at LIMIT 1")
_CLAIM = Sql(
    "UPDATE knowledge_files SET lease_until = $3, attempts = attempts + 1 "
    f"WHERE id = $2 AND {_FREE}"
)


class Ingestor:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        orm: LazyOrm,
        catalog: Catalog,
        embedder: Embedder,
        encoding: tiktoken.Encoding,
        after_commit: AfterCommit,
        on_sweep: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._s = settings
        self._db = db
        self._orm = orm
        self._catalog = catalog
        self._embedder = embedder
        self._encoding = encoding
        self._after_commit = after_commit
        self._on_sweep = on_sweep
        self._work: FileWork | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for n in range(max(1, self._s.knowledge_workers)):
            self._tasks.append(asyncio.create_task(self._run(), name=f"knowledge-ingest-{n}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def kick(self) -> None:
        """New work: look now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                while await self.step():
                    pass
                if self._on_sweep is not None:
                    await self._on_sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment: the next poll tries again
                log.exception("knowledge ingestion sweep failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._s.knowledge_poll_seconds):
                    await self._wake.wait()
            self._wake.clear()

    async def step(self) -> bool:
        """Claim and process one waiting file; False when none waits."""
        file_id = await self._claim()
        if file_id is None:
            return False
        await self._file_work().run(file_id)
        return True

    def _file_work(self) -> FileWork:
        if self._work is None:
            from junction.knowledge.ingest_work import FileWork

            self._work = FileWork(
                self._s,
                self._orm.sessions,
                self._catalog,
                self._embedder,
                self._encoding,
                self._after_commit,
            )
        return self._work

    async def _claim(self) -> str | None:
        lease = timedelta(seconds=self._s.knowledge_lease_seconds)
        stored = self._db.timestamp
        for _ in range(8):  # another replica may take the one we saw: look again
            now = datetime.now(UTC)
            found = await self._db.value(_WAITING, stored(now))
            if found is None:
                return None
            if await self._db.execute(_CLAIM, stored(now), found, stored(now + lease)) == 1:
                return str(found)
        return None
