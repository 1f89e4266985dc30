"""Kind ``anthropic``: the Messages API (``POST /v1/messages``), translated both ways.

``base_url`` is the API root, e.g. ``https://api.anthropic.com`` (``/v1`` is added unless it
is there). The key goes in ``x-api-key`` with ``anthropic-version: 2023-06-01``; models come
from ``GET /v1/models`` (no context length is reported there: set it by hand if needed).

Request: system and developer messages become ``system`` (joined by blank lines); text and
image parts become ``text`` and ``image`` blocks (``data:`` URLs as base64 sources, other URLs
as url sources); an assistant's ``tool_calls`` become ``tool_use`` blocks; ``tool`` messages
become ``tool_result`` blocks in a user turn; consecutive turns of one role are merged.
``max_completion_tokens`` / ``max_tokens`` → ``max_tokens`` (required there: 4096 when the
request has none); ``temperature`` is capped at 1 (Anthropic's range is 0-1); ``top_p``;
``stop`` → ``stop_sequences``; ``tools`` → ``name``/``description``/``input_schema``;
``tool_choice`` auto/required/none/function → auto/any/none/tool, with
``parallel_tool_calls: false`` → ``disable_parallel_tool_use``; ``user`` →
``metadata.user_id``; ``top_k`` and ``thinking`` pass through. Other OpenAI fields have no
Messages counterpart and are left out (the API refuses unknown fields); ``response_format``
is among them.

Signed thinking: an assistant message's ``thinking_blocks`` (``thinking`` with ``signature``,
``redacted_thinking`` with ``data``, as an answer carried them) go back first in its turn, as
the API requires when thinking is on; answers carry them the same way (streams: the
``thinking_signature`` delta field).

Answer: text blocks → ``content``; ``thinking`` blocks → ``reasoning_content``; ``tool_use`` →
``tool_calls`` (arguments as a JSON string). ``stop_reason``: end_turn, stop_sequence,
pause_turn → stop; max_tokens → length; tool_use → tool_calls; refusal → content_filter. The
stop sequence that ended an answer is the choice's ``stop_reason`` (the field vLLM uses).
Usage: prompt tokens = input + cache creation + cache read tokens; completion = output tokens.
Streams: ``message_start`` / ``content_block_*`` / ``message_delta`` / ``message_stop`` events
become ``chat.completion.chunk`` events as they arrive; an ``error`` event ends the stream
with that error.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from junction.errors import UpstreamMalformed
from junction.providers.anthropic_stream import STOP_REASONS, StreamTranslator, message_usage
from junction.providers.base import DiscoveredModel, Json, Provider
from junction.providers.http import (
    answered_json,
    read_json,
    reading_stream,
    request_json,
    send,
    stream_event,
)
from junction.providers.sse import sse_data
from junction.providers.translate import (
    completion_chunks,
    image_urls,
    max_tokens_of,
    new_id,
    split_data_url,
    stop_list,
    text_of,
    usage,
)

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096


class AnthropicProvider(Provider):
    kind = "anthropic"

    @property
    def api(self) -> str:
        url = self.config.base_url.rstrip("/")
        return url if url.endswith("/v1") else url + "/v1"

    def default_headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "anthropic-version": API_VERSION,
            **self.config.headers,
        }
        if self.config.api_key:
            headers["x-api-key"] = self.config.api_key
        return headers

    async def list_models(self) -> list[DiscoveredModel]:
        models: list[DiscoveredModel] = []
        after: str | None = None
        for _ in range(50):  # pages of 1000; a bound, not a real limit
            query = "?limit=1000" + (f"&after_id={after}" if after else "")
            data = await request_json(self, "GET", self.api + "/models" + query, None)
            entries = data.get("data") if isinstance(data, dict) else None
            if not isinstance(entries, list):
                raise UpstreamMalformed(
                    f"provider '{self.config.name}': /models answered no 'data'"
                )
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    window = entry.get("max_input_tokens")  # reported by newer API versions
                    length = window if isinstance(window, int) and window > 0 else None
                    models.append(DiscoveredModel(entry["id"], length))
            after = data.get("last_id")
            if not data.get("has_more") or not isinstance(after, str):
                break
        return models

    async def chat(self, body: Json) -> Json:
        data = await request_json(self, "POST", self.api + "/messages", to_messages(body, False))
        if not isinstance(data, dict):
            raise UpstreamMalformed(f"provider '{self.config.name}' answered a non-object")
        return from_message(data, body["model"])

    async def chat_stream(self, body: Json) -> AsyncIterator[Json]:
        response = await send(self, "POST", self.api + "/messages", to_messages(body, True))
        return self._chunks(response, body["model"])

    async def _chunks(self, response: aiohttp.ClientResponse, model: str) -> AsyncIterator[Json]:
        config = self.config
        if answered_json(response):  # a plain message to a stream request: one chunk
            data = await read_json(config, response)
            if not isinstance(data, dict) or data.get("type") != "message":
                raise UpstreamMalformed(f"provider '{config.name}' answered no stream")
            for chunk in completion_chunks(from_message(data, model)):
                yield chunk
            return
        translator = StreamTranslator(model, config)
        async with reading_stream(config, response):
            async for payload in sse_data(response, config):
                event = stream_event(config, payload)
                if isinstance(event, dict):
                    for out in translator.feed(event):
                        yield out
                    if translator.done:
                        break


def to_messages(body: Json, stream: bool) -> Json:
    """An OpenAI chat request as a Messages API request."""
    system: list[str] = []
    turns: list[Json] = []
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            if text := text_of(content):
                system.append(text)
            continue
        if role == "tool":
            result = {
                "type": "tool_result",
                "tool_use_id": str(message.get("tool_call_id") or ""),
                "content": text_of(content),
            }
            _add(turns, "user", [result])
            continue
        blocks = _blocks(content)
        if role == "assistant":
            blocks = [*_signed_thinking(message.get("thinking_blocks")), *blocks]
            for call in message.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    blocks.append(
                        {
                            "type": "tool_use",
                            "id": str(call.get("id") or new_id("toolu_")),
                            "name": function.get("name"),
                            "input": _arguments(function.get("arguments")),
                        }
                    )
            _add(turns, "assistant", blocks)
        else:
            _add(turns, "user", blocks)
    request: Json = {
        "model": body["model"],
        "messages": turns,
        "max_tokens": max_tokens_of(body) or DEFAULT_MAX_TOKENS,
    }
    if system:
        request["system"] = "\n\n".join(system)
    if stream:
        request["stream"] = True
    temperature = body.get("temperature")
    if isinstance(temperature, int | float) and not isinstance(temperature, bool):
        request["temperature"] = min(1.0, float(temperature))
    for name in ("top_p", "top_k", "thinking"):
        if body.get(name) is not None:
            request[name] = body[name]
    stop = stop_list(body.get("stop"))
    if stop:
        request["stop_sequences"] = stop
    if isinstance(body.get("user"), str):
        request["metadata"] = {"user_id": body["user"]}
    tools = _tools(body.get("tools"))
    if tools:
        request["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice:
            request["tool_choice"] = choice
    return request


def _signed_thinking(blocks: object) -> list[Json]:
    """An assistant's signed thinking as Anthropic gave it (it must come back unchanged, before
    the tool uses, when thinking is on)."""
    out = []
    for block in blocks if isinstance(blocks, list) else ():
        if not isinstance(block, dict):
            continue
        if block.get("type") == "thinking" and block.get("signature"):
            out.append({k: block.get(k) for k in ("type", "thinking", "signature")})
        elif block.get("type") == "redacted_thinking" and block.get("data"):
            out.append({"type": "redacted_thinking", "data": block["data"]})
    return out


def _add(turns: list[Json], role: str, blocks: list[Json]) -> None:
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _blocks(content: object) -> list[Json]:
    blocks: list[Json] = []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and part.get("text"):
            blocks.append({"type": "text", "text": str(part["text"])})
        elif part.get("type") == "image_url":
            for url in image_urls([part]):
                inline = split_data_url(url)
                source = (
                    {"type": "base64", "media_type": inline[0], "data": inline[1]}
                    if inline
                    else {"type": "url", "url": url}
                )
                blocks.append({"type": "image", "source": source})
    return blocks


def _arguments(arguments: object) -> Any:
    if isinstance(arguments, str):
        try:
            value = orjson.loads(arguments) if arguments.strip() else {}
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}
    return arguments if isinstance(arguments, dict) else {}


def _tools(tools: object) -> list[Json]:
    out = []
    for tool in tools if isinstance(tools, list) else []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        entry: Json = {
            "name": function["name"],
            "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
        }
        if function.get("description"):
            entry["description"] = function["description"]
        out.append(entry)
    return out


def _tool_choice(choice: object, parallel: object) -> Json | None:
    result: Json | None = None
    if choice == "auto":
        result = {"type": "auto"}
    elif choice == "required":
        result = {"type": "any"}
    elif choice == "none":
        result = {"type": "none"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        result = {"type": "tool", "name": choice["function"].get("name")}
    if parallel is False:
        result = result or {"type": "auto"}
        if result["type"] != "none":
            result["disable_parallel_tool_use"] = True
    return result


def from_message(data: Json, model: str) -> Json:
    text: list[str] = []
    thinking: list[str] = []
    signed: list[Json] = []
    calls: list[Json] = []
    for block in data.get("content") or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            text.append(str(block.get("text", "")))
        elif block.get("type") == "thinking":
            thinking.append(str(block.get("thinking", "")))
            signed.append(block)
        elif block.get("type") == "redacted_thinking":
            signed.append(block)
        elif block.get("type") == "tool_use":
            calls.append(
                {
                    "id": block.get("id") or new_id("call_"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    message: Json = {
        "role": "assistant",
        "content": "".join(text) if text or not calls else None,
        "refusal": None,
    }
    if thinking:
        message["reasoning_content"] = "".join(thinking)
    if _signed_thinking(signed):
        message["thinking_blocks"] = _signed_thinking(signed)
    if calls:
        message["tool_calls"] = calls
    prompt, output = message_usage(data.get("usage"))
    choice: Json = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": STOP_REASONS.get(str(data.get("stop_reason")), "stop"),
    }
    if data.get("stop_reason") == "stop_sequence" and isinstance(data.get("stop_sequence"), str):
        choice["stop_reason"] = data["stop_sequence"]  # the matched stop, as vLLM reports it
    return {
        "id": "chatcmpl-" + str(data.get("id") or new_id("")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage(prompt, output),
    }
