"""The context step: what the upstream request is built from, after admission.

In order: the assistant's and workspace's settings (system prompt first, temperature unless
the request sets one, the completion-length cap), then the front door's history part (stored
history prepended, the prompt fitted into the token context window — counting happens only
there, bounded as ``tokens.counter`` describes).
"""

from __future__ import annotations

from junction.pipeline.exchange import Exchange
from junction.routing.prepare import (
    apply_temperature,
    clamp_max_tokens,
    completion_cap,
    prepare_chat,
)


async def build_context(ex: Exchange) -> None:
    operation = ex.door.operation
    if operation == "chat":
        prepare_chat(ex.body, ex.assistant, ex.workspace)
    elif operation == "completion":
        apply_temperature(ex.body, ex.assistant)
        clamp_max_tokens(ex.body, completion_cap(ex.assistant, ex.workspace))
    ex.turn = await ex.door.open_history(ex)
    if ex.turn is not None:
        ex.headers.update(ex.turn.headers)
