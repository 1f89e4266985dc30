"""``/v1/completions`` for kind ``ollama``: legacy text completions through ``/api/generate``.

``prompt`` (a string, or a list of one string) and ``suffix`` pass on; sampling parameters map
as for chat (``ollama.ollama_options``). The prompt is continued as is (``raw: true``, no chat
template), which is what a text completion means; a request may send ``raw: false`` to have
the model's template applied. ``think`` and ``keep_alive`` pass through. Answers become
``text_completion`` objects; NDJSON streams become completion chunks; usage from
``prompt_eval_count`` / ``eval_count``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from junction.errors import InvalidRequest, UpstreamError
from junction.providers.base import Json, ProviderConfig, upstream_detail
from junction.providers.http import reading_stream, stream_event
from junction.providers.sse import ndjson_lines
from junction.providers.translate import new_id, usage


def to_generate(body: Json, stream: bool, options: Json) -> Json:
    """``options``: the request's sampling parameters, mapped as for chat."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise InvalidRequest(
            "Ollama completes one text prompt: 'prompt' must be a string.", param="prompt"
        )
    request: Json = {"model": body["model"], "prompt": prompt, "stream": stream, "raw": True}
    for name in ("suffix", "raw", "think", "keep_alive"):
        if body.get(name) is not None:
            request[name] = body[name]
    if options:
        request["options"] = options
    return request


def _choice(text: str, finish: str | None) -> Json:
    return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}


def _finish(data: Json) -> str:
    return "length" if data.get("done_reason") == "length" else "stop"


def _counts(data: Json) -> tuple[int, int]:
    prompt, output = data.get("prompt_eval_count"), data.get("eval_count")
    return (
        prompt if isinstance(prompt, int) else 0,
        output if isinstance(output, int) else 0,
    )


def from_generate(data: Json, model: str) -> Json:
    return {
        "id": new_id("cmpl-"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [_choice(str(data.get("response") or ""), _finish(data))],
        "usage": usage(*_counts(data)),
    }


async def generate_chunks(
    config: ProviderConfig, response: aiohttp.ClientResponse, model: str
) -> AsyncIterator[Json]:
    base: dict[str, Any] = {"id": new_id("cmpl-"), "object": "text_completion", "model": model}
    async with reading_stream(config, response):
        async for line in ndjson_lines(response, config):
            data = stream_event(config, line)
            if not isinstance(data, dict):
                continue
            if "error" in data:
                raise UpstreamError(
                    f"provider '{config.name}' broke off the stream",
                    detail=upstream_detail(config, str(data["error"])),
                )
            created = int(time.time())
            if data.get("response"):
                yield {**base, "created": created, "choices": [_choice(data["response"], None)]}
            if data.get("done"):
                yield {**base, "created": created, "choices": [_choice("", _finish(data))]}
                yield {**base, "created": created, "choices": [], "usage": usage(*_counts(data))}
                break
