"""From a finished ``Call`` to the row the request log stores, with its cost.

Runs on the request path (as a call observer), so it only reads the call and the in-process
catalog: no I/O, a dict per request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from junction.dataplane.call import Call
from junction.routing.catalog import Snapshot

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


def log_row(call: Call, snapshot: Snapshot) -> Row:
    prompt = call.prompt_tokens or 0
    completion = call.completion_tokens or 0
    created = datetime.fromtimestamp(call.created_at, UTC)
    provider = call.deployment.partition("/")[0] if call.deployment else None
    latency, ttft = call.latency_ms, call.ttft_ms
    return {
        "request_id": call.request_id,
        "created_at": created,
        "day": created.strftime("%Y-%m-%d"),
        "workspace_id": call.workspace.id if call.workspace else None,
        "key_id": call.key.id if call.key else None,
        "assistant": call.assistant.name if call.assistant else None,
        "model": call.deployment,
        "provider": provider,
        "endpoint": call.endpoint,
        "stream": call.stream,
        "status": call.status,
        "latency_ms": round(latency, 3) if latency is not None else None,
        "ttft_ms": round(ttft, 3) if ttft is not None else None,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost": cost_of(snapshot, call.deployment, prompt, completion),
        "quality_score": call.quality_score,
        "attempts": call.attempts,
        "cut_off": call.cut_off,
        "error": call.error,
        "error_code": call.error_code,
        "request_content": call.request_content,
        "response_content": call.response_content,
    }
