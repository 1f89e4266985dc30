"""``/admin/v1/workspaces/{ws}/conversations``: a workspace's chat history, to read and delete.

Pending turns are written first, so the answers include everything this replica has stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from junction.admin.deps import Admin, Session, workspace_by_name
from junction.errors import InvalidRequest, NotFound
from junction.schemas.common import ListOf
from junction.schemas.conversations import (
    ConversationDetail,
    ConversationPublic,
    ConversationsDeleted,
    ConversationTurnPublic,
)
from junction.store.conversations import Conversation, ConversationTurn

router = APIRouter(tags=["conversations"])


def _summary_query(workspace_id: str):  # type: ignore[no-untyped-def]
    turns = (
        select(
            ConversationTurn.conversation_id.label("cid"),
            func.count().label("turns"),
            func.coalesce(func.sum(ConversationTurn.tokens), 0).label("tokens"),
        )
        .group_by(ConversationTurn.conversation_id)
        .subquery()
    )
    return (
        select(Conversation, turns.c.turns, turns.c.tokens)
        .join(turns, turns.c.cid == Conversation.id)
        .where(Conversation.workspace_id == workspace_id)
    )


def _public(row: Conversation, turns: int, tokens: int) -> ConversationPublic:
    return ConversationPublic(
        id=row.id,
        conversation_id=row.external_id,
        key_id=row.owner_key_id,
        assistant=row.assistant,
        created_at=row.created_at,
        updated_at=row.updated_at,
        turns=turns,
        tokens=tokens,
    )


@router.get("/workspaces/{ws}/conversations")
async def list_conversations(
    ws: str,
    rt: Admin,
    s: Session,
    key_id: str | None = None,
    assistant: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> ListOf[ConversationPublic]:
    """Newest first; ``next_cursor`` pages on."""
    workspace = await workspace_by_name(s, ws)
    await rt.history.flush()
    query = _summary_query(workspace.id)
    if key_id is not None:
        query = query.where(Conversation.owner_key_id == key_id)
    if assistant is not None:
        query = query.where(Conversation.assistant == assistant)
    if cursor is not None and not cursor.isdigit():
        raise InvalidRequest("cursor: not a cursor this API gave out", param="cursor")
    offset = int(cursor or 0)
    query = query.order_by(Conversation.updated_at.desc(), Conversation.id)
    rows = (await s.execute(query.offset(offset).limit(limit + 1))).all()
    more = len(rows) > limit
    data = [_public(r[0], r[1], r[2]) for r in rows[:limit]]
    return ListOf[ConversationPublic](data=data, next_cursor=str(offset + limit) if more else None)


async def _one(s: AsyncSession, workspace_id: str, conversation_id: str) -> ConversationDetail:
    found = (
        await s.execute(_summary_query(workspace_id).where(Conversation.id == conversation_id))
    ).first()
    if found is None:
        raise NotFound(f"No conversation '{conversation_id}' in this workspace.", param="id")
    turns = (
        await s.scalars(
            select(ConversationTurn)
            .where(ConversationTurn.conversation_id == conversation_id)
            .order_by(ConversationTurn.seq, ConversationTurn.created_at)
        )
    ).all()
    summary = _public(found[0], found[1], found[2])
    return ConversationDetail(
        **summary.model_dump(),
        messages=[m for t in turns for m in t.messages],
        turn_list=[ConversationTurnPublic.model_validate(t) for t in turns],
    )


@router.get("/workspaces/{ws}/conversations/{conversation_id}")
async def get_conversation(
    ws: str, conversation_id: str, rt: Admin, s: Session
) -> ConversationDetail:
    workspace = await workspace_by_name(s, ws)
    await rt.history.flush()
    return await _one(s, workspace.id, conversation_id)


@router.delete("/workspaces/{ws}/conversations/{conversation_id}", status_code=204)
async def delete_conversation(ws: str, conversation_id: str, rt: Admin, s: Session) -> Response:
    workspace = await workspace_by_name(s, ws)
    await rt.history.flush()
    await _one(s, workspace.id, conversation_id)  # 404 unless it is this workspace's
    await rt.history.delete([conversation_id])
    return Response(status_code=204)


@router.delete("/workspaces/{ws}/conversations")
async def delete_conversations(
    ws: str, rt: Admin, s: Session, key_id: str | None = None
) -> ConversationsDeleted:
    """Every conversation of the workspace (or of one key, with ``key_id``)."""
    workspace = await workspace_by_name(s, ws)
    await rt.history.flush()
    query = select(Conversation.id).where(Conversation.workspace_id == workspace.id)
    if key_id is not None:
        query = query.where(Conversation.owner_key_id == key_id)
    ids = list(await s.scalars(query))
    await s.commit()
    deleted = 0
    for i in range(0, len(ids), 500):
        deleted += await rt.history.delete(ids[i : i + 500])
    return ConversationsDeleted(deleted=deleted)
