"""Kind ``demo``: a scripted echo inside the router, for a first answer without a model server.

It serves one model, ``echo``, whose answer repeats the last user message and says plainly that
no language model ran. Nothing leaves the process: ``base_url`` is required by the provider
form like any other kind's but never contacted. ``junction demo`` sets one up.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from junction.providers.base import DiscoveredModel, Json, Provider

MODEL = "echo"
CONTEXT_LENGTH = 8192
PREFIX = "[demo: no model ran] You said: "
# A stream comes word by word, a little apart, so a client sees it arrive as a real one would.
STREAM_PAUSE_SECONDS = 0.02


class DemoProvider(Provider):
    kind = "demo"

    async def list_models(self) -> list[DiscoveredModel]:
        return [DiscoveredModel(MODEL, CONTEXT_LENGTH)]

    async def chat(self, body: Json) -> Json:
        text = _answer(body)
        return {
            "id": _completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", MODEL),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(body, text),
        }

    async def chat_stream(self, body: Json) -> AsyncIterator[Json]:
        return self._chunks(body)

    async def _chunks(self, body: Json) -> AsyncIterator[Json]:
        text = _answer(body)
        ident, created, model = _completion_id(), int(time.time()), body.get("model", MODEL)

        def chunk(delta: Json, finish: str | None = None, usage: Json | None = None) -> Json:
            choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            event: Json = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [] if usage else choices,
            }
            if usage:
                event["usage"] = usage
            return event

        yield chunk({"role": "assistant", "content": ""})
        words = text.split(" ")
        for i, word in enumerate(words):
            await asyncio.sleep(STREAM_PAUSE_SECONDS)
            yield chunk({"content": word if i == 0 else " " + word})
        yield chunk({}, "stop")
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            yield chunk({}, usage=_usage(body, text))


def _answer(body: Json) -> str:
    messages = body.get("messages")
    said = ""
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                said = _text(message.get("content"))
                break
    return PREFIX + (said.strip() or "(nothing)")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _usage(body: Json, text: str) -> Json:
    """Word counts stand in for tokens: the demo has no tokenizer of its own."""
    messages = body.get("messages")
    prompt = 0
    if isinstance(messages, list):
        prompt = sum(len(_text(m.get("content")).split()) for m in messages if isinstance(m, dict))
    completion = len(text.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion_id() -> str:
    return "chatcmpl-demo-" + uuid.uuid4().hex[:24]
