"""Kind ``openai``: any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, DeepSeek, ...).

``base_url`` is what an OpenAI SDK would take, usually ending in ``/v1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from junction.errors import UpstreamError
from junction.providers.base import (
    DiscoveredModel,
    Json,
    Provider,
    error_from_exception,
    error_from_status,
    read_bounded,
)
from junction.providers.sse import sse_data

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
            raise UpstreamError(f"provider '{self.config.name}': /models answered no 'data' list")
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

    async def _chunks(self, response: aiohttp.ClientResponse) -> AsyncIterator[Json]:
        finished = False
        try:
            async for payload in sse_data(response):
                try:
                    chunk = orjson.loads(payload)
                except orjson.JSONDecodeError:
                    raise UpstreamError(
                        f"provider '{self.config.name}' sent a stream event that is not JSON"
                    ) from None
                if not isinstance(chunk, dict):
                    raise UpstreamError(f"provider '{self.config.name}' sent a non-object event")
                if "error" in chunk and "choices" not in chunk:
                    raise error_from_status(502, payload.decode(errors="replace"))
                yield chunk
            finished = True
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise error_from_exception(self.config.name, exc) from exc
        finally:
            # A stream left early (client gone, error) drops the connection: the upstream stops.
            if finished:
                response.release()
            else:
                response.close()

    async def _request_json(self, method: str, path: str, body: Json | None) -> Any:
        response = await self._send(method, path, body)
        try:
            raw = await read_bounded(response, self.config.name, self.config.read_timeout)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise error_from_exception(self.config.name, exc) from exc
        finally:
            response.release()
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise UpstreamError(
                f"provider '{self.config.name}' answered with a body that is not JSON"
            ) from None

    async def _send(self, method: str, path: str, body: Json | None) -> aiohttp.ClientResponse:
        data = orjson.dumps(body) if body is not None else None
        try:
            response = await self.session.request(method, self.config.base_url + path, data=data)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise error_from_exception(self.config.name, exc) from exc
        if response.status >= 400:
            try:
                text = await response.text(errors="replace")
            except (TimeoutError, aiohttp.ClientError):
                text = ""
            finally:
                response.release()
            raise error_from_status(response.status, text, response.headers.get("Retry-After"))
        return response


def _context_length(entry: dict[str, Any]) -> int | None:
    for name in _CONTEXT_FIELDS:
        value = entry.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
