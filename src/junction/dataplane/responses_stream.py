"""``POST /v1/responses`` with ``stream: true``: chat chunks re-told as Responses events.

``response.created`` and ``response.in_progress`` open the stream; text arrives as
``response.output_text.delta`` inside a message item (``output_item.added`` /
``content_part.added`` ... ``.done``); tool calls follow as whole ``function_call`` items; the
stream ends with ``response.completed`` (``response.incomplete`` when cut by the length limit)
carrying the whole Response. An upstream failure after the start is an ``error`` event.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import Response

from junction.core.call import Call
from junction.dataplane.chat import routing_headers
from junction.dataplane.responses_wire import response_object
from junction.dataplane.streaming import EventStreamResponse
from junction.dataplane.wire import completion_id, normalize_chunk
from junction.errors import JunctionError
from junction.frontdoors.responses_api import keep
from junction.history.flow import ChatTurn
from junction.routing.resolve import Deployment
from junction.runtime import Runtime

Json = dict[str, Any]


class _Events:
    """Numbers and encodes the events of one stream."""

    def __init__(self) -> None:
        self.sequence = 0

    def __call__(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


async def stream_response(
    rt: Runtime,
    call: Call,
    body: Json,
    turn: ChatTurn,
    wanted: Json,
    response_id: str,
    store: bool,
    items: list[Json],
) -> Response:
    assert call.assistant is not None
    assistant = call.assistant
    given = body.get("stream_options")
    body["stream"] = True
    body["stream_options"] = {**(given if isinstance(given, dict) else {}), "include_usage": True}

    async def attempt(target: Deployment) -> AsyncIterator[Json]:
        return await target.provider.client.chat_stream({**body, "model": target.model})

    chunks, outcome = await rt.router.call(rt.catalog.snapshot, assistant, attempt)
    headers = {**routing_headers(call, outcome), "x-request-id": call.request_id}
    call.stream = True
    rt.router.enter(outcome.deployment.ref)
    created = int(call.created_at)
    skeleton = response_object(
        {"choices": [], "model": assistant.name}, response_id, wanted, store, created
    )
    finished: list[Json] = []  # the final Response, once sent
    skeleton.update(status="in_progress", completed_at=None)
    del skeleton["usage"]

    async def events() -> AsyncIterator[bytes]:
        event = _Events()
        message_id = "msg_" + os.urandom(12).hex()
        text: list[str] = []
        calls: dict[int, Json] = {}
        finish: str | None = None
        usage: Json | None = None
        yield event("response.created", response=skeleton)
        yield event("response.in_progress", response=skeleton)
        try:
            async for chunk in chunks:
                normalize_chunk(chunk, assistant.name, completion_id(call.request_id))
                turn.chunk(chunk)
                if isinstance(chunk.get("usage"), dict):
                    usage = chunk["usage"]
                    call.record_usage(usage)
                for choice in chunk["choices"]:
                    if choice.get("index", 0) != 0:
                        continue
                    finish = choice.get("finish_reason") or finish
                    delta = choice.get("delta") or {}
                    piece = delta.get("content")
                    if isinstance(piece, str) and piece:
                        if call.first_token_at is None:
                            call.first_token_at = time.perf_counter()
                        if not text:
                            yield event(
                                "response.output_item.added",
                                output_index=0,
                                item=_message(message_id, "", "in_progress"),
                            )
                            yield event(
                                "response.content_part.added",
                                item_id=message_id,
                                output_index=0,
                                content_index=0,
                                part=_part(""),
                            )
                        text.append(piece)
                        yield event(
                            "response.output_text.delta",
                            item_id=message_id,
                            output_index=0,
                            content_index=0,
                            delta=piece,
                            logprobs=[],
                        )
                    _merge_tool_calls(calls, delta.get("tool_calls"))
            output: list[Json] = []
            if text:
                whole = "".join(text)
                yield event(
                    "response.output_text.done",
                    item_id=message_id,
                    output_index=0,
                    content_index=0,
                    text=whole,
                    logprobs=[],
                )
                yield event(
                    "response.content_part.done",
                    item_id=message_id,
                    output_index=0,
                    content_index=0,
                    part=_part(whole),
                )
                output.append(_message(message_id, whole, "completed"))
                yield event("response.output_item.done", output_index=0, item=output[-1])
            for index in sorted(calls):
                item = calls[index]
                position = len(output)
                yield event(
                    "response.output_item.added",
                    output_index=position,
                    item={**item, "arguments": "", "status": "in_progress"},
                )
                yield event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=position,
                    name=item["name"],
                    arguments=item["arguments"],
                )
                output.append(item)
                yield event("response.output_item.done", output_index=position, item=item)
            answer = {
                "choices": [{"message": {}, "finish_reason": finish}],
                "model": assistant.name,
                "created": created,
                "usage": usage,
            }
            final = response_object(answer, response_id, wanted, store, created)
            final["output"] = output
            finished.append(final)
            kind = "response.incomplete" if finish == "length" else "response.completed"
            yield event(kind, response=final)
        except JunctionError as error:
            call.record_error(error)
            body = error.body()["error"]
            yield event(
                "error", code=body["code"], message=body["message"], param=body["param"], error=body
            )

    async def done(completed: bool) -> None:
        rt.router.leave(outcome.deployment.ref)
        await chunks.aclose()  # type: ignore[attr-defined]
        call.cut_off = not completed or call.error is not None
        stored = turn.stream_ended(not call.cut_off)
        if finished:
            keep(stored, finished[0], items)
        rt.finish(call)

    return EventStreamResponse(events(), headers, done)


def _message(message_id: str, text: str, status: str) -> Json:
    content = [_part(text)] if status == "completed" else []
    return {
        "type": "message",
        "id": message_id,
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _part(text: str) -> Json:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _merge_tool_calls(calls: dict[int, Json], pieces: object) -> None:
    if not isinstance(pieces, list):
        return
    for piece in pieces:
        if not isinstance(piece, dict):
            continue
        index = piece.get("index", 0)
        item = calls.setdefault(
            index if isinstance(index, int) else 0,
            {
                "type": "function_call",
                "id": "fc_" + os.urandom(12).hex(),
                "call_id": "",
                "name": "",
                "arguments": "",
                "status": "completed",
            },
        )
        if piece.get("id"):
            item["call_id"] = piece["id"]
        function = piece.get("function")
        if isinstance(function, dict):
            for part in ("name", "arguments"):
                if isinstance(function.get(part), str):
                    item[part] += function[part]
