"""Knowledge in a chat request: the context block joins the system prompt.

Called by the request pipeline's context step, after the assistant's settings are applied
(its system prompt is then the first message) and before history is opened: the question is
the latest user message the client sent, and the block never takes room the new messages need
(the budget is what the context window leaves, at most ``knowledge_context_tokens``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from junction.knowledge.retrieve import retrieve
from junction.tokens.counter import tools_upper_bound, upper_bound
from junction.tokens.window import context_lengths, effective_window

if TYPE_CHECKING:
    from junction.core.call import Call
    from junction.runtime import Runtime

Json = dict[str, Any]
HEADER = "x-junction-context"


async def add_knowledge(rt: Runtime, call: Call, body: Json) -> dict[str, str]:
    """Adds the retrieved context to ``body["messages"]`` in place; returns the response
    headers (``x-junction-context``: chunks used) and notes the files and scores on the call."""
    assistant, workspace = call.assistant, call.workspace
    if assistant is None or workspace is None or not assistant.embedding_model:
        return {}
    if not assistant.knowledge_version:  # no file has been ready yet: nothing to look up
        return {HEADER: "0"}
    messages = body.get("messages")
    if not isinstance(messages, list):
        return {}
    question = latest_user_text(messages)
    budget = _budget(rt, call, body, messages)
    found = await retrieve(rt, call, question, budget)
    if found.block:
        join_system_prompt(messages, found.block, bool(assistant.system_prompt))
    call.notes["knowledge"] = found.note()
    return {HEADER: str(len(found.used))}


def latest_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: the text ones
        return "\n".join(
            p["text"]
            for p in content
            if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        )
    return ""


def join_system_prompt(messages: list[Any], block: str, has_prompt: bool) -> None:
    """After the assistant's system prompt (the first message when it has one), else as a
    system message of its own before everything the client sent."""
    first = messages[0] if messages else None
    if has_prompt and isinstance(first, dict) and isinstance(first.get("content"), str):
        messages[0] = {**first, "content": f"{first['content']}\n\n{block}"}
    else:
        messages.insert(0, {"role": "system", "content": block})


def _budget(rt: Runtime, call: Call, body: Json, messages: list[Any]) -> int:
    cap = rt.settings.knowledge_context_tokens
    assert call.assistant is not None and call.workspace is not None
    completion = body.get("max_completion_tokens") or body.get("max_tokens")
    window = effective_window(
        call.workspace.token_context_window,
        context_lengths(rt.catalog.snapshot, call.assistant),
        completion if isinstance(completion, int) else None,
    )
    if window is None:
        return cap
    left = window - upper_bound(messages) - tools_upper_bound(body.get("tools"))
    if left < cap:  # the byte bound is loose: count exactly before giving up room
        left = window - rt.tokens.prompt(messages, body.get("tools"))
    return max(0, min(cap, left))
