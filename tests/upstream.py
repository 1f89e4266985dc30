"""A small OpenAI-compatible model server for the tests, run on loopback in a thread.

What it does is chosen by the model name it is asked for, so that one server plays every part:

- ``echo``    answers ``echo: <last user message>``; streams it in 4 chunks.
- ``paced``   as echo, but streams 5 chunks 0.3 s apart (for incremental delivery and cancel).
- ``sparse``  answers without ``id``, ``created``, ``refusal``, ``logprobs`` or ``usage``.
- ``fail``    answers 500.
- ``reject``  answers 400 with an OpenAI error.
- ``broken-stream`` sends two chunks, then drops the connection.
- ``costly``  as echo, but reports a usage of 400 completion tokens (for token limits).
- ``think``   answers ``<think>pondering deeply</think>`` before the echo, with a
  ``reasoning_content`` field too; streams it 3 characters a chunk, so tags are split.
- ``tool-call`` answers a ``lookup`` tool call to a user message, and echoes otherwise.

``/v1/completions`` (not streamed) answers ``echo: <prompt>`` for any model.

Every request body is recorded in ``Upstream.requests`` (newest last).

It also plays the tokenizer endpoints at its root, counting on purpose unlike tiktoken:
vLLM's ``/tokenize`` (chat messages: ``VLLM_TOKENS_PER_WORD`` a word) and llama.cpp's
``/apply-template`` + ``/tokenize`` (``LLAMA_CPP_TOKENS_PER_WORD`` a word of the templated
prompt). A message containing ``untokenizable`` makes them answer 500, ``slowtokenizer`` 8 s
late. Their bodies are recorded in ``Upstream.tokenize_requests``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.loopback import ServerThread

MODELS = {
    "echo": 8192,
    "paced": 8192,
    "sparse": 4096,
    "fail": 4096,
    "reject": 4096,
    "broken-stream": 4096,
    "costly": 4096,
    "embed": 512,
    "think": 8192,
    "tool-call": 8192,
}

THOUGHT = "<think>pondering deeply</think>\n\n"
TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "lookup", "arguments": '{"q": "x"}'},
}
COSTLY_COMPLETION_TOKENS = 400
VLLM_TOKENS_PER_WORD = 5
LLAMA_CPP_TOKENS_PER_WORD = 4


@dataclass
class Upstream:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    cancelled_streams: int = 0
    completed_streams: int = 0
    tokenize_requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def last(self) -> dict[str, Any]:
        return self.requests[-1]


def _answer_text(body: dict[str, Any]) -> str:
    user = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = user[-1].get("content") if user else ""
    return f"echo: {content if isinstance(content, str) else '[parts]'}"


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = len(text.split())
    return {
        "id": "chatcmpl-upstream",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-upstream",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(data) + b"\n\n"


def build_app(state: Upstream) -> web.Application:
    async def models(_request: web.Request) -> web.Response:
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "test", "max_model_len": n}
            for name, n in MODELS.items()
        ]
        return web.json_response({"object": "list", "data": data})

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json(loads=orjson.loads)
        state.requests.append(body)
        state.headers.append(dict(request.headers))
        model = body.get("model", "")
        if model == "fail":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if model == "reject":
            return web.json_response(
                {"error": {"message": "bad parameter", "type": "invalid_request_error"}},
                status=400,
            )
        text = _answer_text(body)
        if model == "think":
            text = THOUGHT + text
        if model == "tool-call" and body["messages"][-1].get("role") == "user":
            answer = _completion(body, "")
            answer["choices"][0]["message"] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [TOOL_CALL],
            }
            answer["choices"][0]["finish_reason"] = "tool_calls"
            return web.json_response(answer)
        if not body.get("stream"):
            answer = _completion(body, text)
            if model == "costly":
                usage = answer["usage"]
                usage["completion_tokens"] = COSTLY_COMPLETION_TOKENS
                usage["total_tokens"] = usage["prompt_tokens"] + COSTLY_COMPLETION_TOKENS
            if model == "think":
                answer["choices"][0]["message"]["reasoning_content"] = "pondering deeply"
            if model == "sparse":
                for name in ("id", "created", "usage"):
                    answer.pop(name)
                answer["choices"][0].pop("logprobs")
                answer["choices"][0]["message"].pop("refusal")
            return web.json_response(answer)
        return await _stream(request, state, body, text)

    async def embeddings(request: web.Request) -> web.Response:
        body = await request.json(loads=orjson.loads)
        state.requests.append(body)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": [0.1, 0.2, float(len(str(x)))]}
            for i, x in enumerate(inputs)
        ]
        usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
        return web.json_response(
            {"object": "list", "data": data, "model": body["model"], "usage": usage}
        )

    async def completions(request: web.Request) -> web.Response:
        body = await request.json(loads=orjson.loads)
        state.requests.append(body)
        text = f"echo: {body.get('prompt')}"
        prompt, completion = len(str(body.get("prompt")).split()), len(text.split())
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}
        return web.json_response(
            {
                "id": "cmpl-upstream",
                "object": "text_completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [choice],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )

    async def tokenize(request: web.Request) -> web.Response:
        body = await request.json(loads=orjson.loads)
        state.tokenize_requests.append((request.path, body))
        text = orjson.dumps(body).decode()
        if "untokenizable" in text:
            return web.json_response({"error": "tokenizer broke"}, status=500)
        if "slowtokenizer" in text:
            await asyncio.sleep(8)
        if request.path == "/apply-template":
            prompt = "".join(f"<{m['role']}>{m['content']}\n" for m in body["messages"])
            return web.json_response({"prompt": prompt})
        if "messages" in body:  # vLLM, chat form
            count = VLLM_TOKENS_PER_WORD * sum(
                len(str(m.get("content", "")).split()) for m in body["messages"]
            )
            return web.json_response({"count": count, "tokens": [0] * count})
        tokens = [0] * (LLAMA_CPP_TOKENS_PER_WORD * len(body["content"].split()))
        return web.json_response({"tokens": tokens})  # llama.cpp

    app = web.Application()
    app.router.add_post("/tokenize", tokenize)
    app.router.add_post("/apply-template", tokenize)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/v1/completions", completions)
    return app


async def _stream(
    request: web.Request, state: Upstream, body: dict[str, Any], text: str
) -> web.StreamResponse:
    model = body["model"]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    pieces = 5 if model == "paced" else 4
    words = text.split(" ")
    size = max(1, -(-len(words) // pieces))
    parts = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    if model == "think":  # 3 characters a chunk: the tags arrive split
        parts = [text[i : i + 3] for i in range(0, len(text), 3)]
    try:
        await response.write(_chunk(model, {"role": "assistant", "content": ""}))
        if model == "think":
            await response.write(_chunk(model, {"reasoning_content": "pondering"}))
        for i, part in enumerate(parts):
            if model == "paced":
                await asyncio.sleep(0.3)
            if model == "broken-stream" and i == 1:
                assert request.transport is not None
                request.transport.close()
                return response
            joined = part if i == 0 or model == "think" else " " + part
            await response.write(_chunk(model, {"content": joined}))
        await response.write(_chunk(model, {}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": len(words),
                "total_tokens": prompt + len(words),
            }
            data = {
                "id": "chatcmpl-upstream",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [],
                "usage": usage,
            }
            await response.write(b"data: " + orjson.dumps(data) + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        state.completed_streams += 1
    except (ConnectionResetError, asyncio.CancelledError):
        state.cancelled_streams += 1
        raise
    return response


class UpstreamThread:
    """Runs the test upstream on 127.0.0.1 in its own event loop and thread."""

    def __init__(self) -> None:
        self.state = Upstream()
        self._server = ServerThread(build_app(self.state))

    def start(self) -> Upstream:
        self.state.url = self._server.start() + "/v1"
        return self.state

    def stop(self) -> None:
        self._server.stop()
