"""Processing one claimed knowledge file (``ingest`` claims it): parse, chunk, embed, store.

The ORM side of ingestion, imported (with SQLAlchemy) when a router first claims a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import tiktoken
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import undefer

from junction.config import feed_record
from junction.config.catalog import Catalog
from junction.config.feed import Entry
from junction.knowledge.chunk import Chunk, split
from junction.knowledge.embed import EmbeddingFailed
from junction.knowledge.files import bump
from junction.knowledge.parse import Unreadable, parse
from junction.settings import Settings
from junction.store import models as m
from junction.store.knowledge import KnowledgeChunk, KnowledgeFile
from junction.store.models import utcnow

if TYPE_CHECKING:
    from junction.knowledge.calls import Embedder
    from junction.knowledge.embed import Vectors

log = logging.getLogger(__name__)

# Run after a write's commit: applies its change-feed entries here and on every replica.
AfterCommit = Callable[[list[Entry]], Awaitable[None]]


class Retry(Exception):
    """Try the file again later (the embedding model failed; it may be back then)."""


class FileWork:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        embedder: Embedder,
        encoding: tiktoken.Encoding,
        after_commit: AfterCommit,
    ) -> None:
        self._s = settings
        self._sessions = sessions
        self._catalog = catalog
        self._embedder = embedder
        self._encoding = encoding
        self._after_commit = after_commit

    async def run(self, file_id: str) -> None:
        """Process the claimed file; it ends ``ready``, ``failed`` or waiting for a retry."""
        heartbeat = asyncio.create_task(self._renew(file_id))
        try:
            await self._process(file_id)
        except Retry as exc:
            await self._retry_later(file_id, str(exc))
        except Unreadable as exc:
            await self._finish(file_id, "failed", str(exc))
        except Exception as exc:
            log.exception("knowledge file %s failed", file_id)
            await self._finish(file_id, "failed", f"internal error: {type(exc).__name__}: {exc}")
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _renew(self, file_id: str) -> None:
        seconds = self._s.knowledge_lease_seconds
        while True:
            await asyncio.sleep(seconds / 3)
            async with self._sessions() as s:
                await s.execute(
                    update(KnowledgeFile)
                    .where(KnowledgeFile.id == file_id, KnowledgeFile.status == "processing")
                    .values(lease_until=utcnow() + timedelta(seconds=seconds))
                    .execution_options(synchronize_session=False)
                )
                await s.commit()

    async def _process(self, file_id: str) -> None:
        s = self._s
        async with self._sessions() as session:
            row = await session.scalar(
                select(KnowledgeFile)
                .options(undefer(KnowledgeFile.content))
                .where(KnowledgeFile.id == file_id)
            )
            if row is None:
                return  # deleted meanwhile
            owner = (
                await session.execute(
                    select(
                        m.Assistant.workspace_id, m.Assistant.name, m.Assistant.embedding_model
                    ).where(m.Assistant.id == row.assistant_id)
                )
            ).first()
            if owner is None:
                return  # the assistant was deleted meanwhile (its files with it)
            kind, content, attempts = row.kind, row.content or b"", row.attempts
            filename = row.filename
        workspace_id, name, ref = owner
        if attempts > s.knowledge_max_attempts:
            raise Unreadable(
                f"gave up after {s.knowledge_max_attempts} attempts (the router stopped or "
                "failed while processing this file each time)"
            )
        if not ref:
            raise Unreadable("the assistant has no embedding_model to embed its files with")
        parsed = await asyncio.to_thread(parse, kind, content)
        chunks = await asyncio.to_thread(
            split, parsed.text, self._encoding, s.knowledge_chunk_tokens, s.knowledge_chunk_overlap
        )
        if not chunks:
            raise Unreadable("the file has no text in it")
        if len(chunks) > s.knowledge_max_file_chunks:
            raise Unreadable(
                f"the file makes {len(chunks)} chunks, more than the limit of "
                f"{s.knowledge_max_file_chunks} (knowledge_max_file_chunks); split it"
            )
        assistant = self._catalog.snapshot.roster(workspace_id).get(name)
        if assistant is None:  # not in this replica's configuration yet: later
            raise Retry(f"the assistant '{name}' is not loaded yet")
        try:
            vectors = await self._embedder.ingestion(
                assistant,
                ref,
                [c.text for c in chunks],
                {"file": filename, "file_id": file_id},
                s.knowledge_embed_batch,
                s.knowledge_embed_timeout,
            )
        except EmbeddingFailed as exc:
            raise Retry(str(exc)) from None
        await self._store(file_id, ref, parsed.pages, chunks, vectors.astype("<f4"))

    async def _store(
        self, file_id: str, ref: str, pages: int, chunks: list[Chunk], vectors: Vectors
    ) -> None:
        async with self._sessions() as s:
            row = await s.get(KnowledgeFile, file_id)
            current = await s.scalar(
                select(m.Assistant.embedding_model).where(
                    m.Assistant.id == (row.assistant_id if row else "")
                )
            )
            if row is None or row.status != "processing" or current != ref:
                return  # deleted, or the embedding model changed meanwhile: redone by then
            await s.execute(delete(KnowledgeChunk).where(KnowledgeChunk.file_id == file_id))
            s.add_all(
                KnowledgeChunk(
                    file_id=file_id,
                    assistant_id=row.assistant_id,
                    seq=i,
                    text=c.text,
                    tokens=c.tokens,
                    embedding=vectors[i].tobytes(),
                )
                for i, c in enumerate(chunks)
            )
            row.status, row.chunks, row.pages = "ready", len(chunks), pages
            row.error, row.lease_until = None, None
            await bump(s, row.assistant_id)
            entries = await feed_record.record(s, self._s.config_feed_keep)
            await s.commit()
        await self._after_commit(entries)
        log.info("knowledge file %s ready: %d chunks", file_id, len(chunks))

    async def _finish(self, file_id: str, status: str, error: str) -> None:
        async with self._sessions() as s:
            await s.execute(
                update(KnowledgeFile)
                .where(KnowledgeFile.id == file_id, KnowledgeFile.status == "processing")
                .values(status=status, error=error[:2000], lease_until=None)
                .execution_options(synchronize_session=False)
            )
            await s.commit()
        log.warning("knowledge file %s %s: %s", file_id, status, error)

    async def _retry_later(self, file_id: str, error: str) -> None:
        async with self._sessions() as s:
            row = await s.get(KnowledgeFile, file_id)
            if row is None or row.status != "processing":
                return
            if row.attempts >= self._s.knowledge_max_attempts:
                row.status, row.lease_until = "failed", None
                row.error = f"{error} (gave up after {row.attempts} attempts)"[:2000]
            else:
                wait = self._s.knowledge_retry_seconds * row.attempts
                row.lease_until = utcnow() + timedelta(seconds=wait)
                row.error = f"{error} (trying again in {wait:g} s)"[:2000]
            await s.commit()
        log.warning("knowledge file %s: %s", file_id, error)
