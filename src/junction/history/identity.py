"""Which conversation a request belongs to, and how its id is echoed back.

Order (the spec's): the ``X-Conversation-Id`` header; else ``metadata.conversation_id`` in the
body; else the ``user`` field; else the key's default conversation with that assistant.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from junction.errors import InvalidRequest

HEADER = "x-conversation-id"
MAX_LENGTH = 256
DEFAULT_PREFIX = "default:"


def conversation_id(header: str | None, body: dict[str, Any], assistant: str) -> str:
    if header is not None:
        return _checked(header.strip(), "X-Conversation-Id")
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and metadata.get("conversation_id") is not None:
        return _checked(metadata["conversation_id"], "metadata.conversation_id")
    user = body.get("user")
    if isinstance(user, str) and user:
        return _checked(user, "user")
    return DEFAULT_PREFIX + assistant


def _checked(value: object, param: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"'{param}' must be a non-empty string.", param=param)
    if len(value) > MAX_LENGTH:
        raise InvalidRequest(f"'{param}' is longer than {MAX_LENGTH} characters.", param=param)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidRequest(f"'{param}' must not contain control characters.", param=param)
    return value


def header_value(conversation: str) -> str:
    """The id as a header can carry it: verbatim when printable ASCII, else percent-encoded
    UTF-8 (which is also how it goes into ``/v1/conversations/{id}``)."""
    if conversation.isascii():
        return conversation
    return quote(conversation, safe="")


def storage_id(workspace_id: str, owner_key_id: str, conversation: str) -> str:
    """The row id every replica derives alike for (workspace, key, client's id)."""
    digest = hashlib.sha256(f"{workspace_id}\0{owner_key_id}\0{conversation}".encode())
    return "conv_" + digest.hexdigest()[:32]
