"""Request and response plumbing shared by the data-plane handlers."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from junction.config.snapshot import KeyView, Snapshot, WorkspaceView
from junction.core.call import Call
from junction.core.responses import error_response
from junction.errors import AuthenticationFailed, InvalidRequest, JunctionError, PayloadTooLarge
from junction.runtime import Runtime
from junction.security.secrets import SecretBox

Handler = Callable[[Request], Awaitable[Response]]


def new_request_id() -> str:
    return "req_" + os.urandom(12).hex()


CallHandler = Callable[[Request, Call], Awaitable[Response]]


def openai_endpoint(rt: Runtime, name: str) -> Callable[[CallHandler], Handler]:
    """Gives the handler a fresh ``Call``, turns every ``JunctionError`` into its JSON answer,
    and finishes the call (a streaming handler sets ``call.stream`` and finishes it itself)."""

    def wrap(handler: CallHandler) -> Handler:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            call = Call(new_request_id(), name)
            call.traceparent = request.headers.get("traceparent")
            try:
                response = await handler(request, call)
            except JunctionError as error:
                call.status = error.status_code
                call.record_error(error)
                call.stream = False
                rt.finish(call)
                response = error_response(error, call.request_id)
                await rt.rate_limits.describe(call)
                response.headers.update(call.headers)
                return response
            response.headers["x-request-id"] = call.request_id
            await rt.rate_limits.describe(call)
            response.headers.update(call.headers)
            if not call.stream:
                call.status = response.status_code
                rt.finish(call)
            return response

        return endpoint

    return wrap


async def read_json(request: Request, limit: int) -> Any:
    """The body parsed once; a chunked body over ``limit`` bytes is a 413 (``BodySizeLimit``
    refuses a declared one before this runs)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")
            chunks.append(chunk)
    except ClientDisconnect:  # gone, or cut off by the server's read deadline
        raise InvalidRequest("The connection closed before the whole body arrived.") from None
    raw = b"".join(chunks)
    if not raw:
        raise InvalidRequest("The request body is empty; expected a JSON object.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(
    request: Request, snapshot: Snapshot, box: SecretBox
) -> tuple[KeyView, WorkspaceView]:
    """The workspace key's record and workspace, from the in-process catalog."""
    token = bearer_token(request)
    if token is None:
        raise AuthenticationFailed(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
        )
    key = snapshot.keys.get(box.hash_key(token))
    if key is None or not key.usable(time.time()):
        raise AuthenticationFailed("Incorrect API key provided.")
    workspace = snapshot.workspaces.get(key.workspace_id)
    if workspace is None:
        raise AuthenticationFailed("Incorrect API key provided.")
    return key, workspace
