"""The context step: what the upstream request is built from, after admission.

In order: the assistant's and workspace's settings (system prompt first, temperature unless
the request sets one, the completion-length cap), the assistant's knowledge (the chunks most
relevant to the latest user message join the system prompt: ``knowledge.step``), then the
front door's history part (stored history prepended, the prompt fitted into the token context
window — counting happens only there, bounded as ``tokens.counter`` describes).
"""

from __future__ import annotations

from junction.knowledge.step import add_knowledge
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
        ex.headers.update(await add_knowledge(ex.rt, ex.call, ex.body))
    elif operation == "completion":
        apply_temperature(ex.body, ex.assistant)
        clamp_max_tokens(ex.body, completion_cap(ex.assistant, ex.workspace))
    ex.turn = await ex.door.open_history(ex)
    if ex.turn is not None:
        ex.headers.update(ex.turn.headers)
