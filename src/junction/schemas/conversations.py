"""Conversation answers of the admin API (chat history is written by the data plane only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from junction.schemas.common import Public


class ConversationPublic(Public):
    id: str  # the router's id, unique in the workspace
    conversation_id: str  # the client's id (X-Conversation-Id, metadata, user, or default)
    key_id: str  # the key that holds it (the first of a rotation chain)
    assistant: str  # the assistant of the latest turn
    created_at: datetime
    updated_at: datetime
    turns: int
    tokens: int


class ConversationTurnPublic(Public):
    id: str
    assistant: str
    request_id: str
    created_at: datetime
    tokens: int
    messages: list[dict[str, Any]]


class ConversationDetail(ConversationPublic):
    messages: list[dict[str, Any]]
    turn_list: list[ConversationTurnPublic]


class ConversationsDeleted(Public):
    deleted: int
