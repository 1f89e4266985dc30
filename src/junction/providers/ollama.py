"""Kind ``ollama``: Ollama's native API (``/api/tags``, ``/api/show``, ``/api/chat``,
``/api/embed``), translated to and from OpenAI's format.

``base_url`` is the server's root, e.g. ``http://127.0.0.1:11434`` (a trailing ``/v1`` or
``/api`` is dropped). Models come from ``/api/tags``; a model's context length is the
``num_ctx`` its Modelfile sets, else ``<architecture>.context_length`` from ``/api/show``.

Request mapping: ``temperature``, ``top_p``, ``seed``, ``stop``, ``frequency_penalty``,
``presence_penalty`` go to ``options`` under the same names; ``max_completion_tokens`` /
``max_tokens`` to ``options.num_predict``; a client's own ``options`` object is merged in
(for ``top_k``, ``num_ctx``, ...). ``response_format`` json_object becomes ``format: "json"``,
json_schema becomes ``format: <schema>``. ``keep_alive`` passes through. Images must be
``data:`` URLs (Ollama takes inline base64 only). Tools and tool calls translate both ways
(Ollama's arguments are objects; OpenAI's are JSON strings; tool results name their tool).

Thinking: a request's ``think`` passes through; otherwise ``chat_template_kwargs``
``{"enable_thinking": false}`` (what the router sends to switch thinking off, for an
assistant's ``disable_think`` switch) becomes ``think: false``, and ``true`` becomes
``think: true``. Ollama's ``message.thinking`` comes back as ``reasoning_content``.

``/v1/completions`` goes to ``/api/generate`` (``ollama_generate.py``).

Answers: ``done_reason`` ``length`` → ``finish_reason`` ``length``; tool calls → ``tool_calls``;
else ``stop``. Usage: ``prompt_eval_count`` → prompt tokens, ``eval_count`` → completion tokens.
Streams are NDJSON, turned into ``chat.completion.chunk`` events as each line arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from junction.errors import InvalidRequest, JunctionError, UpstreamError, UpstreamMalformed
from junction.providers.base import DiscoveredModel, Json, Provider, upstream_detail
from junction.providers.http import reading_stream, request_json, send, stream_event
from junction.providers.ollama_generate import from_generate, generate_chunks, to_generate
from junction.providers.sse import ndjson_lines
from junction.providers.translate import (
    chunk,
    completion,
    image_urls,
    max_tokens_of,
    new_id,
    split_data_url,
    stop_list,
    text_of,
    usage_chunk,
)

_SAME_NAME_OPTIONS = (
    "temperature",
    "top_p",
    "seed",
    "frequency_penalty",
    "presence_penalty",
)


class OllamaProvider(Provider):
    kind = "ollama"

    @property
    def root(self) -> str:
        url = self.config.base_url.rstrip("/")
        for suffix in ("/v1", "/api"):
            url = url.removesuffix(suffix)
        return url

    def default_headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self.config.headers}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    async def list_models(self) -> list[DiscoveredModel]:
        data = await request_json(self, "GET", self.root + "/api/tags", None)
        entries = data.get("models") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise UpstreamMalformed(f"provider '{self.config.name}': /api/tags listed no 'models'")
        names: list[str] = []
        for entry in entries:
            name = entry.get("name") or entry.get("model") if isinstance(entry, dict) else None
            if isinstance(name, str):
                names.append(name)
        lengths = await asyncio.gather(*(self._context_length(n) for n in names))
        return [DiscoveredModel(n, length) for n, length in zip(names, lengths, strict=True)]

    async def probe(self) -> None:
        await request_json(self, "GET", self.root + "/api/tags", None)

    async def _context_length(self, name: str) -> int | None:
        try:
            data = await request_json(self, "POST", self.root + "/api/show", {"model": name})
        except JunctionError:  # a model /api/show cannot describe still counts, length unknown
            return None
        return context_length(data) if isinstance(data, dict) else None

    async def chat(self, body: Json) -> Json:
        data = await request_json(self, "POST", self.root + "/api/chat", to_ollama(body, False))
        if not isinstance(data, dict):
            raise UpstreamMalformed(f"provider '{self.config.name}' answered a non-object")
        return from_ollama(data, body["model"])

    async def chat_stream(self, body: Json) -> AsyncIterator[Json]:
        response = await send(self, "POST", self.root + "/api/chat", to_ollama(body, True))
        return self._chunks(response, body["model"])

    async def _chunks(self, response: aiohttp.ClientResponse, model: str) -> AsyncIterator[Json]:
        chunk_id = new_id("chatcmpl-")
        tool_index = 0
        role: Json = {"role": "assistant"}  # goes with the first event, once data has come
        config = self.config
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
                message = data.get("message") or {}
                delta: Json = {}
                if message.get("content"):
                    delta["content"] = message["content"]
                if message.get("thinking"):
                    delta["reasoning_content"] = message["thinking"]
                calls = _tool_calls(message.get("tool_calls"))
                if calls:
                    for call in calls:
                        call["index"] = tool_index
                        tool_index += 1
                    delta["tool_calls"] = calls
                if delta:
                    yield chunk(chunk_id, model, {**role, **delta})
                    role = {}
                if data.get("done"):
                    yield chunk(chunk_id, model, role, _finish_reason(data, tool_index > 0))
                    prompt, output = data.get("prompt_eval_count"), data.get("eval_count")
                    yield usage_chunk(chunk_id, model, _int(prompt), _int(output))
                    break

    async def completions(self, body: Json) -> Json:
        request = to_generate(body, False, ollama_options(body))
        data = await request_json(self, "POST", self.root + "/api/generate", request)
        if not isinstance(data, dict):
            raise UpstreamMalformed(f"provider '{self.config.name}' answered a non-object")
        return from_generate(data, body["model"])

    async def completions_stream(self, body: Json) -> AsyncIterator[Json]:
        request = to_generate(body, True, ollama_options(body))
        response = await send(self, "POST", self.root + "/api/generate", request)
        return generate_chunks(self.config, response, body["model"])

    async def embeddings(self, body: Json) -> Json:
        given = body.get("input")
        if isinstance(given, str) or (
            isinstance(given, list) and all(isinstance(x, str) for x in given)
        ):
            inputs = given
        else:
            raise InvalidRequest(
                "Ollama embeds text only: 'input' must be a string or a list of strings.",
                param="input",
            )
        request: Json = {"model": body["model"], "input": inputs}
        for name in ("dimensions", "keep_alive", "truncate", "options"):
            if name in body:
                request[name] = body[name]
        data = await request_json(self, "POST", self.root + "/api/embed", request)
        vectors = data.get("embeddings") if isinstance(data, dict) else None
        if not isinstance(vectors, list):
            raise UpstreamMalformed(
                f"provider '{self.config.name}': /api/embed gave no 'embeddings'"
            )
        prompt = _int(data.get("prompt_eval_count"))
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
            ],
            "model": body["model"],
            "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
        }


def context_length(show: Json) -> int | None:
    parameters = show.get("parameters")
    if isinstance(parameters, str):
        for line in parameters.splitlines():
            name, _, value = line.strip().partition(" ")
            if name == "num_ctx" and value.strip().isdigit():
                return int(value.strip())
    info = show.get("model_info")
    if isinstance(info, dict):
        for key, value in info.items():
            if key.endswith(".context_length") and isinstance(value, int) and value > 0:
                return value
    return None


def ollama_options(body: Json) -> Json:
    """OpenAI sampling parameters as Ollama ``options`` (a client's own ``options`` win)."""
    options: Json = {}
    for name in _SAME_NAME_OPTIONS:
        if body.get(name) is not None:
            options[name] = body[name]
    limit = max_tokens_of(body)
    if limit is not None:
        options["num_predict"] = limit
    stop = stop_list(body.get("stop"))
    if stop:
        options["stop"] = stop
    if isinstance(body.get("options"), dict):
        options.update(body["options"])
    return options


def to_ollama(body: Json, stream: bool) -> Json:
    """An OpenAI chat request as an ``/api/chat`` request."""
    request: Json = {
        "model": body["model"],
        "messages": _messages(body.get("messages") or []),
        "stream": stream,
    }
    options = ollama_options(body)
    if options:
        request["options"] = options
    fmt = body.get("response_format")
    if isinstance(fmt, dict):
        if fmt.get("type") == "json_object":
            request["format"] = "json"
        elif fmt.get("type") == "json_schema":
            spec = fmt.get("json_schema")
            schema = spec.get("schema") if isinstance(spec, dict) else None
            request["format"] = schema if isinstance(schema, dict) else "json"
    if isinstance(body.get("tools"), list) and body["tools"]:
        request["tools"] = body["tools"]
    think = body.get("think")
    if isinstance(think, bool | str):
        request["think"] = think
    else:
        kwargs = body.get("chat_template_kwargs")
        enabled = kwargs.get("enable_thinking") if isinstance(kwargs, dict) else None
        if isinstance(enabled, bool):
            request["think"] = enabled
    if "keep_alive" in body:
        request["keep_alive"] = body["keep_alive"]
    return request


def _messages(messages: list[Any]) -> list[Json]:
    names: dict[str, str] = {}  # tool_call_id -> function name, for tool results
    out: list[Json] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        role = "system" if role == "developer" else role
        entry: Json = {"role": role, "content": text_of(content)}
        images = []
        for url in image_urls(content):
            inline = split_data_url(url)
            if inline is None:
                raise InvalidRequest(
                    "Ollama takes images inline only: send them as base64 data: URLs.",
                    param="messages",
                )
            images.append(inline[1])
        if images:
            entry["images"] = images
        calls = message.get("tool_calls")
        if role == "assistant" and isinstance(calls, list):
            entry["tool_calls"] = []
            for call in calls:
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict):
                    continue
                names[str(call.get("id"))] = str(function.get("name"))
                entry["tool_calls"].append(
                    {"function": {"name": function.get("name"), "arguments": _args(function)}}
                )
        if role == "tool":
            name = names.get(str(message.get("tool_call_id"))) or message.get("name")
            if name:
                entry["tool_name"] = name
        out.append(entry)
    return out


