"""``GET /openapi.json``: the published API document, built on its first request.

FastAPI writes the admin API's part from its routes and schemas (``admin/app.py``, built then
if no admin request came first); the data plane's plain Starlette routes add theirs
(``dataplane/openapi.py``, ``dataplane/conversations.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from fastapi import FastAPI


def api_document_route(admin: Callable[[], FastAPI]) -> Route:
    @functools.cache
    def document() -> dict[str, Any]:
        from junction.dataplane.conversations import add_conversation_paths
        from junction.dataplane.openapi import add_data_plane_paths  # its pydantic models

        doc = admin().openapi()
        add_data_plane_paths(doc)
        add_conversation_paths(doc)
        return doc

    async def openapi(_request: Request) -> Response:
        return JSONResponse(document())

    return Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)
