"""The one place that turns an answer or a ``JunctionError`` into an HTTP response."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from junction.errors import JunctionError


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def error_response(error: JunctionError, request_id: str | None = None) -> Response:
    headers = dict(error.headers)
    if request_id:
        headers["x-request-id"] = request_id
    return Response(error.to_json(), error.status_code, headers, media_type="application/json")
