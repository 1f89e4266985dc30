"""The knowledge service of a running router: the in-memory index and the ingestion worker."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from typing import TYPE_CHECKING

from junction.config.feed import Entry
from junction.knowledge.calls import Embedder
from junction.knowledge.index import KnowledgeIndex
from junction.knowledge.ingest import Ingestor

if TYPE_CHECKING:
    from junction.runtime import Runtime

log = logging.getLogger(__name__)


class Knowledge:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self.index = KnowledgeIndex(rt.orm, rt.settings.knowledge_ann_min_chunks)
        self.embedder = Embedder(rt)
        self._warming: asyncio.Task[None] | None = None
        self.ingestor = Ingestor(
            rt.settings,
            rt.db,
            rt.orm,
            rt.catalog,
            self.embedder,
            rt.tokens.encoding,
            self._applied,
            self._refresh,
        )

    async def start(self) -> None:
        await self.ingestor.start()
        self._warming = asyncio.create_task(self._warm(), name="knowledge-warm")

    async def _warm(self) -> None:
        """Load the assistants' vectors (and numpy) before their first question asks for them."""
        await self._rt.catalog.wait_loaded()
        assistants = [
            a
            for ws in self._rt.catalog.snapshot.workspaces.values()
            for a in ws.assistants.with_knowledge()
        ]
        if not assistants:
            return  # numpy stays unloaded until a file is uploaded
        await asyncio.to_thread(importlib.import_module, "numpy")
        for assistant in assistants:
            try:
                await self.index.get(assistant)
            except Exception as exc:  # a database hiccup: the first question loads it then
                log.warning("could not preload the knowledge of %s: %s", assistant.name, exc)

    async def stop(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming
        await self.ingestor.stop()
        await self.index.close()

    def kick(self) -> None:
        self.ingestor.kick()

    async def _applied(self, entries: list[Entry]) -> None:
        """After the commit of a write with these change-feed entries: apply them here and
        on every replica."""
        rt = self._rt
        if not entries:
            return
        if rt.config_sync is not None:
            await rt.config_sync.changed(entries[-1].seq)
        else:
            await rt.catalog.catch_up(entries[-1].seq)

    async def _refresh(self) -> None:
        """After each ingestion sweep (at least every poll): forget the vectors of assistants
        deleted or left without knowledge, and load those whose knowledge changed (here or on
        another replica), so that the first question after a change rarely waits for the load.
        Only the assistants with knowledge are looked at closely: the others cost no object."""
        if not self._rt.catalog.loaded:
            return  # pruning against a partly loaded catalog would forget loaded vectors
        with_knowledge = [
            a
            for ws in self._rt.catalog.snapshot.workspaces.values()
            for a in ws.assistants.with_knowledge()
        ]
        self.index.prune({a.id for a in with_knowledge})
        stale = [a for a in with_knowledge if not self.index.current(a)]
        if stale:
            await asyncio.to_thread(importlib.import_module, "numpy")  # once, off the loop
        for assistant in stale:
            await self.index.get(assistant)


def install(rt: Runtime) -> Knowledge:
    rt.knowledge = Knowledge(rt)
    return rt.knowledge