def _args(function: Json) -> Any:
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            return orjson.loads(arguments) if arguments.strip() else {}
        except orjson.JSONDecodeError:
            return arguments
    return arguments if arguments is not None else {}


def _tool_calls(calls: object) -> list[Json]:
    out = []
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        arguments = function.get("arguments")
        out.append(
            {
                "id": call.get("id") or new_id("call_"),
                "type": "function",
                "function": {
                    "name": function.get("name"),
                    "arguments": arguments
                    if isinstance(arguments, str)
                    else orjson.dumps(arguments if arguments is not None else {}).decode(),
                },
            }
        )
    return out


def from_ollama(data: Json, model: str) -> Json:
    message = data.get("message") or {}
    calls = _tool_calls(message.get("tool_calls"))
    content = message.get("content")
    out: Json = {
        "role": "assistant",
        "content": content if content or not calls else None,
        "refusal": None,
    }
    if message.get("thinking"):
        out["reasoning_content"] = message["thinking"]
    if calls:
        out["tool_calls"] = calls
    return completion(
        model,
        out,
        _finish_reason(data, bool(calls)),
        _int(data.get("prompt_eval_count")),
        _int(data.get("eval_count")),
    )


def _finish_reason(data: Json, called: bool) -> str:
    if called:
        return "tool_calls"
    return "length" if data.get("done_reason") == "length" else "stop"


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
