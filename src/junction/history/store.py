"""The chat-history store: an in-process cache in front of the database, written behind.

The request path reads a conversation from the cache (a database read only the first time a
process sees it, or once its cache entry is older than ``history_cache_seconds``) and appends
a turn to it in memory. A background task writes pending turns in batches every
``history_flush_seconds``; ``close()`` writes whatever is left, so a clean shutdown loses
nothing. A failed write keeps its batch and is tried again. Entries with unwritten turns are
never evicted, so a reload can never miss a turn.

Rows are keyed by ids every replica derives alike (``identity.storage_id``), and writes are
idempotent upserts, so replicas sharing a database never conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any

from junction.errors import JunctionError
from junction.history.identity import storage_id
from junction.history.state import ConversationState, Turn
from junction.security.secrets import new_id
from junction.settings import Settings
from junction.store.errors import from_database
from junction.store.orm import LazyOrm
from junction.store.serving_db import Database, Sql
from junction.tokens.counter import TokenCounter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

Json = dict[str, Any]

# Retention runs from the start (through the serving port); reads and writes of conversations
# go through the ORM (``rows``), imported with the first conversation.
_PURGE_TURNS = Sql("DELETE FROM conversation_turns WHERE created_at < $1")
_PURGE_CONVERSATIONS = Sql(
    "DELETE FROM conversations WHERE updated_at < $1 AND NOT EXISTS "
    "(SELECT 1 FROM conversation_turns WHERE conversation_turns.conversation_id = conversations.id)"
)


def _rows() -> ModuleType:
    from junction.history import rows

    return rows


class ConversationStore:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        orm: LazyOrm,
        counter: TokenCounter,
    ) -> None:
        self.settings = settings
        self._db = db
        self._orm = orm
        self.counter = counter
        self._cache: OrderedDict[str, ConversationState] = OrderedDict()
        self._loading: dict[str, asyncio.Future[ConversationState | None]] = {}
        self._pending: list[tuple[ConversationState, Turn]] = []
        self._write_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._orm.sessions

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._flusher()), loop.create_task(self._purger())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.flush()
        if self._pending:
            log.error("chat history: %d turns could not be written at shutdown", len(self._pending))

    # -- reading -------------------------------------------------------------------------------

    async def get(
        self, workspace_id: str, owner_key_id: str, external_id: str
    ) -> ConversationState | None:
        """The conversation, from the cache or else the database; None if it has no turns."""
        key = storage_id(workspace_id, owner_key_id, external_id)
        state = self._cached(key)
        if state is not None:
            return state
        waiting = self._loading.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[ConversationState | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._loading[key] = future
        try:
            try:
                state = await self._load(key)
            except Exception as exc:
                if not from_database(exc):
                    raise
                log.error("chat history: reading %s failed: %s", key, exc)
                raise JunctionError(
                    "The chat history store could not be read; try again shortly."
                ) from exc
            if state is not None:
                state = self._remember(state)
            future.set_result(state)
            return state
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiting requests get it, nobody else is told
            raise
        finally:
            del self._loading[key]

    async def open(
        self, workspace_id: str, owner_key_id: str, external_id: str, assistant: str
    ) -> ConversationState:
        """The conversation to continue, created in memory if it does not exist yet."""
        state = await self.get(workspace_id, owner_key_id, external_id)
        if state is not None:
            return state
        return self.create(workspace_id, owner_key_id, external_id, assistant)

    def create(
        self, workspace_id: str, owner_key_id: str, external_id: str, assistant: str
    ) -> ConversationState:
        """A conversation known to be new (its id was just made up): no database read."""
        now = datetime.now(UTC)
        state = ConversationState(
            storage_id(workspace_id, owner_key_id, external_id),
            workspace_id,
            owner_key_id,
            external_id,
            assistant,
            now,
            now,
        )
        return self._remember(state)

    def _cached(self, key: str) -> ConversationState | None:
        state = self._cache.get(key)
        if state is None:
            return None
        stale = time.monotonic() - state.loaded_at > self.settings.history_cache_seconds
        if stale and not state.unwritten:
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return state

    def _remember(self, state: ConversationState) -> ConversationState:
        existing = self._cache.get(state.id)
        if existing is not None:  # another request got there first: one state per conversation
            return existing
        self._cache[state.id] = state
        self._cache.move_to_end(state.id)
        if len(self._cache) > self.settings.history_cache_conversations:
            for key in [k for k, s in self._cache.items() if not s.unwritten]:
                if len(self._cache) <= self.settings.history_cache_conversations:
                    break
                del self._cache[key]
        return state

    async def _load(self, key: str) -> ConversationState | None:
        loaded: ConversationState | None = await _rows().load(self.sessions, key)
        return loaded

    # -- writing -------------------------------------------------------------------------------

    def append(
        self,
        state: ConversationState,
        messages: list[Json],
        assistant: str,
        request_id: str,
        turn_id: str | None = None,
    ) -> Turn:
        """Add a turn in memory and queue it for the database; never waits."""
        now = datetime.now(UTC)
        seq = state.turns[-1].seq + 1 if state.turns else 0
        turn = Turn(turn_id or new_id("turn"), seq, messages, assistant, request_id, now)
        state.turns.append(turn)
        state.assistant = assistant
        state.updated_at = now
        state.unwritten += 1
        self._pending.append((state, turn))
        if len(self._pending) >= self.settings.history_flush_batch:
            self._wake.set()
        return turn

    def tokens(self, turn: Turn) -> int:
        if turn.tokens is None:
            turn.tokens = self.counter.messages(turn.messages)
        return turn.tokens

    async def flush(self) -> None:
        """Write every pending turn now (in one transaction)."""
        async with self._write_lock:
            batch, self._pending = self._pending, []
            if not batch:
                return
            refused = _rows().Refused
            try:
                try:
                    await self._write(batch)
                except refused:
                    await self._write_one_by_one(batch)
            except BaseException:  # failed or cancelled: keep the batch (writes are idempotent)
                self._pending = batch + self._pending
                raise
            for state, _turn in batch:
                state.unwritten -= 1

    async def _write_one_by_one(self, batch: Sequence[tuple[ConversationState, Turn]]) -> None:
        """A batch the database refused: write each conversation alone, and drop those it
        refuses by themselves (their workspace was deleted meanwhile), so that one bad record
        never blocks the rest."""
        by_conversation: dict[str, list[tuple[ConversationState, Turn]]] = {}
        for state, turn in batch:
            by_conversation.setdefault(state.id, []).append((state, turn))
        refused = _rows().Refused
        for part in by_conversation.values():
            try:
                await self._write(part)
            except refused as exc:
                log.warning(
                    "chat history: %d turns of %s dropped, the database refuses them: %s",
                    len(part),
                    part[0][0].id,
                    exc,
                )

    async def _write(self, batch: Sequence[tuple[ConversationState, Turn]]) -> None:
        for _state, turn in batch:
            self.tokens(turn)
        await _rows().write(self.sessions, batch)

    async def _flusher(self) -> None:
        interval = self.settings.history_flush_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception(
                    "chat history: writing %d turns failed; will retry", len(self._pending)
                )
                await asyncio.sleep(interval)

    # -- deleting ------------------------------------------------------------------------------

    async def delete(self, ids: Sequence[str]) -> int:
        """Forget conversations (by storage id): cache, queue and database. Returns how many
        the database held."""
        wanted = set(ids)
        async with self._write_lock:
            self._pending = [(s, t) for s, t in self._pending if s.id not in wanted]
            for key in wanted:
                state = self._cache.pop(key, None)
                if state is not None:
                    state.unwritten = 0
            deleted: int = await _rows().delete_conversations(self.sessions, wanted)
        return deleted

    async def replace_response(self, turn: Turn, response: Any) -> None:
        """A stored turn's response replaced, in memory and in the database (a queued write
        of the turn goes first)."""
        turn.response, turn.input_items = response, None
        await self.flush()
        await _rows().replace_response(self.sessions, turn.id, response)

    async def purge_expired(self) -> int:
        """Delete turns older than the retention period, and conversations left without any.
        Returns how many turns went."""
        days = self.settings.history_retention_days
        if days <= 0:
            return 0
        cutoff = datetime.now(UTC) - timedelta(days=days)
        async with self._write_lock:  # after pending writes, never between them
            for key, state in list(self._cache.items()):
                kept = [t for t in state.turns if t.created_at >= cutoff]
                if len(kept) != len(state.turns):
                    state.turns = kept
                if not kept and not state.unwritten:
                    del self._cache[key]
            before = self._db.timestamp(cutoff)
            async with self._db.transaction() as conn:
                gone = await conn.execute(_PURGE_TURNS, before)
                await conn.execute(_PURGE_CONVERSATIONS, before)
        return gone

    async def _purger(self) -> None:
        while True:
            try:
                purged = await self.purge_expired()
                if purged:
                    log.info("chat history: %d turns past retention deleted", purged)
            except Exception:
                log.exception("chat history: retention purge failed")
            await asyncio.sleep(self.settings.history_purge_seconds)
