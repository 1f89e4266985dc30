"""An assistant's knowledge rows: the writes that change what it knows (shared by the admin API
and the worker), and the read of its ready chunks (the index's load)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from junction.config import feed_record
from junction.store import models as m
from junction.store.knowledge import KnowledgeChunk, KnowledgeFile


def new_version() -> str:
    return secrets.token_hex(8)


async def bump(s: AsyncSession, assistant_id: str) -> None:
    """The assistant's knowledge changed: every replica reloads its vectors on next use."""
    workspace_id = await s.scalar(
        update(m.Assistant)
        .where(m.Assistant.id == assistant_id)
        .values(knowledge_version=new_version())
        .returning(m.Assistant.workspace_id)
        .execution_options(synchronize_session=False)
    )
    feed_record.note(s, "assistant", assistant_id, workspace_id)


async def reembed_all(s: AsyncSession, assistant_id: str) -> None:
    """A new embedding model: every file of the assistant is processed again."""
    await s.execute(delete(KnowledgeChunk).where(KnowledgeChunk.assistant_id == assistant_id))
    await s.execute(
        update(KnowledgeFile)
        .where(KnowledgeFile.assistant_id == assistant_id)
        .values(status="processing", chunks=0, error=None, attempts=0, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    await bump(s, assistant_id)


async def ready_chunks(
    sessions: async_sessionmaker[AsyncSession], assistant_id: str
) -> Sequence[Any]:
    """(text, tokens, vector bytes, filename, id) of the assistant's chunks in ready files, in
    ascending id."""
    query = (
        select(
            KnowledgeChunk.text,
            KnowledgeChunk.tokens,
            KnowledgeChunk.embedding,
            KnowledgeFile.filename,
            KnowledgeChunk.id,
        )
        .join(KnowledgeFile, KnowledgeFile.id == KnowledgeChunk.file_id)
        .where(KnowledgeChunk.assistant_id == assistant_id, KnowledgeFile.status == "ready")
        .order_by(KnowledgeChunk.id)
    )
    async with sessions() as s:
        return (await s.execute(query)).all()
