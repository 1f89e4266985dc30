"""A loopback server that speaks Anthropic's Messages API as documented, for the kind
``anthropic``. It checks requests as the real API does: ``x-api-key`` and
``anthropic-version`` headers, ``max_tokens`` required, only ``user``/``assistant`` roles,
no unknown top-level fields, ``temperature`` within 0-1, tool results answering tool uses.

- ``GET /v1/models``: ``claude-test``, ``claude-thinker`` (two pages of one model each).
- ``POST /v1/messages``:
  with ``tools`` and a user text turn last: a text block ``Let me check.`` and a ``tool_use``
  of the first tool with ``{"city": "Paris"}`` (stop_reason ``tool_use``);
  with a ``tool_result`` last: ``tool said: <result>``;
  else ``echo: <last user text>`` plus `` [images: N]`` for image blocks.
  ``max_tokens`` below the word count cuts the answer (``max_tokens``); a stop sequence in the
  answer cuts it there (``stop_sequence``). ``claude-thinker`` adds a thinking block first.
  Usage: input_tokens = words in, output_tokens = words out, cache_read_input_tokens = 2.
  ``claude-overloaded`` answers 529 ``overloaded_error``.
  Streams are SSE with ``event:`` lines: message_start, ping, content_block_start/delta/stop
  (text in word pieces, tool input as two ``input_json_delta`` halves), message_delta,
  message_stop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.loopback import ServerThread

API_KEY = "sk-ant-test-key"
FIELDS = {
    "model",
    "messages",
    "max_tokens",
    "system",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tools",
    "tool_choice",
    "metadata",
    "thinking",
}


@dataclass
class AnthropicState:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)

    def last(self) -> dict[str, Any]:
        return self.requests[-1]


def _error(status: int, kind: str, message: str) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.json_response(body, status=status)


def _invalid(body: dict[str, Any]) -> str | None:
    extra = set(body) - FIELDS
    if extra:
        return f"{sorted(extra)[0]}: Extra inputs are not permitted"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    temperature = body.get("temperature")
    if temperature is not None and not 0 <= temperature <= 1:
        return "temperature: Input should be less than or equal to 1"
    uses: set[str] = set()
    for i, message in enumerate(body.get("messages") or []):
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        blocks = message["content"]
        for block in blocks if isinstance(blocks, list) else []:
            if block.get("type") == "tool_use":
                uses.add(block["id"])
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in uses:
                return f"messages.{i}: tool_result without a matching tool_use"
    return None


def _words(body: dict[str, Any]) -> int:
    count = len(str(body.get("system", "")).split())
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            count += len(content.split())
        else:
            count += sum(len(str(b.get("text", "")).split()) for b in content)
    return count


def _matched_stop(body: dict[str, Any], reason: str) -> str | None:
    """The stop sequence that cut the answer (the first of the request's that did)."""
    if reason != "stop_sequence":
        return None
    answer = _answer({**body, "stop_sequences": []})[0][-1].get("text", "")
    return next(s for s in body["stop_sequences"] if s in answer)


def _answer(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    last = body["messages"][-1]
    blocks = last["content"] if isinstance(last["content"], list) else []
    results = [b for b in blocks if b.get("type") == "tool_result"]
    if results:
        return [{"type": "text", "text": f"tool said: {results[-1]['content']}"}], "end_turn"
    if body.get("tools"):
        tool = body["tools"][0]["name"]
        use = {"type": "tool_use", "id": "toolu_01", "name": tool, "input": {"city": "Paris"}}
        return [{"type": "text", "text": "Let me check."}, use], "tool_use"
    if isinstance(last["content"], str):
        text = last["content"]
    else:
        text = " ".join(b["text"] for b in blocks if b.get("type") == "text")
    images = sum(1 for b in blocks if b.get("type") == "image")
    words = f"echo: {text}{f' [images: {images}]' if images else ''}".split(" ")
    reason = "end_turn"
    if len(words) > body["max_tokens"]:
        words, reason = words[: body["max_tokens"]], "max_tokens"
    answer = " ".join(words)
    for stop in body.get("stop_sequences") or []:
        if stop in answer:
            answer, reason = answer[: answer.index(stop)], "stop_sequence"
    out = [{"type": "text", "text": answer}]
    if body["model"] == "claude-thinker":
        out.insert(0, {"type": "thinking", "thinking": "Hmm, a greeting.", "signature": "sig"})
    return out, reason


def _sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: ".encode() + orjson.dumps({"type": kind, **data}) + b"\n\n"


def build_app(state: AnthropicState) -> web.Application:
    def authorized(request: web.Request) -> web.Response | None:
        if request.headers.get("x-api-key") != API_KEY:
            return _error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version header is required")
        return None

    async def models(request: web.Request) -> web.Response:
        if refused := authorized(request):
            return refused
        if request.query.get("after_id") == "claude-test":
            page = [{"type": "model", "id": "claude-thinker", "display_name": "Thinker"}]
            return web.json_response({"data": page, "has_more": False, "last_id": "claude-thinker"})
        page = [{"type": "model", "id": "claude-test", "display_name": "Test"}]
        return web.json_response({"data": page, "has_more": True, "last_id": "claude-test"})

    async def messages(request: web.Request) -> web.StreamResponse:
        if refused := authorized(request):
            return refused
        body = await request.json()
        state.requests.append(body)
        if problem := _invalid(body):
            return _error(400, "invalid_request_error", problem)
        if body["model"] == "claude-overloaded":
            return _error(529, "overloaded_error", "Overloaded")
        content, reason = _answer(body)
        matched = _matched_stop(body, reason)
        out_words = sum(len(str(b.get("text", "")).split()) for b in content) or 1
        usage = {"input_tokens": _words(body), "cache_read_input_tokens": 2}
        message = {"id": "msg_01", "type": "message", "role": "assistant", "model": body["model"]}
        if not body.get("stream"):
            return web.json_response(
                {
                    **message,
                    "content": content,
                    "stop_reason": reason,
                    "stop_sequence": matched,
                    "usage": {**usage, "output_tokens": out_words},
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {**usage, "output_tokens": 1},
        }
        await response.write(_sse("message_start", {"message": start}))
        await response.write(_sse("ping", {}))
        for index, block in enumerate(content):
            if block["type"] == "text":
                opened = {"index": index, "content_block": {"type": "text", "text": ""}}
                await response.write(_sse("content_block_start", opened))
                for i, word in enumerate(block["text"].split(" ")):
                    delta = {"type": "text_delta", "text": word if i == 0 else " " + word}
                    await response.write(
                        _sse("content_block_delta", {"index": index, "delta": delta})
                    )
            elif block["type"] == "thinking":
                opened = {"index": index, "content_block": {"type": "thinking", "thinking": ""}}
                await response.write(_sse("content_block_start", opened))
                delta = {"type": "thinking_delta", "thinking": block["thinking"]}
                await response.write(_sse("content_block_delta", {"index": index, "delta": delta}))
                delta = {"type": "signature_delta", "signature": block["signature"]}
                await response.write(_sse("content_block_delta", {"index": index, "delta": delta}))
            else:
                opened = {"index": index, "content_block": {**block, "input": {}}}
                await response.write(_sse("content_block_start", opened))
                raw = json.dumps(block["input"])
                for piece in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
                    delta = {"type": "input_json_delta", "partial_json": piece}
                    await response.write(
                        _sse("content_block_delta", {"index": index, "delta": delta})
                    )
            await response.write(_sse("content_block_stop", {"index": index}))
        final = {"delta": {"stop_reason": reason, "stop_sequence": matched}}
        await response.write(
            _sse("message_delta", {**final, "usage": {"output_tokens": out_words}})
        )
        await response.write(_sse("message_stop", {}))
        return response

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/messages", messages)
    return app


def start_anthropic() -> tuple[AnthropicState, ServerThread]:
    state = AnthropicState()
    server = ServerThread(build_app(state))
    state.url = server.start()
    return state, server
