"""Every process's catalog follows configuration changes made through any other process.

An admin write appends to the change feed (``config.feed``) in the same transaction as the
change. Then (1) the writing process applies the new entries at once, (2) it publishes the last
entry's number on Redis, where every replica listens and applies the entries it has not seen
within milliseconds, and (3) every process also polls the feed's counter (one primary-key read
per ``config_poll_seconds``): the safety net when Redis is unreachable or not configured at all
(several workers on one SQLite file). A process that missed pruned entries reloads everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from junction.config import feed
from junction.config.catalog import Catalog, Prepared
from junction.store.serving_db import Database

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

CHANNEL = "junction:config"


class ConfigSync:
    def __init__(
        self,
        catalog: Catalog,
        db: Database,
        redis: Redis | None,
        poll_seconds: float,
    ) -> None:
        self._catalog = catalog
        self._db = db
        self._redis = redis
        self._poll_seconds = poll_seconds
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Open the catalog (it loads in the background), then follow changes."""
        await self._catalog.open()
        self._tasks.append(asyncio.create_task(self._poll(), name="config-poll"))
        if self._redis is not None:
            self._tasks.append(asyncio.create_task(self._listen(), name="config-listen"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def changed(self, seq: int, prepared: Prepared | None = None) -> None:
        """After the commit of feed entries up to ``seq``: apply them here, tell the others."""
        await self._catalog.catch_up(seq, prepared)
        if self._redis is not None:
            from redis.exceptions import RedisError  # loaded with the client: no cost here

            try:
                await self._redis.publish(CHANNEL, str(seq))
            except (RedisError, OSError) as exc:
                log.warning(
                    "could not announce a config change on Redis (%s); "
                    "other replicas pick it up by polling",
                    exc,
                )

    async def _read_seq(self) -> int:
        return await feed.current(self._db)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                seq = await self._read_seq()
                if seq != self._catalog.applied:
                    await self._catalog.catch_up(seq)
            except Exception as exc:  # the database may be away for a moment: try again later
                log.warning("config poll failed: %s", exc)

    async def _listen(self) -> None:
        assert self._redis is not None
        delay = 0.5
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    delay = 0.5
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            data = message["data"]
                            text = data.decode() if isinstance(data, bytes) else str(data)
                            if text.isdigit():
                                await self._catalog.catch_up(int(text))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: polling covers; reconnect with backoff
                log.warning("config listener lost Redis (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
