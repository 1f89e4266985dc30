"""The history store's ORM side: reading one conversation, writing a batch of turns
(idempotent upserts, so a retried or concurrent write never conflicts), deleting. Imported
(with SQLAlchemy) by ``store`` on the first conversation a router reads or writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from junction.history.state import ConversationState, Turn
from junction.store.conversations import Conversation, ConversationTurn


async def load(sessions: async_sessionmaker[AsyncSession], key: str) -> ConversationState | None:
    async with sessions() as s:
        row = await s.get(Conversation, key)
        if row is None:
            return None
        turns = await s.scalars(
            select(ConversationTurn)
            .where(ConversationTurn.conversation_id == key)
            .order_by(ConversationTurn.seq, ConversationTurn.created_at)
        )
        state = ConversationState(
            row.id,
            row.workspace_id,
            row.owner_key_id,
            row.external_id,
            row.assistant,
            row.created_at,
            row.updated_at,
        )
        state.turns = [
            Turn(
                t.id,
                t.seq,
                t.messages,
                t.assistant,
                t.request_id,
                t.created_at,
                t.tokens,
                response=t.response,
                input_items=t.input_items,
            )
            for t in turns
        ]
        return state


class Refused(Exception):
    """The database refused a batch (a conversation's workspace was deleted meanwhile)."""


async def write(
    sessions: async_sessionmaker[AsyncSession], batch: Sequence[tuple[ConversationState, Turn]]
) -> None:
    try:
        await _write(sessions, batch)
    except IntegrityError as exc:
        raise Refused(str(exc.orig)) from exc


async def _write(
    sessions: async_sessionmaker[AsyncSession], batch: Sequence[tuple[ConversationState, Turn]]
) -> None:
    conversations: dict[str, ConversationState] = {s.id: s for s, _ in batch}
    turns = [
        {
            "id": t.id,
            "conversation_id": s.id,
            "seq": t.seq,
            "messages": t.messages,
            "tokens": t.tokens or 0,
            "assistant": t.assistant,
            "request_id": t.request_id,
            "created_at": t.created_at,
            "response": t.response,
            "input_items": t.input_items,
        }
        for s, t in batch
    ]
    async with sessions() as s:
        dialect = sessions.kw["bind"].dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        rows = [
            {
                "id": c.id,
                "workspace_id": c.workspace_id,
                "owner_key_id": c.owner_key_id,
                "external_id": c.external_id,
                "assistant": c.assistant,
                "created_at": c.created_at,
                "updated_at": c.updated_at,
            }
            for c in conversations.values()
        ]
        upsert = insert(Conversation).values(rows)
        await s.execute(
            upsert.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "assistant": upsert.excluded.assistant,
                    "updated_at": upsert.excluded.updated_at,
                },
            )
        )
        await s.execute(insert(ConversationTurn).values(turns).on_conflict_do_nothing())
        await s.commit()


async def delete_conversations(sessions: async_sessionmaker[AsyncSession], ids: set[str]) -> int:
    """Delete the conversations (and their turns) with these storage ids; returns how many
    the database held."""
    async with sessions() as s:
        found = list(await s.scalars(select(Conversation.id).where(Conversation.id.in_(ids))))
        if found:
            await s.execute(
                delete(ConversationTurn).where(ConversationTurn.conversation_id.in_(found))
            )
            await s.execute(delete(Conversation).where(Conversation.id.in_(found)))
        await s.commit()
    return len(found)


async def replace_response(
    sessions: async_sessionmaker[AsyncSession], turn_id: str, response: Any
) -> None:
    """A stored turn's response replaced (and its input items dropped)."""
    async with sessions() as s:
        await s.execute(
            update(ConversationTurn)
            .where(ConversationTurn.id == turn_id)
            .values(response=response, input_items=None)
        )
        await s.commit()
