"""The Responses API beyond ``POST /v1/responses``: stored responses read back and deleted.

- ``GET /v1/responses/{id}``: the Response object exactly as it was returned.
- ``DELETE /v1/responses/{id}``: ``{"id", "object": "response.deleted", "deleted": true}``;
  the response can no longer be read, listed or continued from (``previous_response_id``).
  The turn's messages stay in its chain, so responses made after it still see them.
- ``GET /v1/responses/{id}/input_items``: that request's input items, each with an id, paged as
  OpenAI's lists are (``limit`` 1-100, default 20; ``order`` ``desc`` (default) or ``asc``;
  ``after`` an item id) with ``first_id``, ``last_id``, ``has_more``.

A response is stored on the chat-history turn it made (``conversation_turns.response`` and
``.input_items``), written behind with the turn: it belongs to the key's workspace and to the
key (the first key of its rotation chain, as conversations do), and goes with the turn when
the history retention period ends. ``store: false`` and assistants whose ``chat_history`` is
``off`` store nothing, so their responses answer 404 here. Another replica may still serve a
deleted response from its history cache for up to ``history_cache_seconds``.

``POST /v1/responses`` refuses, with a 400 naming the parameter: ``background: true`` (the
router answers within the request; use ``stream: true`` for long answers) and ``conversation``
(use ``previous_response_id``; a chat conversation is named by ``X-Conversation-Id`` on
``/v1/chat/completions``). ``previous_response_id`` naming no stored response is a 400
``previous_response_not_found``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from junction.core.call import Call
from junction.core.responses import json_response
from junction.dataplane.http import Handler, openai_endpoint
from junction.errors import InvalidRequest, NotFound
from junction.history.state import ConversationState, Turn
from junction.pipeline.request import authenticate, serving_snapshot
from junction.runtime import Runtime

Json = dict[str, Any]

RESPONSE_ID = re.compile(r"^resp_([0-9a-f]{16})([0-9a-f]{16})$")
CHAIN_PREFIX = "responses:"
DELETED: Json = {"deleted": True}  # what a deleted response leaves on its turn


def _hex() -> str:
    return os.urandom(12).hex()


# -- POST /v1/responses ----------------------------------------------------------------------


def refuse_unsupported(request: Json) -> None:
    """400 for what the router does not do, rather than ignoring it."""
    if request.get("background") not in (None, False):
        raise InvalidRequest(
            "background responses are not supported: the router answers within the request "
            "(use stream: true for long answers).",
            param="background",
        )
    if request.get("conversation") is not None:
        raise InvalidRequest(
            "conversation is not supported: continue a response with previous_response_id "
            "(chat conversations are named by X-Conversation-Id on /v1/chat/completions).",
            param="conversation",
        )


def previous_not_found(response_id: object) -> InvalidRequest:
    return InvalidRequest(
        f"Previous response with id '{response_id}' not found.",
        param="previous_response_id",
        code="previous_response_not_found",
    )


async def find(
    rt: Runtime, workspace_id: str, owner: str, response_id: object
) -> tuple[ConversationState, int] | None:
    """The chain holding ``response_id`` and the index of its turn there (None if not
    stored, deleted, or not this key's)."""
    match = RESPONSE_ID.match(response_id) if isinstance(response_id, str) else None
    if match is None:
        return None
    state = await rt.history.get(workspace_id, owner, CHAIN_PREFIX + match.group(1))
    if state is None:
        return None
    turn_id = "turn_" + match.group(2)
    for i, turn in enumerate(state.turns):
        if turn.id == turn_id:
            return None if turn.response == DELETED else (state, i)
    return None


def input_items(request: Json) -> list[Json]:
    """The request's ``input`` as stored items, each with an id (as OpenAI lists them)."""
    given = request.get("input")
    if isinstance(given, str):
        given = [{"type": "message", "role": "user", "content": given}]
    items: list[Json] = []
    for item in given if isinstance(given, list) else ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            content = item.get("content")
            part = "output_text" if role == "assistant" else "input_text"
            if isinstance(content, str):
                content = [{"type": part, "text": content}]
            if role == "assistant" and isinstance(content, list):
                content = [{"annotations": [], **p} if isinstance(p, dict) else p for p in content]
            prefix = "msg_"
            items.append({**item, "type": "message", "content": content})
        elif kind == "function_call":
            prefix = "fc_"
            items.append(dict(item))
        else:
            prefix = "fco_"
            items.append(dict(item))
        items[-1].setdefault("status", "completed")
        items[-1]["id"] = item.get("id") or prefix + _hex()
    return items


def keep(turn: Turn | None, response: Json, items: list[Json]) -> None:
    """Store the returned ``response`` on the turn it made (written behind with the turn)."""
    if turn is not None:
        turn.response = response
        turn.input_items = items


# -- GET / DELETE /v1/responses/{id}, GET .../input_items ------------------------------------


async def _stored(rt: Runtime, request: Request, call: Call) -> tuple[str, Turn]:
    snapshot = await serving_snapshot(request, rt.catalog, rt.box)
    call.key, call.workspace = authenticate(request, snapshot, rt.box)
    response_id = request.path_params["response_id"]
    owner = call.key.owner_id or call.key.id
    found = await find(rt, call.workspace.id, owner, response_id)
    turn = found[0].turns[found[1]] if found else None
    if turn is None or turn.response is None:
        raise NotFound(f"Response with id '{response_id}' not found.", param="response_id")
    return response_id, turn


def retrieve_response(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "responses.retrieve")
    async def handler(request: Request, call: Call) -> Response:
        if request.query_params.get("stream") in ("true", "1"):
            raise InvalidRequest(
                "stream is only for background responses, which the router does not make.",
                param="stream",
            )
        _, turn = await _stored(rt, request, call)
        return json_response(turn.response)

    return handler


def delete_response(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "responses.delete")
    async def handler(request: Request, call: Call) -> Response:
        response_id, turn = await _stored(rt, request, call)
        await rt.history.replace_response(turn, DELETED)
        return json_response({"id": response_id, "object": "response.deleted", "deleted": True})

    return handler


def list_input_items(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "responses.input_items")
    async def handler(request: Request, call: Call) -> Response:
        query = request.query_params
        limit = _limit(query.get("limit"))
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise InvalidRequest("order must be 'asc' or 'desc'.", param="order")
        _, turn = await _stored(rt, request, call)
        items = list(turn.input_items or [])
        if order == "desc":
            items.reverse()
        after = query.get("after")
        if after:
            ids = [item.get("id") for item in items]
            if after not in ids:
                raise InvalidRequest(f"No input item '{after}' in this response.", param="after")
            items = items[ids.index(after) + 1 :]
        page = items[:limit]
        return json_response(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(items) > limit,
            }
        )

    return handler


def _limit(raw: str | None) -> int:
    if raw is None:
        return 20
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 100:
        raise InvalidRequest("limit must be an integer from 1 to 100.", param="limit")
    return value
