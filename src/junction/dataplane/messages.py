"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: Anthropic's Messages API as a
front door of the request pipeline, for Claude-style clients and agents.

The key comes as ``x-api-key`` (what Anthropic's clients send) or ``Authorization: Bearer``
(``ANTHROPIC_AUTH_TOKEN``); ``anthropic-version`` and ``anthropic-beta`` are accepted and need
no particular value. ``model`` names the assistant. The request is translated into the
internal chat form (``messages_wire``), goes through every step a chat completion does —
limits and budgets, the assistant's system prompt and settings (``max_tokens`` clamped to the
cap), knowledge, chat history (``X-Conversation-Id``, else ``metadata.user_id``), the context
window, routing with retries and fallbacks, the quality gate, metering and the request log
(``endpoint`` ``messages``) — and its answer is translated back into a Message or the Messages
stream events (``messages_stream``). Errors are Anthropic-shaped.

``count_tokens`` answers ``{"input_tokens": N}``: the prompt as the assistant would send it
(its system prompt first, then the request's system, messages and tools), counted as the
context step counts (the first model's tokenizer endpoint where its provider has one, else
tiktoken). Stored history is not added: Messages clients send the whole conversation.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from junction.accounting.content import capture_request
from junction.core.call import Call, new_request_id
from junction.core.responses import json_response
from junction.core.types import Json
from junction.dataplane.http import Handler
from junction.dataplane.messages_answer import error_response, message_object, new_message_id
from junction.dataplane.messages_stream import MessageStream
from junction.dataplane.messages_wire import chat_body, thinking_off
from junction.dataplane.wire import completion_id, normalize_chunk, normalize_completion
from junction.errors import AuthenticationFailed, InternalError, JunctionError
from junction.history import thinking
from junction.history.flow import ChatTurn
from junction.pipeline.accumulator import StreamAccumulator
from junction.pipeline.door import FrontDoor, StreamEncoder
from junction.pipeline.exchange import Exchange
from junction.pipeline.request import (
    authenticate,
    bearer_token,
    read_json,
    serving_snapshot,
)
from junction.pipeline.shape import check_chat, check_object
from junction.routing.prepare import prepare_chat
from junction.routing.resolve import resolve_assistant
from junction.runtime import Runtime
from junction.tokens.upstream import prompt_tokens

log = logging.getLogger(__name__)


def api_key(request: Request) -> str:
    """``x-api-key``, else ``Authorization: Bearer``; 401 naming both when neither is there."""
    key = request.headers.get("x-api-key")
    token = key.strip() if key and key.strip() else bearer_token(request)
    if token is None:
        raise AuthenticationFailed(
            "You didn't provide an API key. Send the workspace key as 'x-api-key: <key>' "
            "or 'Authorization: Bearer <key>'."
        )
    return token


class MessagesDoor(FrontDoor):
    endpoint = "messages"
    operation = "chat"

    def credential(self, request: Request) -> str:
        return api_key(request)

    def parse(self, ex: Exchange, raw: Json) -> None:
        body = chat_body(raw)
        check_chat(body, ex.rt.settings)
        ex.wire, ex.body = raw, body
        ex.call.stream = body.get("stream") is True
        ex.state["message_id"] = new_message_id()

    async def open_history(self, ex: Exchange) -> ChatTurn | None:
        body, assistant = ex.body, ex.assistant
        turn = await ChatTurn.open(
            ex.rt.history,
            ex.rt.tokens,
            ex.snapshot,
            ex.call,
            body,
            ex.request.headers.get("x-conversation-id"),
        )
        if turn.strip:  # the assistant switches thinking off, whatever the request asked
            body.pop("thinking", None)
        elif thinking_off(body):
            thinking.switch_off(body, (*assistant.model, *assistant.fallbacks))
        return turn

    def normalize(self, ex: Exchange, data: object) -> Json:
        return normalize_completion(data, ex.assistant.name, completion_id(ex.call.request_id))

    def normalize_chunk(self, ex: Exchange, chunk: Json) -> Json:
        return normalize_chunk(chunk, ex.assistant.name, completion_id(ex.call.request_id))

    def answer(self, ex: Exchange, answer: Json) -> Json:
        return message_object(
            answer, ex.wire["model"], ex.state["message_id"], ex.wire.get("stop_sequences")
        )

    def encoder(self, ex: Exchange) -> StreamEncoder:
        return MessagesEncoder(
            MessageStream(
                ex.state["message_id"],
                ex.wire["model"],
                ex.prompt_tokens or 0,
                ex.wire.get("stop_sequences"),
            )
        )

    def error_response(self, error: JunctionError, request_id: str) -> Response:
        return error_response(error, request_id)


class MessagesEncoder(StreamEncoder):
    """The pipeline's stream framing, as Messages stream events."""

    def __init__(self, stream: MessageStream) -> None:
        super().__init__(wants_usage=False)
        self.stream = stream

    def start(self) -> list[bytes]:
        return [self.stream.start()]

    def chunk(self, chunk: Json) -> bytes | None:
        return self.stream.feed(chunk) or None

    def end(self, acc: StreamAccumulator) -> list[bytes]:
        return [self.stream.finish()]

    def error(self, error: JunctionError) -> bytes:
        return self.stream.error(error)


def count_tokens(rt: Runtime) -> Handler:
    async def handle(request: Request) -> Response:
        call = Call(new_request_id(), "messages.count_tokens")
        failure: JunctionError | None = None
        try:
            response = await _count(rt, call, request)
        except JunctionError as error:
            failure = error
        except Exception:
            log.exception("data-plane request %s failed", call.request_id)
            failure = InternalError.for_request(call.request_id)
        if failure is not None:
            call.status = failure.status_code
            call.record_error(failure)
            rt.finish(call)
            return error_response(failure, call.request_id)
        response.headers["x-request-id"] = call.request_id
        rt.finish(call)
        return response

    return handle


async def _count(rt: Runtime, call: Call, request: Request) -> Response:
    token = api_key(request)
    snapshot = await serving_snapshot(request, rt.catalog, rt.box, token)
    call.key, call.workspace = authenticate(request, snapshot, rt.box, token)
    raw = check_object(await read_json(request, rt.settings.max_body_bytes), rt.settings)
    body = chat_body(raw, counting=True)
    check_chat(body, rt.settings)
    call.assistant = assistant = resolve_assistant(snapshot, call.workspace.id, body["model"])
    if call.workspace.log_content:
        capture_request(call, raw, rt.settings.log_content_max_bytes)
    prepare_chat(body, assistant, call.workspace)
    count = await prompt_tokens(rt.tokens, snapshot, assistant, body["messages"], body.get("tools"))
    return json_response({"input_tokens": count})
