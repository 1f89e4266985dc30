"""The data plane's routes, bound to one runtime."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from junction.dataplane.chat import chat_completions
from junction.dataplane.completions import completions
from junction.dataplane.conversations import delete_conversation, get_conversation
from junction.dataplane.embeddings import embeddings
from junction.dataplane.models import get_model, list_models
from junction.dataplane.responses import create_response
from junction.frontdoors.responses_api import (
    delete_response,
    list_input_items,
    retrieve_response,
)
from junction.runtime import Runtime


def data_plane_routes(rt: Runtime) -> list[BaseRoute]:
    return [
        Route("/v1/chat/completions", chat_completions(rt), methods=["POST"]),
        Route("/v1/completions", completions(rt), methods=["POST"]),
        Route("/v1/embeddings", embeddings(rt), methods=["POST"]),
        Route("/v1/models", list_models(rt), methods=["GET"]),
        Route("/v1/models/{name:path}", get_model(rt), methods=["GET"]),
        Route("/v1/responses", create_response(rt), methods=["POST"]),
        Route("/v1/responses/{response_id}", retrieve_response(rt), methods=["GET"]),
        Route("/v1/responses/{response_id}", delete_response(rt), methods=["DELETE"]),
        Route("/v1/responses/{response_id}/input_items", list_input_items(rt), methods=["GET"]),
        Route("/v1/conversations/{conversation_id:path}", get_conversation(rt), methods=["GET"]),
        Route(
            "/v1/conversations/{conversation_id:path}", delete_conversation(rt), methods=["DELETE"]
        ),
    ]
