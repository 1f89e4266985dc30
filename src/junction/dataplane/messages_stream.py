"""Chat-completion chunks re-told as the Messages API's stream events, chunk by chunk.

``MessageStream`` is fed each (normalized) chunk as it arrives and answers the SSE bytes to
send: ``message_start`` and one ``ping`` before anything else; then content blocks, each
``content_block_start`` / ``content_block_delta``… / ``content_block_stop`` — ``thinking``
(``thinking_delta``, from ``reasoning_content``; ``signature_delta`` from an anthropic
upstream's ``thinking_signature``), ``text`` (``text_delta``) and one
``tool_use`` block per tool call (``input_json_delta`` with the argument pieces as they come);
``finish()`` closes the open block and sends ``message_delta`` (``stop_reason``,
``stop_sequence``, usage) and ``message_stop``. ``error()`` is the ``error`` event for a failure
after the stream started.

Blocks are sequential, as Anthropic's are: a block of another kind closes the open one. Usage:
``message_start`` carries the prompt count known before the call (the router's count, 0 if
none); ``message_delta`` carries the upstream's final ``input_tokens`` and ``output_tokens``.
"""

from __future__ import annotations

from typing import Any

import orjson

from junction.dataplane.messages_answer import error_body, obj, stop_reason
from junction.errors import JunctionError

Json = dict[str, Any]


def event(kind: str, data: Json) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


PING = event("ping", {})


class MessageStream:
    def __init__(
        self, message_id: str, model: str, input_tokens: int = 0, stops: object = None
    ) -> None:
        self.message_id = message_id
        self.model = model
        self.input_tokens = input_tokens
        self.output_tokens = 0
        self.stops = stops
        self.started = False
        self.finished = False
        self.blocks = 0  # blocks opened so far
        self.open: tuple[str, int] | None = None  # (kind, tool index or -1) of the open block
        self.tools: dict[int, int] = {}  # chat tool-call index -> block index
        self.finish_reason: str | None = None
        self.choice: Json = {}

    def start(self) -> bytes:
        """``message_start`` and a ``ping`` (once)."""
        if self.started:
            return b""
        self.started = True
        message: Json = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 0},
        }
        return event("message_start", {"message": message}) + PING

    def feed(self, chunk: Json) -> bytes:
        out = [self.start()]
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
            if isinstance(prompt, int):
                self.input_tokens = prompt
            if isinstance(completion, int):
                self.output_tokens = completion
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                out.append(self._delta(delta))
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                self.choice = choice
        return b"".join(out)

    def _delta(self, delta: Json) -> bytes:
        out: list[bytes] = []
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            out.append(
                self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            )
            out.append(self._block_delta({"type": "thinking_delta", "thinking": reasoning}))
        signature = delta.get("thinking_signature")
        if isinstance(signature, str) and signature:  # an anthropic upstream's, for the block
            out.append(
                self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            )
            out.append(self._block_delta({"type": "signature_delta", "signature": signature}))
        text = delta.get("content")
        if isinstance(text, str) and text:
            out.append(self._open("text", {"type": "text", "text": ""}))
            out.append(self._block_delta({"type": "text_delta", "text": text}))
        for piece in delta.get("tool_calls") or ():
            if isinstance(piece, dict):
                out.append(self._tool_piece(piece))
        return b"".join(out)

    def _tool_piece(self, piece: Json) -> bytes:
        index = piece.get("index", 0)
        index = index if isinstance(index, int) else 0
        function = obj(piece.get("function"))
        arguments = function.get("arguments")
        out: list[bytes] = []
        if index not in self.tools:
            out.append(self._close())
            self.tools[index] = self.blocks
            block: Json = {
                "type": "tool_use",
                "id": piece.get("id") or f"toolu_{self.message_id[4:]}_{index}",
                "name": function.get("name") or "",
                "input": {},
            }
            out.append(self._start_block(("tool_use", index), block))
        if isinstance(arguments, str) and arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            # A piece of a call whose block was closed still names that block's index.
            out.append(self._block_delta(delta, self.tools[index]))
        return b"".join(out)

    def _open(self, kind: str, block: Json) -> bytes:
        if self.open is not None and self.open[0] == kind:
            return b""
        return self._close() + self._start_block((kind, -1), block)

    def _start_block(self, which: tuple[str, int], block: Json) -> bytes:
        self.open = which
        self.blocks += 1
        return event("content_block_start", {"index": self.blocks - 1, "content_block": block})

    def _block_delta(self, delta: Json, index: int | None = None) -> bytes:
        where = self.blocks - 1 if index is None else index
        return event("content_block_delta", {"index": where, "delta": delta})

    def _close(self) -> bytes:
        if self.open is None:
            return b""
        self.open = None
        return event("content_block_stop", {"index": self.blocks - 1})

    def finish(self) -> bytes:
        """Close the stream: the open block, ``message_delta`` and ``message_stop``."""
        if self.finished:
            return b""
        self.finished = True
        reason, sequence = stop_reason(self.finish_reason or "stop", self.choice, self.stops)
        usage = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        return (
            self.start()
            + self._close()
            + event(
                "message_delta",
                {"delta": {"stop_reason": reason, "stop_sequence": sequence}, "usage": usage},
            )
            + event("message_stop", {})
        )

    def error(self, error: JunctionError) -> bytes:
        """The ``error`` event that ends a stream that failed after it started."""
        self.finished = True
        return self.start() + event("error", {"error": error_body(error)["error"]})
