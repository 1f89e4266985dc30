"""The knowledge service of a running router: the in-memory index and the ingestion worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from junction.cluster.config_sync import ConfigSync
from junction.knowledge.index import KnowledgeIndex
from junction.knowledge.ingest import Ingestor

if TYPE_CHECKING:
    from junction.runtime import Runtime


class Knowledge:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self.index = KnowledgeIndex(rt.sessions)
        self.ingestor = Ingestor(
            rt.settings, rt.sessions, rt.catalog, rt.tokens.encoding, self.announce, self._prune
        )

    async def start(self) -> None:
        await self.ingestor.start()

    async def stop(self) -> None:
        await self.ingestor.stop()

    def kick(self) -> None:
        self.ingestor.kick()

    async def announce(self, s: AsyncSession) -> Callable[[], Awaitable[None]]:
        """Within a write's transaction: a new configuration version; the returned function,
        run after the commit, reloads the catalog here and on every replica."""
        version = await ConfigSync.mark_changed(s)
        rt = self._rt

        async def after_commit() -> None:
            if rt.config_sync is not None:
                await rt.config_sync.changed(version)
            else:
                await rt.catalog.reload()

        return after_commit

    def _prune(self) -> None:
        live = {a.id for per in self._rt.catalog.snapshot.assistants.values() for a in per.values()}
        self.index.prune(live)


def install(rt: Runtime) -> Knowledge:
    rt.knowledge = Knowledge(rt)
    return rt.knowledge
