"""The one place that turns an answer or a ``JunctionError`` into an HTTP response."""

from __future__ import annotations

from collections.abc import Mapping
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


def add_headers(response: Response, headers: Mapping[str, str]) -> None:
    """``response.headers.update(headers)`` for a response already built, without a scan of its
    headers per name: a name it does not have yet is appended as is."""
    raw = response.raw_headers
    present = {name for name, _ in raw}
    for name, value in headers.items():
        key = name.lower().encode("latin-1")
        if key in present:
            response.headers[name] = value
        else:
            raw.append((key, value.encode("latin-1")))
