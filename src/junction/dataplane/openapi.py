"""OpenAPI entries for the data plane's plain Starlette routes.

The request models document the fields the router reads; any other OpenAI field is accepted
and passed upstream untouched (``additionalProperties`` stays open).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
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


def add_data_plane_paths(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so that the published document lists the data plane too."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in (ChatCompletionRequest, CompletionRequest, EmbeddingRequest):
            full = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(full.pop("$defs", {}))
            schemas[model.__name__] = full
        schemas["Error"] = _ERROR
        doc["components"].setdefault("securitySchemes", {})["WorkspaceKey"] = {
            "type": "http",
            "scheme": "bearer",
        }
        name = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
        doc["paths"].update(
            {
                "/v1/chat/completions": _post("Create a chat completion", "ChatCompletionRequest"),
                "/v1/completions": _post("Create a text completion", "CompletionRequest"),
                "/v1/embeddings": _post("Create embeddings", "EmbeddingRequest"),
                "/v1/models": _get("List the workspace's assistants"),
                "/v1/models/{name}": _get("Get one assistant", name),
            }
        )
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
