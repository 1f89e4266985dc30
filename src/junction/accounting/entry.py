"""From a finished ``Call`` to the row the request log stores, with its cost.

Runs in the log writer, in batches, off the request path: the request path only queues the
``Call`` itself. It reads the call and the in-process catalog (for prices), nothing else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from junction.config.snapshot import Snapshot
from junction.core.call import Call

Row = dict[str, Any]


def cost_of(snapshot: Snapshot, deployment: str | None, prompt: int, completion: int) -> float:
    """Prices are per million tokens on the provider's model; an unpriced model costs 0."""
    if deployment is None or (prompt == 0 and completion == 0):
        return 0.0
    provider_name, _, model = deployment.partition("/")
    provider = snapshot.providers.get(provider_name)
    info = provider.models.get(model) if provider is not None else None
    if info is None:
        return 0.0
    return (prompt * (info.input_price or 0.0) + completion * (info.output_price or 0.0)) / 1e6


COLUMNS = (
    "request_id",
    "created_at",
    "day",
    "workspace_id",
    "key_id",
    "assistant",
    "model",
    "provider",
    "endpoint",
    "stream",
    "status",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "quality_score",
    "attempts",
    "cut_off",
    "error",
    "error_code",
    "request_content",
    "response_content",
    "counted_by_router",
    "details",
)

# The notes a log entry keeps (as JSON in ``details``); the others are in-process bookkeeping.
DETAIL_NOTES = (
    "conversation_id",
    "routing_failures",
    "fallback_reason",
    "quality",
    "history_trimmed_turns",
    "knowledge",
    "content_clipped",
)


def details_of(call: Call) -> str | None:
    notes = call.notes
    kept = {name: notes[name] for name in DETAIL_NOTES if name in notes}
    return orjson.dumps(kept, default=str).decode() if kept else None


def log_values(call: Call, snapshot: Snapshot) -> tuple[Any, ...]:
    """The entry's column values, in ``COLUMNS`` order (the writer's executemany rows)."""
    prompt = call.prompt_tokens or 0
    completion = call.completion_tokens or 0
    created = datetime.fromtimestamp(call.created_at, UTC)
    deployment = call.deployment
    latency, ttft = call.latency_ms, call.ttft_ms
    workspace, key, assistant = call.workspace, call.key, call.assistant
    return (
        call.request_id,
        created,
        created.date().isoformat(),
        workspace.id if workspace else None,
        key.id if key else None,
        assistant.name if assistant else None,
        deployment,
        deployment.partition("/")[0] if deployment else None,
        call.endpoint,
        call.stream,
        call.status,
        round(latency, 3) if latency is not None else None,
        round(ttft, 3) if ttft is not None else None,
        prompt,
        completion,
        cost_of(snapshot, deployment, prompt, completion),
        call.quality_score,
        call.attempts,
        call.cut_off,
        call.error,
        call.error_code,
        call.request_content,
        call.response_content,
        call.counted_by_router,
        details_of(call),
    )
