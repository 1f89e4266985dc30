"""Kind ``openai``: any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, DeepSeek, ...).

``base_url`` is what an OpenAI SDK would take, usually ending in ``/v1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from junction.errors import UpstreamMalformed
from junction.providers.base import (
    DiscoveredModel,
    Json,
    Provider,
    error_from_status,
)
from junction.providers.http import (
    answered_json,
    read_json,
    reading_stream,
    request_json,
    send,
    stream_event,
)
from junction.providers.sse import sse_data
from junction.providers.translate import completion_chunks

# Where OpenAI-compatible servers report a model's context length in /v1/models.
_CONTEXT_FIELDS = ("max_model_len", "context_length", "context_window", "max_context_length")


class OpenAIProvider(Provider):
    kind = "openai"

    def default_headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self.config.headers}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    async def list_models(self) -> list[DiscoveredModel]:
        data = await self._request_json("GET", "/models", None)
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise UpstreamMalformed(
                f"provider '{self.config.name}': /models answered no 'data' list"
            )
        models = []
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                models.append(DiscoveredModel(entry["id"], _context_length(entry)))
        return models

    async def chat(self, body: Json) -> Json:
        data: Json = await self._request_json("POST", "/chat/completions", body)
        return data

    async def embeddings(self, body: Json) -> Json:
        data: Json = await self._request_json("POST", "/embeddings", body)
        return data

    async def chat_stream(self, body: Json) -> AsyncIterator[Json]:
        response = await self._send("POST", "/chat/completions", body)
        return self._chunks(response)

    async def completions(self, body: Json) -> Json:
        data: Json = await self._request_json("POST", "/completions", body)
        return data

    async def completions_stream(self, body: Json) -> AsyncIterator[Json]:
        response = await self._send("POST", "/completions", body)
        return self._chunks(response)

    async def _chunks(self, response: aiohttp.ClientResponse) -> AsyncIterator[Json]:
        config = self.config
        if answered_json(response):  # a plain answer to a stream request: one chunk
            answer = await read_json(config, response)
            if not isinstance(answer, dict) or "choices" not in answer:
                raise UpstreamMalformed(f"provider '{config.name}' answered no stream")
            if answer.get("object") == "chat.completion":
                for chunk in completion_chunks(answer):
                    yield chunk
            else:
                yield answer
            return
        async with reading_stream(config, response):
            async for payload in sse_data(response, config):
                chunk = stream_event(config, payload)
                if not isinstance(chunk, dict):
                    raise UpstreamMalformed(f"provider '{config.name}' sent a non-object event")
                if "error" in chunk and "choices" not in chunk:  # also for /completions
                    raise error_from_status(config, 502, payload.decode(errors="replace"))
                yield chunk

    async def _request_json(self, method: str, path: str, body: Json | None) -> Any:
        return await request_json(self, method, self.config.base_url + path, body)

    async def _send(self, method: str, path: str, body: Json | None) -> aiohttp.ClientResponse:
        return await send(self, method, self.config.base_url + path, body)


def _context_length(entry: dict[str, Any]) -> int | None:
    for name in _CONTEXT_FIELDS:
        value = entry.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
