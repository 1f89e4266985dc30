"""``GET/DELETE /v1/conversations/{id}``: a key's own stored chat history."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from junction.core.call import Call
from junction.core.responses import json_response
from junction.dataplane.http import Handler, openai_endpoint
from junction.errors import NotFound
from junction.history.identity import storage_id
from junction.history.state import ConversationState
from junction.pipeline.request import authenticate, serving_snapshot
from junction.runtime import Runtime


def conversation_body(state: ConversationState) -> dict[str, Any]:
    return {
        "id": state.external_id,
        "object": "conversation",
        "created_at": int(state.created_at.timestamp()),
        "updated_at": int(state.updated_at.timestamp()),
        "assistant": state.assistant,
        "turn_count": len(state.turns),
        "messages": state.messages(),
    }


def _missing(conversation: str) -> NotFound:
    return NotFound(f"No conversation '{conversation}' for this key.", param="id")


def get_conversation(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "conversations.retrieve")
    async def handler(request: Request, call: Call) -> Response:
        snapshot = await serving_snapshot(request, rt.catalog, rt.box)
        call.key, call.workspace = authenticate(request, snapshot, rt.box)
        conversation = request.path_params["conversation_id"]
        owner = call.key.owner_id or call.key.id
        state = await rt.history.get(call.workspace.id, owner, conversation)
        if state is None or not state.turns:
            raise _missing(conversation)
        return json_response(conversation_body(state))

    return handler


def delete_conversation(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "conversations.delete")
    async def handler(request: Request, call: Call) -> Response:
        snapshot = await serving_snapshot(request, rt.catalog, rt.box)
        call.key, call.workspace = authenticate(request, snapshot, rt.box)
        conversation = request.path_params["conversation_id"]
        owner = call.key.owner_id or call.key.id
        state = await rt.history.get(call.workspace.id, owner, conversation)
        deleted = await rt.history.delete([storage_id(call.workspace.id, owner, conversation)])
        if not deleted and (state is None or not state.turns):
            raise _missing(conversation)
        return json_response(
            {"id": conversation, "object": "conversation.deleted", "deleted": True}
        )

    return handler


def add_conversation_paths(doc: dict[str, Any]) -> None:
    """Publish ``/v1/conversations/{id}`` and ``/v1/responses`` in the OpenAPI document."""
    common = {
        "tags": ["data plane"],
        "security": [{"WorkspaceKey": []}],
        "parameters": [
            {
                "name": "id",
                "in": "path",
                "required": True,
                "description": "The conversation id echoed in X-Conversation-Id.",
                "schema": {"type": "string"},
            }
        ],
    }
    error = {
        "description": "OpenAI-shaped error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    doc["paths"]["/v1/conversations/{id}"] = {
        "get": {
            **common,
            "summary": "This key's stored conversation: its messages, oldest first",
            "responses": {
                "200": {"description": "The conversation"},
                "401": error,
                "404": error,
            },
        },
        "delete": {
            **common,
            "summary": "Delete this key's stored conversation",
            "responses": {"200": {"description": "Deleted"}, "401": error, "404": error},
        },
    }
    doc["paths"]["/v1/responses"] = {
        "post": {
            "tags": ["data plane"],
            "security": [{"WorkspaceKey": []}],
            "summary": "Create a response (OpenAI Responses API; not streamed)",
            "description": "Stateful through previous_response_id, on the chat-history "
            "store. Input items: messages, function_call, function_call_output.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {
                "200": {"description": "The Response object"},
                **{str(code): error for code in (400, 401, 404, 413, 429, 502, 503, 504)},
            },
        }
    }
