"""``GET /v1/models``: the assistants of the key's workspace are its models."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from junction.core.call import Call
from junction.core.responses import json_response
from junction.dataplane.http import Handler, openai_endpoint
from junction.dataplane.wire import model_entry
from junction.pipeline.request import authenticate, serving_snapshot
from junction.routing.resolve import resolve_assistant
from junction.runtime import Runtime


def list_models(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "models.list")
    async def handler(request: Request, call: Call) -> Response:
        snapshot = await serving_snapshot(request, rt.catalog, rt.box)
        call.key, call.workspace = authenticate(request, snapshot, rt.box)
        workspace = call.workspace
        assistants = snapshot.roster(workspace.id).values()
        data = [model_entry(a.name, a.created, workspace.name) for a in assistants]
        return json_response({"object": "list", "data": data})

    return handler


def get_model(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "models.retrieve")
    async def handler(request: Request, call: Call) -> Response:
        snapshot = await serving_snapshot(request, rt.catalog, rt.box)
        call.key, call.workspace = authenticate(request, snapshot, rt.box)
        workspace = call.workspace
        assistant = resolve_assistant(snapshot, workspace.id, request.path_params["name"])
        return json_response(model_entry(assistant.name, assistant.created, workspace.name))

    return handler
