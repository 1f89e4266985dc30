"""Writes that change what an assistant knows, shared by the admin API and the worker."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from junction.config import feed
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
    feed.note(s, "assistant", assistant_id, workspace_id)


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
