"""``POST /v1/responses``: OpenAI's Responses API as a thin layer over chat completions.

State lives in the chat-history store. A chain of responses is one stored conversation
(``responses:<chain>``) of the calling key; a response's id names its chain and its turn, so
``previous_response_id`` finds its history with one cache look-up. Continuing from a response
that is not the newest of its chain branches: the turns up to it are copied to a new chain
(written even if the new request then fails upstream). New chains are made without a database
read; continuing one that this process has not seen reads it once.
``store: false`` stores nothing (the answer's id cannot be continued from). Assistants whose
``chat_history`` is ``off`` store nothing and refuse ``previous_response_id``.

With ``stream: true`` the answer comes as Responses stream events (``responses_stream.py``).
"""

from __future__ import annotations

import os
import re

from junction.core.types import Json
from junction.dataplane.responses_stream import ResponsesEncoder
from junction.dataplane.responses_wire import chat_body, response_object
from junction.dataplane.wire import completion_id, normalize_chunk, normalize_completion
from junction.errors import InvalidRequest, NotFound
from junction.history.flow import ChatTurn
from junction.history.state import ConversationState, Turn
from junction.pipeline.door import FrontDoor, StreamEncoder
from junction.pipeline.exchange import Exchange
from junction.pipeline.shape import check_chat
from junction.runtime import Runtime
from junction.security.secrets import new_id

_RESPONSE_ID = re.compile(r"^resp_([0-9a-f]{16})([0-9a-f]{16})$")
CHAIN_PREFIX = "responses:"


class ResponsesDoor(FrontDoor):
    endpoint = "responses.create"
    operation = "chat"

    def parse(self, ex: Exchange, raw: Json) -> None:
        body = chat_body(raw)
        check_chat(body, ex.rt.settings, param="input")
        ex.wire, ex.body = raw, body
        if raw.get("stream") is True:
            body["stream"] = ex.call.stream = True

    async def open_history(self, ex: Exchange) -> ChatTurn:
        rt, call, assistant, wanted = ex.rt, ex.call, ex.assistant, ex.wire
        workspace_id = ex.workspace.id
        keeps_history = assistant.chat_history != "off"
        previous = wanted.get("previous_response_id")
        if previous is not None and not keeps_history:
            raise InvalidRequest(
                f"Chat history is off for assistant '{assistant.name}': it keeps no responses "
                "to continue from.",
                param="previous_response_id",
            )
        store = keeps_history and wanted.get("store", True) is not False
        owner = ex.key.owner_id or ex.key.id
        stored: list[Turn] = []
        parent: ConversationState | None = None
        if previous is not None:
            parent = await _find(rt, workspace_id, owner, previous)
            index = _turn_index(parent, previous)
            stored = parent.turns[: index + 1]
            if store and index != len(parent.turns) - 1:
                parent = _branch(rt, workspace_id, owner, assistant.name, stored)
        chain = parent
        if store and chain is None:
            chain = rt.history.create(
                workspace_id, owner, CHAIN_PREFIX + os.urandom(8).hex(), assistant.name
            )
        turn = await ChatTurn.begin(
            rt.history, rt.tokens, ex.snapshot, call, ex.body, chain if store else None, stored
        )
        if store and chain is not None:
            turn.turn_id = new_id("turn")
            chain_hex = chain.external_id.removeprefix(CHAIN_PREFIX)
            ex.state["response_id"] = f"resp_{chain_hex}{turn.turn_id.removeprefix('turn_')}"
            call.notes["conversation_id"] = chain.external_id
        else:
            ex.state["response_id"] = "resp_" + os.urandom(16).hex()
        ex.state["store"] = store
        return turn

    def normalize(self, ex: Exchange, data: object) -> Json:
        return normalize_completion(data, ex.assistant.name, completion_id(ex.call.request_id))

    def normalize_chunk(self, ex: Exchange, chunk: Json) -> Json:
        return normalize_chunk(chunk, ex.assistant.name, completion_id(ex.call.request_id))

    def answer(self, ex: Exchange, answer: Json) -> Json:
        return response_object(answer, ex.state["response_id"], ex.wire, ex.state["store"])

    def encoder(self, ex: Exchange) -> StreamEncoder:
        return ResponsesEncoder(
            ex.assistant.name, ex.state["response_id"], ex.wire, ex.state["store"]
        )


async def _find(
    rt: Runtime, workspace_id: str, owner: str, response_id: object
) -> ConversationState:
    match = _RESPONSE_ID.match(response_id) if isinstance(response_id, str) else None
    state = None
    if match is not None:
        state = await rt.history.get(workspace_id, owner, CHAIN_PREFIX + match.group(1))
    if state is None or match is None:
        raise NotFound(
            f"Previous response '{response_id}' not found.", param="previous_response_id"
        )
    return state


def _turn_index(state: ConversationState, response_id: str) -> int:
    turn_id = "turn_" + response_id[-16:]
    for i, turn in enumerate(state.turns):
        if turn.id == turn_id:
            return i
    raise NotFound(f"Previous response '{response_id}' not found.", param="previous_response_id")


def _branch(
    rt: Runtime, workspace_id: str, owner: str, assistant: str, turns: list[Turn]
) -> ConversationState:
    """A new chain holding copies of ``turns``: continuing from an earlier response."""
    chain = rt.history.create(workspace_id, owner, CHAIN_PREFIX + os.urandom(8).hex(), assistant)
    for turn in turns:
        rt.history.append(chain, turn.messages, turn.assistant, turn.request_id)
    return chain
