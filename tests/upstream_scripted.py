"""An OpenAI-compatible upstream whose every answer is scripted by the test, for routing tests.

``ScriptedUpstream.plan(model, *actions)`` queues what the next requests for ``model`` get;
once the queue is empty each request gets ``ok``. Actions:

- ``ok``            a normal answer: ``ok from <model>`` (streamed in 3 chunks when asked)
- ``text=<s>``      a normal answer whose content is ``<s>``
- ``tool=<args>``   an answer calling the request's first tool with ``<args>`` as arguments
- ``length``        a normal answer cut off: ``finish_reason`` ``length``
- ``paced``         as ok, streamed in 3 chunks 0.2 s apart (non-streamed: answered after 0.4 s)
- ``500``/``502``/``503``  that status with an OpenAI error body
- ``429`` or ``429:<s>``   429, with ``Retry-After: <s>`` when given
- ``slow``          (non-streamed) answered after 1 s
- ``hang``          answers nothing for 5 s (longer than the tests' read timeouts)
- ``die``           streams one content chunk then drops the connection (non-streamed: drops it)
- ``reason``        as ok, with DeepSeek's ``reasoning_content`` and vLLM's ``reasoning`` fields
- ``thinkfirst``    as ok, after ``<think>hmm</think>`` in the content; streamed, the role comes
                    with ``<think>`` in the first chunk (no role-only chunk, as llama.cpp does)

``hits`` records ``(model, monotonic time, action, stream)`` for every chat request.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.loopback import ServerThread


@dataclass
class ScriptedUpstream:
    url: str = ""
    plans: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    hits: list[tuple[str, float, str, bool]] = field(default_factory=list)
    model_lists: int = 0
    completion_requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, model: str, *actions: str) -> None:
        with self.lock:
            self.plans[model].extend(actions)

    def next_action(self, model: str) -> str:
        with self.lock:
            queue = self.plans.get(model)
            return queue.popleft() if queue else "ok"

    def calls(self, model: str) -> list[str]:
        return [action for m, _, action, _ in self.hits if m == model]

    def times(self, model: str) -> list[float]:
        return [t for m, t, _, _ in self.hits if m == model]


def _completion(model: str, text: str, finish: str = "stop", tool: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if tool is not None:
        message = {"role": "assistant", "content": None, "tool_calls": [tool]}
        finish = "tool_calls"
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


def _event(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(data) + b"\n\n"


def build_app(state: ScriptedUpstream) -> web.Application:
    async def models(_request: web.Request) -> web.Response:
        state.model_lists += 1
        return web.json_response({"object": "list", "data": []})

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json(loads=orjson.loads)
        model, stream = body.get("model", ""), bool(body.get("stream"))
        action = state.next_action(model)
        state.hits.append((model, time.monotonic(), action, stream))
        if action.isdigit() or action.startswith("429"):
            status, _, retry_after = action.partition(":")
            headers = {"Retry-After": retry_after} if retry_after else {}
            error = {"error": {"message": f"scripted {status}", "type": "server_error"}}
            return web.json_response(error, status=int(status), headers=headers)
        if action == "hang":
            await asyncio.sleep(5)
        if action == "die" and not stream:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        text, finish, tool = f"ok from {model}", "stop", None
        if action.startswith("text="):
            text = action[5:]
        elif action == "length":
            finish = "length"
        elif action.startswith("tool="):
            name = body["tools"][0]["function"]["name"]
            tool = {
                "id": "call_1",
                "type": "function",
                "function": {"name": name, "arguments": action[5:]},
            }
        thought = {"reasoning_content": "hmm", "reasoning": "hmm"} if action == "reason" else {}
        if action == "thinkfirst" and not stream:
            text = "<think>hmm</think>" + text
        if not stream:
            if action in ("paced", "slow"):
                await asyncio.sleep(0.4 if action == "paced" else 1.0)
            answer = _completion(model, text, finish, tool)
            answer["choices"][0]["message"].update(thought)
            return web.json_response(answer)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if action == "thinkfirst":
            await response.write(_event(model, {"role": "assistant", "content": "<think>"}))
            await response.write(_event(model, {"content": "hmm</think>"}))
        else:
            await response.write(_event(model, {"role": "assistant", "content": ""}))
        if thought:
            await response.write(_event(model, thought))
        third = max(1, len(text) // 3)
        for i, piece in enumerate((text[:third], text[third : 2 * third], text[2 * third :])):
            if action == "paced":
                await asyncio.sleep(0.2)
            if action == "die" and i == 1:
                assert request.transport is not None
                request.transport.close()
                return response
            await response.write(_event(model, {"content": piece}))
        await response.write(_event(model, {}, finish))
        usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
        tail = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model}
        await response.write(b"data: " + orjson.dumps({**tail, "choices": [], "usage": usage}))
        await response.write(b"\n\ndata: [DONE]\n\n")
        return response

    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json(loads=orjson.loads)
        model, stream = body.get("model", ""), bool(body.get("stream"))
        action = state.next_action(model)
        state.hits.append((model, time.monotonic(), action, stream))
        state.completion_requests.append(body)
        if action.isdigit():
            return web.json_response({"error": {"message": "scripted"}}, status=int(action))
        text = f"ok: {body.get('prompt')}"
        base = {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": model}
        usage = {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}
        if not stream:
            choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}
            return web.json_response({**base, "choices": [choice], "usage": usage})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for piece, finish in ((text[:3], None), (text[3:], "stop")):
            choice = {"text": piece, "index": 0, "logprobs": None, "finish_reason": finish}
            await response.write(b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n")
        if (body.get("stream_options") or {}).get("include_usage"):
            tail = {**base, "choices": [], "usage": usage}
            await response.write(b"data: " + orjson.dumps(tail) + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        return response

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/completions", completions)
    app.router.add_post("/v1/chat/completions", chat)
    return app


def start_scripted() -> tuple[ScriptedUpstream, ServerThread]:
    state = ScriptedUpstream()
    server = ServerThread(build_app(state))
    state.url = server.start() + "/v1"
    return state, server
