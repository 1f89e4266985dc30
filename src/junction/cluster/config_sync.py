"""Every process's catalog follows configuration changes made through any other process.

An admin write stores a new random ``config_version`` in the same transaction as the change.
Then (1) the writing process reloads at once, (2) it publishes the version on Redis, where every
replica listens and reloads within milliseconds, and (3) every process also polls the version
row (one primary-key read per ``config_poll_seconds``): the safety net when Redis is unreachable
or not configured at all (several workers on one SQLite file).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from junction.config.catalog import Catalog
from junction.store.models import Meta

log = logging.getLogger(__name__)

CHANNEL = "junction:config"
VERSION_KEY = "config_version"


class ConfigSync:
    def __init__(
        self,
        catalog: Catalog,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis | None,
        poll_seconds: float,
    ) -> None:
        self._catalog = catalog
        self._sessions = sessions
        self._redis = redis
        self._poll_seconds = poll_seconds
        self._seen: str | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Load the catalog, then follow changes."""
        self._seen = await self._read_version()
        await self._catalog.reload()
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

    @staticmethod
    async def mark_changed(session: AsyncSession) -> str:
        """Within the admin write's transaction: a new version for the others to notice."""
        version = secrets.token_hex(8)
        await session.merge(Meta(key=VERSION_KEY, value=version))
        return version

    async def changed(self, version: str) -> None:
        """After the commit: reload here and tell the other replicas."""
        self._seen = version
        await self._catalog.reload()
        if self._redis is not None:
            try:
                await self._redis.publish(CHANNEL, version)
            except (RedisError, OSError) as exc:
                log.warning(
                    "could not announce a config change on Redis (%s); "
                    "other replicas pick it up by polling",
                    exc,
                )

    async def _read_version(self) -> str | None:
        async with self._sessions() as session:
            row = await session.get(Meta, VERSION_KEY)
            return row.value if row else None

    async def _reload_if_new(self, version: str | None) -> None:
        if version is not None and version != self._seen:
            self._seen = version
            await self._catalog.reload()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                await self._reload_if_new(await self._read_version())
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
                            version = data.decode() if isinstance(data, bytes) else str(data)
                            await self._reload_if_new(version)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: polling covers; reconnect with backoff
                log.warning("config listener lost Redis (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
