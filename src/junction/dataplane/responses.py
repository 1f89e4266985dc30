"""``POST /v1/responses``: OpenAI's Responses API as a thin layer over chat completions.

State lives in the chat-history store. A chain of responses is one stored conversation
(``responses:<chain>``) of the calling key; a response's id names its chain and its turn, so
``previous_response_id`` finds its history with one cache look-up. Continuing from a response
that is not the newest of its chain branches: the turns up to it are copied to a new chain
(written even if the new request then fails upstream). New chains are made without a database
read; continuing one that this process has not seen reads it once.
``store: false`` stores nothing (the answer's id cannot be continued from). The Response
object returned is kept on its turn for ``GET /v1/responses/{id}`` (``frontdoors.responses_api``,
which also holds the refusals of ``background`` and ``conversation``). Assistants whose
``chat_history`` is ``off`` store nothing and refuse ``previous_response_id``.

With ``stream: true`` the answer comes as Responses stream events (``responses_stream.py``).
"""

from __future__ import annotations

import os

from starlette.requests import Request
from starlette.responses import Response

from junction.core.call import Call
from junction.core.responses import json_response
from junction.dataplane.admission import admit
from junction.dataplane.chat import routing_headers
from junction.dataplane.http import Handler, authenticate, openai_endpoint, read_json
from junction.dataplane.responses_stream import stream_response
from junction.dataplane.responses_wire import Json, chat_body, response_object
from junction.dataplane.wire import completion_id, normalize_completion
from junction.errors import InvalidRequest
from junction.frontdoors.responses_api import (
    CHAIN_PREFIX,
    find,
    input_items,
    keep,
    previous_not_found,
    refuse_unsupported,
)
from junction.history.flow import ChatTurn
from junction.history.state import ConversationState, Turn
from junction.routing.prepare import check_chat_body, prepare_chat
from junction.routing.resolve import Deployment, resolve_assistant
from junction.runtime import Runtime
from junction.security.secrets import new_id


def create_response(rt: Runtime) -> Handler:
    @openai_endpoint(rt, "responses.create")
    async def handler(request: Request, call: Call) -> Response:
        snapshot = rt.catalog.snapshot
        call.key, call.workspace = authenticate(request, snapshot, rt.box)
        wanted = await read_json(request, rt.settings.max_body_bytes)
        if not isinstance(wanted, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        refuse_unsupported(wanted)
        body = check_chat_body(chat_body(wanted))
        call.assistant = assistant = resolve_assistant(snapshot, call.workspace.id, body["model"])
        keeps_history = assistant.chat_history != "off"
        previous = wanted.get("previous_response_id")
        if previous is not None and not keeps_history:
            raise InvalidRequest(
                f"Chat history is off for assistant '{assistant.name}': it keeps no responses "
                "to continue from.",
                param="previous_response_id",
            )
        store = keeps_history and wanted.get("store", True) is not False
        owner = call.key.owner_id or call.key.id
        stored: list[Turn] = []
        parent: ConversationState | None = None
        if previous is not None:
            found = await find(rt, call.workspace.id, owner, previous)
            if found is None:
                raise previous_not_found(previous)
            parent, index = found
            stored = parent.turns[: index + 1]
            if store and index != len(parent.turns) - 1:
                parent = _branch(rt, call.workspace.id, owner, assistant.name, stored)
        chain = parent
        if store and chain is None:
            chain = rt.history.create(
                call.workspace.id, owner, CHAIN_PREFIX + os.urandom(8).hex(), assistant.name
            )
        prepare_chat(body, assistant, call.workspace)
        await admit(rt, call, body)
        turn = await ChatTurn.begin(
            rt.history, rt.tokens, snapshot, call, body, chain if store else None, stored
        )
        if store and chain is not None:
            turn.turn_id = new_id("turn")
            chain_hex = chain.external_id.removeprefix(CHAIN_PREFIX)
            response_id = f"resp_{chain_hex}{turn.turn_id.removeprefix('turn_')}"
            call.notes["conversation_id"] = chain.external_id
        else:
            response_id = "resp_" + os.urandom(16).hex()
        items = input_items(wanted) if store else []
        if wanted.get("stream"):
            return await stream_response(rt, call, body, turn, wanted, response_id, store, items)

        async def attempt(target: Deployment) -> Json:
            return await target.provider.client.chat({**body, "model": target.model})

        data, outcome = await rt.router.call(snapshot, assistant, attempt)
        answer = normalize_completion(data, assistant.name, completion_id(call.request_id))
        call.record_usage(answer.get("usage"))
        stored_turn = turn.answered(answer)
        result = response_object(answer, response_id, wanted, store, int(call.created_at))
        keep(stored_turn, result, items)
        return json_response(result, headers=routing_headers(call, outcome))

    return handler


def _branch(
    rt: Runtime, workspace_id: str, owner: str, assistant: str, turns: list[Turn]
) -> ConversationState:
    """A new chain holding copies of ``turns``: continuing from an earlier response."""
    chain = rt.history.create(workspace_id, owner, CHAIN_PREFIX + os.urandom(8).hex(), assistant)
    for turn in turns:
        rt.history.append(chain, turn.messages, turn.assistant, turn.request_id)
    return chain
