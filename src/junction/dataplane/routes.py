"""The data plane's routes, bound to one runtime. The endpoints that call an upstream are
front doors of the request pipeline (``junction.pipeline``); the others read the catalog or
the history store."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from junction.dataplane.chat import ChatDoor
from junction.dataplane.completions import CompletionsDoor
from junction.dataplane.conversations import delete_conversation, get_conversation
from junction.dataplane.embeddings import EmbeddingsDoor
from junction.dataplane.models import get_model, list_models
from junction.dataplane.responses import ResponsesDoor
from junction.pipeline.endpoint import endpoint
from junction.runtime import Runtime


def data_plane_routes(rt: Runtime) -> list[BaseRoute]:
    return [
        Route("/v1/chat/completions", endpoint(rt, ChatDoor()), methods=["POST"]),
        Route("/v1/completions", endpoint(rt, CompletionsDoor()), methods=["POST"]),
        Route("/v1/embeddings", endpoint(rt, EmbeddingsDoor()), methods=["POST"]),
        Route("/v1/models", list_models(rt), methods=["GET"]),
        Route("/v1/models/{name:path}", get_model(rt), methods=["GET"]),
        Route("/v1/responses", endpoint(rt, ResponsesDoor()), methods=["POST"]),
        Route("/v1/conversations/{conversation_id:path}", get_conversation(rt), methods=["GET"]),
        Route(
            "/v1/conversations/{conversation_id:path}", delete_conversation(rt), methods=["DELETE"]
        ),
    ]
