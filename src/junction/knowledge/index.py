"""Each assistant's knowledge in memory: one float32 matrix of unit vectors, scanned exactly.

Loaded on first use and again only when the assistant's ``knowledge_version`` (part of the
configuration snapshot, which every replica follows) differs from the loaded one: the request
path reads the database once after a change, never per request. Concurrent requests of the
same assistant share one load.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from junction.config.snapshot import AssistantView
from junction.store.knowledge import KnowledgeChunk, KnowledgeFile

if TYPE_CHECKING:
    import numpy as np

    from junction.knowledge.embed import Vectors


@dataclass(frozen=True)
class Loaded:
    version: str
    matrix: Vectors  # n x d, rows of unit length
    texts: list[str]
    tokens: np.ndarray[Any, np.dtype[np.int32]]
    file_of: np.ndarray[Any, np.dtype[np.int32]]  # index into ``filenames``, per chunk
    filenames: list[str]

    @property
    def size(self) -> int:
        return len(self.texts)


class KnowledgeIndex:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._loaded: dict[str, Loaded] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, assistant: AssistantView) -> Loaded | None:
        version = assistant.knowledge_version
        if not version:
            return None
        found = self._loaded.get(assistant.id)
        if found is not None and found.version == version:
            return found
        lock = self._locks.setdefault(assistant.id, asyncio.Lock())
        async with lock:
            found = self._loaded.get(assistant.id)
            if found is None or found.version != version:
                found = await self._load(assistant.id, version)
                self._loaded[assistant.id] = found
        return found

    def current(self, assistant: AssistantView) -> bool:
        """Its vectors are loaded at its present version."""
        found = self._loaded.get(assistant.id)
        return found is not None and found.version == assistant.knowledge_version

    def prune(self, live: set[str]) -> None:
        """Forget assistants that no longer exist (deleted, or their workspace was)."""
        for gone in set(self._loaded) - live:
            self._loaded.pop(gone, None)
            self._locks.pop(gone, None)

    async def _load(self, assistant_id: str, version: str) -> Loaded:
        query = (
            select(
                KnowledgeChunk.text,
                KnowledgeChunk.tokens,
                KnowledgeChunk.embedding,
                KnowledgeFile.filename,
            )
            .join(KnowledgeFile, KnowledgeFile.id == KnowledgeChunk.file_id)
            .where(KnowledgeChunk.assistant_id == assistant_id, KnowledgeFile.status == "ready")
            .order_by(KnowledgeChunk.id)
        )
        async with self._sessions() as s:
            rows = (await s.execute(query)).all()
        # Building the matrix of a large assistant takes milliseconds: off the event loop.
        return await asyncio.to_thread(build, version, [(r[0], r[1], r[2], r[3]) for r in rows])


def build(version: str, rows: list[tuple[str, int, bytes, str]]) -> Loaded:
    """The in-memory form of an assistant's chunks: (text, tokens, vector bytes, filename)."""
    import numpy as np

    names: dict[str, int] = {}
    widths = {len(r[2]) for r in rows}
    if len(widths) > 1:  # vectors of two models: keep the newest width only (a re-embed runs)
        newest = len(rows[-1][2])
        rows = [r for r in rows if len(r[2]) == newest]
    if not rows:
        empty = np.zeros(0, np.int32)
        return Loaded(version, np.zeros((0, 0), np.float32), [], empty, empty, [])
    dim = len(rows[0][2]) // 4
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), dim)
    file_of = np.fromiter((names.setdefault(r[3], len(names)) for r in rows), np.int32, len(rows))
    return Loaded(
        version,
        np.ascontiguousarray(matrix, dtype=np.float32),
        [r[0] for r in rows],
        np.fromiter((r[1] for r in rows), np.int32, len(rows)),
        file_of,
        list(names),
    )
