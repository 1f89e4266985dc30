"""A loopback server that speaks Ollama's native API as documented, for the ``ollama`` kind.

- ``GET /api/tags`` lists ``llama3.2:3b``, ``qwen3:14b`` and ``nomic-embed-text``.
- ``POST /api/show`` answers ``model_info`` with ``<arch>.context_length``; ``qwen3:14b``'s
  ``parameters`` also set ``num_ctx 8192``. Unknown models: 404 ``{"error": ...}``.
- ``POST /api/chat`` (streams NDJSON unless ``"stream": false``):
  with ``tools`` and a user message last, calls the first tool with ``{"city": "Paris"}``;
  with a tool result last, answers ``tool said: <result>``; else ``echo: <last user text>``,
  plus `` [images: N]`` when the message has images. ``format`` set: the answer is the JSON
  ``{"echo": "<text>"}``. ``qwen3:14b`` thinks (``message.thinking``) unless ``think`` is
  false. ``options.num_predict`` cuts the answer to that many words (``done_reason: length``).
  A user text that starts with ``slowly`` is streamed one word every 0.2 s; a stream the
  client side drops is counted in ``OllamaState.cancelled``.
- ``POST /api/generate``: ``completed: <prompt><suffix>``, cut by ``options.num_predict``.
- ``POST /api/embed``: one 3-number vector per input.

Every request body is recorded in ``OllamaState.requests`` as ``(path, body)``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.loopback import ServerThread

MODELS: dict[str, dict[str, Any]] = {
    "llama3.2:3b": {
        "model_info": {"general.architecture": "llama", "llama.context_length": 131072}
    },
    "qwen3:14b": {
        "parameters": "num_ctx                        8192\nstop    <|im_end|>",
        "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960},
    },
    "nomic-embed-text": {
        "model_info": {"general.architecture": "nomic-bert", "nomic-bert.context_length": 2048}
    },
}


@dataclass
class OllamaState:
    url: str = ""
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    cancelled: int = 0

    def last(self, path: str) -> dict[str, Any]:
        return next(body for p, body in reversed(self.requests) if p == path)


def _words(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


def _line(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data) + b"\n"


def build_app(state: OllamaState) -> web.Application:
    def missing(model: object) -> web.Response:
        return web.json_response(
            {"error": f'model "{model}" not found, try pulling it first'}, status=404
        )

    async def tags(_request: web.Request) -> web.Response:
        entries = [
            {"name": n, "model": n, "size": 1000, "digest": "sha256:0", "details": {}}
            for n in MODELS
        ]
        return web.json_response({"models": entries})

    async def show(request: web.Request) -> web.Response:
        body = await request.json()
        state.requests.append(("/api/show", body))
        found = MODELS.get(body.get("model"))
        if found is None:
            return missing(body.get("model"))
        return web.json_response({"modelfile": "", "template": "", "details": {}, **found})

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state.requests.append(("/api/chat", body))
        model = body.get("model")
        if model not in MODELS:
            return missing(model)
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        tool_calls: list[dict[str, Any]] = []
        if body.get("tools") and last.get("role") == "user":
            name = body["tools"][0]["function"]["name"]
            tool_calls = [{"function": {"name": name, "arguments": {"city": "Paris"}}}]
            text = ""
        elif last.get("role") == "tool":
            text = f"tool said: {last.get('content')}"
        else:
            user = [m for m in messages if m.get("role") == "user"]
            text = "echo: " + (user[-1].get("content", "") if user else "")
            if user and user[-1].get("images"):
                text += f" [images: {len(user[-1]['images'])}]"
        words = text.split(" ") if text else []
        limit = (body.get("options") or {}).get("num_predict")
        done_reason = "stop"
        if isinstance(limit, int) and 0 < limit < len(words):
            words, done_reason = words[:limit], "length"
        text = " ".join(words)
        if body.get("format"):
            text = orjson.dumps({"echo": text}).decode()
        thinking = (
            "Let me think." if model == "qwen3:14b" and body.get("think") is not False else ""
        )
        counts = {"prompt_eval_count": _words(messages), "eval_count": len(words) or 1}
        final = {"model": model, "created_at": "2026-11-24T10:00:00Z", "done": True}
        final |= {"done_reason": done_reason, **counts, "total_duration": 1000}
        if body.get("stream") is False:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if thinking:
                message["thinking"] = thinking
            if tool_calls:
                message["tool_calls"] = tool_calls
            return web.json_response({**final, "message": message})
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        head = {"model": model, "created_at": "2026-11-24T10:00:00Z", "done": False}
        if thinking:
            msg = {"role": "assistant", "content": "", "thinking": thinking}
            await response.write(_line({**head, "message": msg}))
        if tool_calls:
            msg = {"role": "assistant", "content": "", "tool_calls": tool_calls}
            await response.write(_line({**head, "message": msg}))
        pause = 0.2 if text.startswith("echo: slowly") else 0
        try:
            for i, word in enumerate(words):
                await asyncio.sleep(pause)
                piece = word if i == 0 else " " + word
                msg = {"role": "assistant", "content": piece}
                await response.write(_line({**head, "message": msg}))
            msg = {"role": "assistant", "content": ""}
            await response.write(_line({**final, "message": msg}))
        except (ConnectionResetError, asyncio.CancelledError):
            state.cancelled += 1
            raise
        return response

    async def embed(request: web.Request) -> web.Response:
        body = await request.json()
        state.requests.append(("/api/embed", body))
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = [[0.5, 0.25, float(len(x))] for x in inputs]
        return web.json_response(
            {"model": body["model"], "embeddings": vectors, "prompt_eval_count": len(inputs) * 2}
        )

    async def generate(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state.requests.append(("/api/generate", body))
        if body.get("model") not in MODELS:
            return missing(body.get("model"))
        words = f"completed: {body['prompt']}{body.get('suffix', '')}".split(" ")
        limit = (body.get("options") or {}).get("num_predict")
        done_reason = "stop"
        if isinstance(limit, int) and 0 < limit < len(words):
            words, done_reason = words[:limit], "length"
        final = {"model": body["model"], "created_at": "2026-11-24T10:00:00Z", "done": True}
        final |= {"done_reason": done_reason, "prompt_eval_count": 3, "eval_count": len(words)}
        if body.get("stream") is False:
            return web.json_response({**final, "response": " ".join(words), "context": [1, 2]})
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        for i, word in enumerate(words):
            piece = {"model": body["model"], "response": word if i == 0 else " " + word}
            await response.write(_line({**piece, "done": False}))
        await response.write(_line({**final, "response": ""}))
        return response

    app = web.Application()
    app.router.add_post("/api/generate", generate)
    app.router.add_get("/api/tags", tags)
    app.router.add_post("/api/show", show)
    app.router.add_post("/api/chat", chat)
    app.router.add_post("/api/embed", embed)
    return app


def start_ollama() -> tuple[OllamaState, ServerThread]:
    state = OllamaState()
    server = ServerThread(build_app(state))
    state.url = server.start()
    return state, server
