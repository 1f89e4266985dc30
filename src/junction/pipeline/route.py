"""The route step: which provider call an operation makes, and what routing leaves on the call.

Retries, pools, fallbacks, health and the answer check live in ``routing.router``; this module
only binds an exchange's internal body to the provider interface.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from junction.core.types import Json
from junction.routing.resolve import Deployment
from junction.routing.router import Outcome, note_fallbacks, prefetch

if TYPE_CHECKING:
    from junction.pipeline.exchange import Exchange


async def send(ex: Exchange, target: Deployment) -> Json:
    """One attempt of a non-streamed request at ``target``."""
    client, body = target.provider.client, {**ex.body, "model": target.model}
    operation = ex.door.operation
    if operation == "chat":
        return await client.chat(body)
    if operation == "completion":
        return await client.completions(body)
    return await client.embeddings(body)


async def open_stream(ex: Exchange, target: Deployment) -> AsyncIterator[Json]:
    """One attempt of a streamed request: committed to once its first chunk has come."""
    client, body = target.provider.client, {**ex.body, "model": target.model}
    if ex.door.operation == "completion":
        return await prefetch(await client.completions_stream(body))
    return await prefetch(await client.chat_stream(body))


def routed(ex: Exchange, outcome: Outcome) -> dict[str, str]:
    """Record which deployment served and after how many attempts; the headers that say so."""
    call = ex.call
    call.deployment = outcome.deployment.ref
    call.attempts = outcome.attempts
    note_fallbacks(call, outcome)
    return {
        "x-junction-model": outcome.deployment.ref,
        "x-junction-attempts": str(outcome.attempts),
    }
