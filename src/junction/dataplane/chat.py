"""``POST /v1/chat/completions``: authenticate, resolve, prepare, route, normalize, answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from junction.dataplane.http import Handler, authenticate, json_response, openai_endpoint, read_json
from junction.dataplane.streaming import EventStreamResponse
from junction.dataplane.wire import completion_id, normalize_chunk, normalize_completion
from junction.errors import JunctionError
from junction.routing.catalog import AssistantView
from junction.routing.prepare import check_chat_body, prepare_chat
from junction.routing.resolve import Deployment, resolve_assistant
from junction.routing.router import Outcome
from junction.runtime import Runtime

Json = dict[str, Any]
DONE = b"data: [DONE]\n\n"


def routing_headers(outcome: Outcome) -> dict[str, str]:
    return {
        "x-junction-model": outcome.deployment.ref,
        "x-junction-attempts": str(outcome.attempts),
    }


def chat_completions(rt: Runtime) -> Handler:
    @openai_endpoint
    async def handler(request: Request, request_id: str) -> Response:
        snapshot = rt.catalog.snapshot
        _key, workspace = authenticate(request, snapshot, rt.box)
        body = check_chat_body(await read_json(request, rt.settings.max_body_bytes))
        assistant = resolve_assistant(snapshot, workspace.id, body["model"])
        prepare_chat(body, assistant, workspace)
        if body.get("stream"):
            return await _stream(rt, request_id, assistant, body)

        async def attempt(target: Deployment) -> Json:
            return await target.provider.client.chat({**body, "model": target.model})

        data, outcome = await rt.router.call(snapshot, assistant, attempt)
        answer = normalize_completion(data, assistant.name, completion_id(request_id))
        return json_response(answer, headers=routing_headers(outcome))

    return handler


async def _stream(rt: Runtime, request_id: str, assistant: AssistantView, body: Json) -> Response:
    # Usage is always asked of the upstream (accounting needs it) and shown only if asked for.
    options = body.get("stream_options")
    wants_usage = isinstance(options, dict) and options.get("include_usage") is True
    body["stream_options"] = {
        **(options if isinstance(options, dict) else {}),
        "include_usage": True,
    }

    async def attempt(target: Deployment) -> AsyncIterator[Json]:
        return await target.provider.client.chat_stream({**body, "model": target.model})

    chunks, outcome = await rt.router.call(rt.catalog.snapshot, assistant, attempt)
    rt.router.enter(outcome.deployment.ref)
    fallback_id = completion_id(request_id)

    async def events() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                normalize_chunk(chunk, assistant.name, fallback_id)
                if not wants_usage and "usage" in chunk:
                    if not chunk["choices"]:
                        continue
                    del chunk["usage"]
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
            yield DONE
        except JunctionError as error:
            # Headers are gone; OpenAI clients raise on an event that carries "error".
            yield b"data: " + error.to_json() + b"\n\n"
        finally:
            rt.router.leave(outcome.deployment.ref)
            await chunks.aclose()  # type: ignore[attr-defined]

    headers = {**routing_headers(outcome), "x-request-id": request_id}
    return EventStreamResponse(events(), headers)
