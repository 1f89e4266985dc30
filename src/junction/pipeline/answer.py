"""The answer step for a request that is not streamed: route (with the quality gate as the
answer check), normalize, meter, strip and store the turn, score, translate for the door."""

from __future__ import annotations

from starlette.responses import Response

from junction.accounting.content import capture_response
from junction.accounting.metering import answer_texts, meter
from junction.core.call import Call
from junction.core.responses import json_response
from junction.core.types import Json
from junction.pipeline.exchange import Exchange
from junction.pipeline.route import routed, send
from junction.quality.gate import QualityGate
from junction.routing.resolve import Deployment


async def answer(ex: Exchange) -> Response:
    rt, call, assistant, operation = ex.rt, ex.call, ex.assistant, ex.door.operation
    gate = None
    if operation == "chat" and assistant.quality_score > 0:
        gate = QualityGate(rt, call, ex.body)

    async def attempt(target: Deployment) -> Json:
        return await send(ex, target)

    data, outcome = await rt.router.call(
        ex.snapshot,
        assistant,
        attempt,
        check=gate.check if gate else None,
        threshold=assistant.quality_score,
        notes=call.notes,
    )
    headers = {**ex.headers, **routed(ex, outcome)}
    result = ex.door.normalize(ex, data)
    call.record_usage(result.get("usage"))
    await meter(rt.tokens, call, operation, ex.body, answer_texts(result), ex.prompt_tokens)
    if call.counted_by_router:
        result["usage"] = usage_of(call, operation == "embedding")
    if ex.turn is not None:
        ex.turn.answered(result)
    if gate is not None:
        headers.update(gate.record(outcome.score))
    wire = ex.door.answer(ex, result)
    if ex.workspace.log_content:
        capture_response(call, wire, rt.settings.log_content_max_bytes)
    return json_response(wire, headers=headers)


def usage_of(call: Call, prompt_only: bool = False) -> Json:
    """The usage object of a call the router counted itself."""
    prompt, completion = call.prompt_tokens or 0, call.completion_tokens or 0
    if prompt_only:
        return {"prompt_tokens": prompt, "total_tokens": prompt}
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
