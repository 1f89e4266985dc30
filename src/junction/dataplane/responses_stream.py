"""``POST /v1/responses`` with ``stream: true``: chat chunks re-told as Responses events.

``response.created`` and ``response.in_progress`` open the stream; text arrives as
``response.output_text.delta`` inside a message item (``output_item.added`` /
``content_part.added`` ... ``.done``); tool calls follow as whole ``function_call`` items; the
stream ends with ``response.completed`` (``response.incomplete`` when cut by the length limit)
carrying the whole Response. An upstream failure after the start is an ``error`` event.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import orjson

from junction.core.types import Json
from junction.dataplane.responses_wire import response_object
from junction.errors import JunctionError
from junction.pipeline.accumulator import StreamAccumulator
from junction.pipeline.door import StreamEncoder


class ResponsesEncoder(StreamEncoder):
    """Frames the internal chat chunks as Responses events, numbered in order."""

    def __init__(
        self,
        model: str,
        response_id: str,
        wanted: Json,
        store: bool,
        created: int,
        keep: Callable[[Json, StreamAccumulator], None] | None = None,
    ) -> None:
        super().__init__(wants_usage=False)
        self.keep = keep  # given the final Response and the stream, to store the turn
        self.sequence = 0
        self.model = model
        self.response_id = response_id
        self.wanted = wanted
        self.store = store
        self.created = created  # the router's clock
        self.message_id = "msg_" + os.urandom(12).hex()
        self.text: list[str] = []
        self.finish: str | None = None

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    def _skeleton(self) -> Json:
        answer = {"choices": [], "model": self.model}
        skeleton = response_object(answer, self.response_id, self.wanted, self.store, self.created)
        skeleton.update(status="in_progress", completed_at=None)
        del skeleton["usage"]
        return skeleton

    def start(self) -> list[bytes]:
        skeleton = self._skeleton()
        return [
            self._event("response.created", response=skeleton),
            self._event("response.in_progress", response=skeleton),
        ]

    def chunk(self, chunk: Json) -> bytes | None:
        events: list[bytes] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            self.finish = choice.get("finish_reason") or self.finish
            delta = choice.get("delta") or {}
            piece = delta.get("content")
            if isinstance(piece, str) and piece:
                if not self.text:
                    events.append(
                        self._event(
                            "response.output_item.added",
                            output_index=0,
                            item=_message(self.message_id, "", "in_progress"),
                        )
                    )
                    events.append(
                        self._event(
                            "response.content_part.added",
                            item_id=self.message_id,
                            output_index=0,
                            content_index=0,
                            part=_part(""),
                        )
                    )
                self.text.append(piece)
                events.append(
                    self._event(
                        "response.output_text.delta",
                        item_id=self.message_id,
                        output_index=0,
                        content_index=0,
                        delta=piece,
                        logprobs=[],
                    )
                )
        return b"".join(events) if events else None

    def end(self, acc: StreamAccumulator) -> list[bytes]:
        events: list[bytes] = []
        output: list[Json] = []
        if self.text:
            whole = "".join(self.text)
            ids = {"item_id": self.message_id, "output_index": 0, "content_index": 0}
            events.append(self._event("response.output_text.done", **ids, text=whole, logprobs=[]))
            events.append(self._event("response.content_part.done", **ids, part=_part(whole)))
            output.append(_message(self.message_id, whole, "completed"))
            events.append(self._event("response.output_item.done", output_index=0, item=output[-1]))
        for call in acc.tool_calls:  # the stream accumulator merged the deltas
            item = _function_call(call)
            position = len(output)
            events.append(
                self._event(
                    "response.output_item.added",
                    output_index=position,
                    item={**item, "arguments": "", "status": "in_progress"},
                )
            )
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=position,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
            output.append(item)
            events.append(
                self._event("response.output_item.done", output_index=position, item=item)
            )
        answer: Json = {
            "choices": [{"message": {}, "finish_reason": self.finish}],
            "model": self.model,
            "usage": acc.usage,
        }
        final = response_object(answer, self.response_id, self.wanted, self.store, self.created)
        final["output"] = output
        if self.keep is not None:
            self.keep(final, acc)
        kind = "response.incomplete" if self.finish == "length" else "response.completed"
        events.append(self._event(kind, response=final))
        return events

    def error(self, error: JunctionError) -> bytes:
        body = error.body()["error"]
        return self._event(
            "error", code=body["code"], message=body["message"], param=body["param"], error=body
        )


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


def _function_call(call: Json) -> Json:
    """A chat tool call (as the stream accumulator rebuilt it) as a Responses output item."""
    function = call["function"]
    return {
        "type": "function_call",
        "id": "fc_" + os.urandom(12).hex(),
        "call_id": call["id"] or "",
        "name": function["name"],
        "arguments": function["arguments"],
        "status": "completed",
    }
