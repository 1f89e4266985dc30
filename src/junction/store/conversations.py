"""Chat history tables: one row per conversation, one per stored turn.

A conversation belongs to a workspace and to the API key that holds it (the first key of a
rotation chain, so that rotating a key keeps its conversations). Its primary key is derived
from (workspace, key, the client's conversation id), so every replica agrees on it without
asking the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from junction.store.models import Base, UTCDateTime, utcnow


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("workspace_id", "owner_key_id", "external_id"),
        Index("ix_conversations_updated_at", "updated_at"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    owner_key_id: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(256))
    assistant: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationTurn(Base):
    """What one request added: its new messages and the answer, with their token count."""

    __tablename__ = "conversation_turns"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)  # order within the conversation
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    tokens: Mapped[int] = mapped_column(Integer)
    assistant: Mapped[str] = mapped_column(String(128))
    request_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # A turn made by ``POST /v1/responses``: the Response object as it was returned, and the
    # request's input items (for ``GET /v1/responses/{id}`` and ``.../input_items``).
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    input_items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
