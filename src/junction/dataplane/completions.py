"""``POST /v1/completions``: legacy text completions, passed through to providers that have
them (kind ``openai`` as is, ``ollama`` through ``/api/generate``; ``anthropic`` answers 400).

The assistant's temperature applies when the request sets none, and ``max_tokens`` is
clamped to the assistant's (else the workspace's) cap; a system prompt does not apply (there
are no messages). Retries, fallbacks and health work as for chat; ``prompt`` and every other
field pass through untouched. Answers carry the assistant's name as ``model``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from junction.core.call import Call
from junction.core.responses import json_response
from junction.dataplane.admission import admit
from junction.dataplane.chat import routing_headers
from junction.dataplane.http import Handler, authenticate, openai_endpoint, read_json
from junction.dataplane.streaming import EventStreamResponse
from junction.dataplane.wire import drop_usage
from junction.errors import InvalidRequest, JunctionError, UpstreamError
from junction.routing.prepare import apply_temperature, clamp_max_tokens, completion_cap
from junction.routing.resolve import Deployment, resolve_assistant
from junction.routing.router import prefetch
from junction.runtime import Runtime

Json = dict[str, Any]
DONE = b"data: [DONE]\n\n"


def check_completion_body(body: object) -> Json:
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str):
        raise InvalidRequest("Missing required parameter: 'model'.", param="model")
    if "prompt" not in body:
        raise InvalidRequest("Missing required parameter: 'prompt'.", param="prompt")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("'stream' must be a boolean.", param="stream")
    value = body.get("max_tokens")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidRequest("'max_tokens' must be a positive integer.", param="max_tokens")
    return body


def _normalize(data: object, model: str, request_id: str) -> Json:
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise UpstreamError("The upstream answered a completion without a 'choices' list.")
    if not isinstance(data.get("id"), str) or not data["id"]:
        data["id"] = "cmpl-" + request_id.removeprefix("req_")
    data["object"] = "text_completion"
    if isinstance(data.get("created"), bool) or not isinstance(data.get("created"), int):
        data["created"] = int(time.time())
    data["model"] = model
    return data


def completions(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "completions")
    async def handler(request: Request, call: Call) -> Response:
        snapshot = rt.catalog.snapshot
        call.key, call.workspace = authenticate(request, snapshot, rt.box)
        body = check_completion_body(await read_json(request, rt.settings.max_body_bytes))
        call.assistant = assistant = resolve_assistant(snapshot, call.workspace.id, body["model"])
        apply_temperature(body, assistant)
        clamp_max_tokens(body, completion_cap(assistant, call.workspace))
        await admit(rt, call, body)
        if body.get("stream"):
            return await _stream(rt, call, body)

        async def attempt(target: Deployment) -> Json:
            return await target.provider.client.completions({**body, "model": target.model})

        data, outcome = await rt.router.call(snapshot, assistant, attempt, notes=call.notes)
        answer = _normalize(data, assistant.name, call.request_id)
        call.record_usage(answer.get("usage"))
        return json_response(answer, headers=routing_headers(call, outcome))

    return handler


async def _stream(rt: Runtime, call: Call, body: Json) -> Response:
    assert call.assistant is not None
    name = call.assistant.name
    options = body.get("stream_options")
    wants_usage = isinstance(options, dict) and options.get("include_usage") is True
    body["stream_options"] = {
        **(options if isinstance(options, dict) else {}),
        "include_usage": True,
    }

    async def attempt(target: Deployment) -> AsyncIterator[Json]:
        client = target.provider.client
        return await prefetch(await client.completions_stream({**body, "model": target.model}))

    chunks, outcome = await rt.router.call(
        rt.catalog.snapshot, call.assistant, attempt, notes=call.notes
    )
    headers = {**routing_headers(call, outcome), "x-request-id": call.request_id}
    call.stream = True
    rt.router.enter(outcome.deployment.ref)

    async def events() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                _normalize(chunk, name, call.request_id)
                call.note_first_token(chunk)
                if "usage" in chunk:
                    call.record_usage(chunk["usage"])
                    if not wants_usage and not drop_usage(chunk):
                        continue
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
            yield DONE
        except JunctionError as error:
            call.record_error(error)
            rt.router.health.failure(outcome.deployment.ref, error.message)
            yield b"data: " + error.to_json() + b"\n\n"

    async def done(completed: bool) -> None:
        rt.router.leave(outcome.deployment.ref)
        await chunks.aclose()  # type: ignore[attr-defined]
        call.cut_off = not completed or call.error is not None
        rt.finish(call)

    return EventStreamResponse(events(), headers, done)
