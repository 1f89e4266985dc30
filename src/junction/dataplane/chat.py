"""``POST /v1/chat/completions``: authenticate, resolve, prepare, route, normalize, answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from junction.accounting.content import capture_delta, capture_request, capture_response
from junction.core.call import Call
from junction.core.responses import json_response
from junction.dataplane.admission import admit
from junction.dataplane.http import Handler, authenticate, openai_endpoint, read_json
from junction.dataplane.streaming import EventStreamResponse
from junction.dataplane.wire import (
    completion_id,
    drop_usage,
    normalize_chunk,
    normalize_completion,
)
from junction.errors import JunctionError
from junction.history.flow import ChatTurn
from junction.quality.gate import QualityGate, StreamTranscript, score_stream
from junction.routing.prepare import check_chat_body, prepare_chat
from junction.routing.resolve import Deployment, resolve_assistant
from junction.routing.router import Outcome, note_fallbacks, prefetch
from junction.runtime import Runtime

Json = dict[str, Any]
DONE = b"data: [DONE]\n\n"


def routing_headers(call: Call, outcome: Outcome) -> dict[str, str]:
    call.deployment = outcome.deployment.ref
    call.attempts = outcome.attempts
    note_fallbacks(call, outcome)
    return {
        "x-junction-model": outcome.deployment.ref,
        "x-junction-attempts": str(outcome.attempts),
    }


def chat_completions(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "chat.completions")
    async def handler(request: Request, call: Call) -> Response:
        snapshot = rt.catalog.snapshot
        call.key, call.workspace = authenticate(request, snapshot, rt.box)
        body = check_chat_body(await read_json(request, rt.settings.max_body_bytes))
        call.assistant = assistant = resolve_assistant(snapshot, call.workspace.id, body["model"])
        if call.workspace.log_content:
            capture_request(call, body, rt.settings.log_content_max_bytes)
        prepare_chat(body, assistant, call.workspace)
        turn = await ChatTurn.open(
            rt.history, rt.tokens, snapshot, call, body, request.headers.get("x-conversation-id")
        )
        await admit(rt, call, body)
        if body.get("stream"):
            return await _stream(rt, call, body, turn)

        async def attempt(target: Deployment) -> Json:
            return await target.provider.client.chat({**body, "model": target.model})

        gate = QualityGate(rt, call, body) if assistant.quality_score > 0 else None
        data, outcome = await rt.router.call(
            snapshot,
            assistant,
            attempt,
            check=gate.check if gate else None,
            threshold=assistant.quality_score,
            notes=call.notes,
        )
        answer = normalize_completion(data, assistant.name, completion_id(call.request_id))
        call.record_usage(answer.get("usage"))
        if call.workspace.log_content:
            capture_response(call, answer, rt.settings.log_content_max_bytes)
        turn.answered(answer)
        headers = {**routing_headers(call, outcome), **turn.headers}
        if gate is not None:
            headers.update(gate.record(outcome.score))
        return json_response(answer, headers=headers)

    return handler


async def _stream(rt: Runtime, call: Call, body: Json, turn: ChatTurn) -> Response:
    assert call.assistant is not None
    assistant = call.assistant
    # Usage is always asked of the upstream (accounting needs it) and shown only if asked for.
    options = body.get("stream_options")
    wants_usage = isinstance(options, dict) and options.get("include_usage") is True
    given = options if isinstance(options, dict) else {}
    body["stream_options"] = {**given, "include_usage": True}

    async def attempt(target: Deployment) -> AsyncIterator[Json]:
        client = target.provider.client
        return await prefetch(await client.chat_stream({**body, "model": target.model}))

    chunks, outcome = await rt.router.call(
        rt.catalog.snapshot, assistant, attempt, notes=call.notes
    )
    headers = {**routing_headers(call, outcome), "x-request-id": call.request_id, **turn.headers}
    call.stream = True
    rt.router.enter(outcome.deployment.ref)
    fallback_id = completion_id(call.request_id)
    log_content = call.workspace is not None and call.workspace.log_content
    cap = rt.settings.log_content_max_bytes
    transcript = StreamTranscript() if assistant.quality_score > 0 else None

    async def events() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                normalize_chunk(chunk, assistant.name, fallback_id)
                if not turn.chunk(chunk):
                    continue
                if transcript is not None:
                    transcript.feed(chunk)
                call.note_first_token(chunk)
                if log_content:
                    capture_delta(call, chunk, cap)
                if "usage" in chunk:
                    call.record_usage(chunk["usage"])
                    if not wants_usage and not drop_usage(chunk):
                        continue
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
            yield DONE
        except JunctionError as error:
            # Headers are gone; OpenAI clients raise on an event that carries "error".
            call.record_error(error)
            rt.router.health.failure(outcome.deployment.ref, error.message)
            yield b"data: " + error.to_json() + b"\n\n"

    async def done(completed: bool) -> None:
        rt.router.leave(outcome.deployment.ref)
        await chunks.aclose()  # type: ignore[attr-defined]
        call.cut_off = not completed or call.error is not None
        turn.stream_ended(not call.cut_off)
        if transcript is not None and not call.cut_off:
            await score_stream(rt, call, body, transcript)
        rt.finish(call)

    return EventStreamResponse(events(), headers, done)
