"""Reading a data-plane request: its id, its body (parsed once, bounded), its credential."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request

from junction.config.snapshot import KeyView, Snapshot, WorkspaceView
from junction.errors import AuthenticationFailed, InvalidRequest, PayloadTooLarge
from junction.security.secrets import SecretBox

if TYPE_CHECKING:
    from junction.config.catalog import Catalog


async def read_json(request: Request, limit: int) -> Any:
    """The body parsed once; a chunked body over ``limit`` bytes is a 413 (``BodySizeLimit``
    refuses a declared one before this runs). The ASGI messages are read as they come (a
    body usually comes whole in the first)."""
    receive = request.receive
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # gone, or cut off by the server's read deadline
            raise InvalidRequest("The connection closed before the whole body arrived.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
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


async def serving_snapshot(
    request: Request, catalog: Catalog, box: SecretBox, token: str | None = None
) -> Snapshot:
    """The snapshot to serve this request from: the catalog's; while its full load is still
    running at start-up, one holding the credential's workspace (``Catalog.warm``). ``token``
    as for ``authenticate``."""
    if catalog.loaded:
        return catalog.snapshot
    token = token if token is not None else bearer_token(request)
    return catalog.snapshot if token is None else await catalog.warm(box.key_digest(token))


def authenticate(
    request: Request, snapshot: Snapshot, box: SecretBox, token: str | None = None
) -> tuple[KeyView, WorkspaceView]:
    """The workspace key's record and workspace, from the in-process catalog. ``token`` is the
    credential as a front door found it; by default the ``Authorization: Bearer`` one."""
    token = token if token is not None else bearer_token(request)
    if token is None:
        raise AuthenticationFailed(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
        )
    key = snapshot.keys.get(box.key_digest(token))
    if key is None or not key.usable(time.time()):
        raise AuthenticationFailed("Incorrect API key provided.")
    workspace = snapshot.workspaces.get(key.workspace_id)
    if workspace is None:
        raise AuthenticationFailed("Incorrect API key provided.")
    return key, workspace
