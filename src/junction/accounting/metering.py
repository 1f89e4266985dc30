"""Every token delivered is metered, whether or not the upstream says how many there were.

When the upstream's usage arrives, it is the count (``Call.record_usage``). When it does not —
the client left before the final usage chunk, the upstream broke off, or it sends no usage at
all — the router counts the prompt it sent and the text that was generated, and marks the call
``counted_by_router``. Limits, budgets, usage and the log then all see these numbers, since
they read them from the same ``Call``. Large texts are encoded off the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from junction.core.call import Call
from junction.core.types import Json
from junction.tokens.counter import TokenCounter

Operation = Literal["chat", "completion", "embedding"]


def answer_texts(answer: Json) -> list[str]:
    """What a (normalized) non-streamed answer generated: text, reasoning, tool calls."""
    texts: list[str] = []
    for choice in answer.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        if isinstance(choice.get("text"), str):  # /v1/completions
            texts.append(choice["text"])
        message = choice.get("message")
        if not isinstance(message, dict):
            continue
        for name in ("content", "reasoning_content", "refusal"):
            if isinstance(message.get(name), str):
                texts.append(message[name])
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                texts.extend(v for v in function.values() if isinstance(v, str))
    return texts


def _inputs(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


async def meter(
    counter: TokenCounter,
    call: Call,
    operation: Operation,
    body: Json,
    generated: Sequence[str],
    prompt_tokens: int | None = None,
) -> None:
    """Fill ``call``'s token counts from the router's own count if the upstream gave none.
    ``prompt_tokens`` is the exact count of ``body``'s prompt when a step already made it."""
    if call.prompt_tokens is not None:
        if call.completion_tokens is None:
            call.completion_tokens = 0
        return
    if prompt_tokens is None:
        if operation == "chat":
            prompt_tokens = await counter.prompt_off_loop(
                body.get("messages") or [], body.get("tools")
            )
        else:
            given = body.get("prompt") if operation == "completion" else body.get("input")
            prompt_tokens = await counter.texts_off_loop(_inputs(given))
    call.prompt_tokens = prompt_tokens
    call.completion_tokens = await counter.texts_off_loop(generated)
    call.counted_by_router = True
