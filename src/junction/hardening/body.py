"""The shape of a parsed request body: how many messages, how deeply nested.

orjson already refuses nesting past 1024 levels; this keeps it far lower (``max_json_depth``)
so that nothing downstream (history, logging, translation to other providers) has to walk a
pathological document. The walk only visits containers, so a normal chat body costs a few
microseconds.
"""

from __future__ import annotations

from typing import Any

from junction.errors import InvalidRequest
from junction.settings import Settings


def nesting_exceeds(value: object, limit: int) -> bool:
    """Whether ``value`` nests objects/arrays more than ``limit`` levels (the top is level 1)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def check_body_shape(body: dict[str, Any], settings: Settings) -> None:
    messages = body.get("messages")
    if isinstance(messages, list) and len(messages) > settings.max_messages:
        raise InvalidRequest(
            f"'messages' has {len(messages)} items; at most {settings.max_messages} are allowed.",
            param="messages",
        )
    if nesting_exceeds(body, settings.max_json_depth):
        raise InvalidRequest(
            f"The request body nests objects and arrays more than {settings.max_json_depth} "
            "levels deep."
        )
