"""Chat messages as history sees them: what a turn stores, when a client re-sent history,
and where history may be cut (whole turns, never half a tool-call exchange)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

Json = dict[str, Any]
INSTRUCTION_ROLES = frozenset({"system", "developer"})

Fingerprint = tuple[object, ...]


def split_instructions(messages: Sequence[Json]) -> tuple[list[Json], list[Json]]:
    """A client's leading system/developer messages (kept before history) and the rest."""
    i = 0
    while i < len(messages) and messages[i].get("role") in INSTRUCTION_ROLES:
        i += 1
    return list(messages[:i]), list(messages[i:])


def fingerprint(message: Json) -> Fingerprint:
    """What makes two messages the same turn of a conversation; fields a client may add or
    drop when it echoes an answer back (``refusal: null``, ``annotations``...) do not count."""
    content = message.get("content")
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        if all(isinstance(t, str) for t in texts) and len(texts) == len(content):
            content = "".join(t for t in texts if isinstance(t, str))
        else:
            content = orjson.dumps(content)
    if content == "" and message.get("tool_calls"):
        content = None
    calls = message.get("tool_calls") or ()
    call_keys = tuple(
        (
            c.get("id"),
            (c.get("function") or {}).get("name"),
            (c.get("function") or {}).get("arguments"),
        )
        for c in calls
        if isinstance(c, dict)
    )
    return (
        message.get("role"),
        content,
        call_keys,
        message.get("tool_call_id"),
        message.get("name"),
    )


def resent_overlap(stored: Sequence[Fingerprint], sent: Sequence[Json]) -> int:
    """How many of ``sent``'s first messages repeat the end of the stored history (a client
    that re-sends the conversation itself, whole or its recent part): 0 when none do."""
    if not stored or not sent:
        return 0
    last = stored[-1]
    limit = min(len(stored), len(sent))
    sent_prints: list[Fingerprint] = []
    best = 0
    for k in range(1, limit + 1):
        sent_prints.append(fingerprint(sent[k - 1]))
        if sent_prints[-1] == last and tuple(stored[-k:]) == tuple(sent_prints):
            best = k
    return best


def answer_message(message: object) -> Json | None:
    """The assistant message a turn stores: its text and tool calls, nothing upstream-private."""
    if not isinstance(message, dict):
        return None
    stored: Json = {"role": "assistant", "content": message.get("content")}
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        stored["tool_calls"] = calls
    if stored["content"] is None and "tool_calls" not in stored:
        return None
    return stored


def starts_unit(turn_messages: Sequence[Json]) -> bool:
    """A turn that opens with tool results belongs with the turn whose answer called the
    tools: history is cut only before a turn that does not."""
    return not turn_messages or turn_messages[0].get("role") != "tool"
