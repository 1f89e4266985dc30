"""``POST /v1/embeddings``: the assistant's model embeds; the body passes through."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from junction.core.call import Call
from junction.core.responses import json_response
from junction.dataplane.admission import admit
from junction.dataplane.chat import routing_headers
from junction.dataplane.http import Handler, authenticate, openai_endpoint, read_json
from junction.dataplane.wire import normalize_embeddings
from junction.errors import InvalidRequest
from junction.routing.resolve import Deployment, resolve_assistant
from junction.runtime import Runtime


def embeddings(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "embeddings")
    async def handler(request: Request, call: Call) -> Response:
        snapshot = rt.catalog.snapshot
        call.key, call.workspace = authenticate(request, snapshot, rt.box)
        workspace = call.workspace
        body = await read_json(request, rt.settings.max_body_bytes)
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        if not isinstance(body.get("model"), str):
            raise InvalidRequest("Missing required parameter: 'model'.", param="model")
        if "input" not in body:
            raise InvalidRequest("Missing required parameter: 'input'.", param="input")
        call.assistant = assistant = resolve_assistant(snapshot, workspace.id, body["model"])
        await admit(rt, call, body)

        async def attempt(target: Deployment) -> dict[str, Any]:
            return await target.provider.client.embeddings({**body, "model": target.model})

        data, outcome = await rt.router.call(snapshot, assistant, attempt)
        answer = normalize_embeddings(data, assistant.name)
        call.record_usage({**answer["usage"], "completion_tokens": 0})
        return json_response(answer, headers=routing_headers(call, outcome))

    return handler
