"""OpenAPI entries for the data plane's plain Starlette routes.

The request models document the fields the router reads; any other OpenAI field is accepted
and passed upstream untouched (``additionalProperties`` stays open).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ChatMessage(_Open):
    role: str
    content: Any = None


class StreamOptions(_Open):
    include_usage: bool | None = None


class ChatCompletionRequest(_Open):
    model: str = Field(description="The assistant's name.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)


class CompletionRequest(_Open):
    model: str = Field(description="The assistant's name.")
    prompt: Any = Field(description="Passed to the model as is (kinds openai and ollama).")
    stream: bool | None = None
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, ge=1)


class AnthropicMessage(_Open):
    role: str
    content: Any


class MessagesRequest(_Open):
    """Anthropic's Messages API request (``POST /v1/messages``)."""

    model: str = Field(description="The assistant's name.")
    max_tokens: int = Field(ge=1)
    messages: list[AnthropicMessage] = Field(min_length=1)
    system: Any = None
    stream: bool | None = None


class CountTokensRequest(_Open):
    model: str = Field(description="The assistant's name.")
    messages: list[AnthropicMessage] = Field(min_length=1)
    system: Any = None


class EmbeddingRequest(_Open):
    model: str = Field(description="The assistant's name.")
    input: str | list[str] | list[int] | list[list[int]]


_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}

_ANSWER = {"description": "OpenAI-format answer", "content": {"application/json": {}}}
_ANTHROPIC_ERROR = {
    "type": "object",
    "required": ["type", "error"],
    "properties": {
        "type": {"type": "string", "enum": ["error"]},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        },
        "request_id": {"type": "string"},
    },
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {
            "description": "OpenAI-shaped error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for s in statuses
    }


def _post(summary: str, schema: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "tags": ["data plane"],
            "security": [{"WorkspaceKey": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                },
            },
            "responses": {"200": _ANSWER, **_errors(400, 401, 404, 413, 429, 502, 503, 504)},
        }
    }


def _anthropic_post(summary: str, schema: str) -> dict[str, Any]:
    error = {
        "description": "Anthropic-shaped error",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/AnthropicError"}}
        },
    }
    operation = _post(summary, schema)
    operation["post"]["security"] = [{"WorkspaceKey": []}, {"AnthropicKey": []}]
    operation["post"]["responses"] = {
        "200": {"description": "Anthropic-format answer", "content": {"application/json": {}}},
        **{str(s): error for s in (400, 401, 404, 413, 429, 502, 503, 504)},
    }
    return operation


def _response_paths() -> dict[str, Any]:
    """``/v1/responses/{id}`` (GET, DELETE) and ``.../input_items`` (GET)."""
    response_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    paging = [
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
        },
        {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
        {"name": "after", "in": "query", "schema": {"type": "string"}},
    ]
    one = _get("A stored response, as it was returned", [response_id])
    one["delete"] = {
        **one["get"],
        "summary": "Delete a stored response",
        "responses": {"200": _ANSWER, **_errors(401, 404)},
    }
    items = _get("A stored response's input items (paged)", [response_id, *paging])
    items["get"]["responses"] = {"200": _ANSWER, **_errors(400, 401, 404)}
    return {"/v1/responses/{id}": one, "/v1/responses/{id}/input_items": items}


def _get(summary: str, parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": ["data plane"],
        "security": [{"WorkspaceKey": []}],
        "responses": {"200": _ANSWER, **_errors(401, 404)},
    }
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def add_data_plane_paths(doc: dict[str, Any]) -> None:
    """The data plane's paths, request schemas and security schemes, added to the published
    document."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in (
        ChatCompletionRequest,
        CompletionRequest,
        EmbeddingRequest,
        MessagesRequest,
        CountTokensRequest,
    ):
        full = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(full.pop("$defs", {}))
        schemas[model.__name__] = full
    schemas["Error"] = _ERROR
    schemas["AnthropicError"] = _ANTHROPIC_ERROR
    security = doc["components"].setdefault("securitySchemes", {})
    security["WorkspaceKey"] = {"type": "http", "scheme": "bearer"}
    security["AnthropicKey"] = {"type": "apiKey", "in": "header", "name": "x-api-key"}
    name = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    doc["paths"].update(
        {
            "/v1/chat/completions": _post("Create a chat completion", "ChatCompletionRequest"),
            "/v1/completions": _post("Create a text completion", "CompletionRequest"),
            "/v1/embeddings": _post("Create embeddings", "EmbeddingRequest"),
            "/v1/models": _get("List the workspace's assistants"),
            "/v1/models/{name}": _get("Get one assistant", name),
            "/v1/messages": _anthropic_post(
                "Create a message (Anthropic's Messages API)", "MessagesRequest"
            ),
            "/v1/messages/count_tokens": _anthropic_post(
                "Count a message's input tokens (Anthropic's Messages API)",
                "CountTokensRequest",
            ),
            **_response_paths(),
        }
    )
