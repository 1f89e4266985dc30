"""The one record of a streamed answer that every consumer reads.

It is fed each chunk as the upstream sent it (normalized, before any reasoning is stripped
for the client) and keeps the first choice's text, reasoning, refusal, tool calls and finish
reason, the usage if the upstream sent one, and how many chunks passed. History stores the
``message()`` (stripped when the assistant strips thinking), the quality gate scores
``answer()``, the content log keeps ``content``, Responses builds its final object from it, and
metering counts ``generated_text()`` when the upstream's usage never arrives.
"""

from __future__ import annotations

from typing import Any

from junction.core.types import Json


class StreamAccumulator:
    __slots__ = ("_content", "_reasoning", "_refusal", "_tools", "chunks", "finish_reason", "usage")

    def __init__(self) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._tools: dict[int, Json] = {}
        self.finish_reason: str | None = None
        self.usage: Json | None = None
        self.chunks = 0

    def feed(self, chunk: Json) -> None:
        self.chunks += 1
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
            text = choice.get("text")  # /v1/completions
            if isinstance(text, str):
                self._content.append(text)
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._delta(delta)

    def _delta(self, delta: Json) -> None:
        for name, parts in (
            ("content", self._content),
            ("reasoning_content", self._reasoning),
            ("refusal", self._refusal),
        ):
            value = delta.get(name)
            if isinstance(value, str):
                parts.append(value)
        pieces = delta.get("tool_calls")
        if not isinstance(pieces, list):
            return
        for piece in pieces:
            if not isinstance(piece, dict):
                continue
            index = piece.get("index", 0)
            call = self._tools.setdefault(
                index if isinstance(index, int) else 0,
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if piece.get("id"):
                call["id"] = piece["id"]
            function = piece.get("function")
            if isinstance(function, dict):
                for part in ("name", "arguments"):
                    if isinstance(function.get(part), str):
                        call["function"][part] += function[part]

    @property
    def content(self) -> str:
        return "".join(self._content)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    @property
    def tool_calls(self) -> list[Json]:
        return [self._tools[i] for i in sorted(self._tools)]

    def message(self) -> Json:
        """The assistant message as a non-streamed answer would carry it."""
        message: Json = {"role": "assistant", "content": self.content if self._content else None}
        if self._reasoning:
            message["reasoning_content"] = self.reasoning
        if self._refusal:
            message["refusal"] = "".join(self._refusal)
        if self._tools:
            message["tool_calls"] = self.tool_calls
        return message

    def answer(self, message: Json | None = None) -> Json:
        """The stream as one chat completion (for scoring and for Responses' final object)."""
        body: dict[str, Any] = {
            "choices": [
                {
                    "index": 0,
                    "message": message if message is not None else self.message(),
                    "finish_reason": self.finish_reason,
                }
            ]
        }
        if self.usage is not None:
            body["usage"] = self.usage
        return body

    def generated_text(self) -> list[str]:
        """Every text the upstream generated, for counting when it sent no usage."""
        texts = ["".join(self._content), "".join(self._reasoning), "".join(self._refusal)]
        for call in self._tools.values():
            texts.extend((call["function"]["name"], call["function"]["arguments"]))
        return texts
