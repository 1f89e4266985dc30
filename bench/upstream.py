"""A minimal, fast OpenAI-compatible upstream for benchmarks.

It is a raw asyncio HTTP/1.1 server (uvloop when importable) with a small
hand-written request parser, so that the upstream spends as little CPU as
possible on the shared 2-core machine and the router under test gets the rest.

Routes:
  POST /v1/chat/completions  fixed answer; ``"stream": true`` gives an SSE stream
                             of ``--chunks`` content chunks, ``--chunk-delay-ms``
                             apart (first content chunk sent at once)
  POST /v1/completions       fixed answer (non-streaming)
  POST /v1/embeddings        one fixed 8-dimensional vector per input
  GET  /v1/models            one model, ``bench-model``, max_model_len 32768
  GET  /health, /healthz     200

Usage: python bench/upstream.py --port P [--chunks N] [--chunk-delay-ms D]
It binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from typing import Any, cast

MODEL = "bench-model"
ANSWER = "Hello! This is a fixed answer from the benchmark upstream."
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Payload Too Large",
}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _response(status: int, body: bytes, content_type: bytes = b"application/json") -> bytes:
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"OK")),
            b"content-type: " + content_type + b"\r\n",
            b"content-length: %d\r\n" % len(body),
            b"\r\n",
            body,
        )
    )


def _error(status: int, message: str, code: str) -> bytes:
    body = {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    }
    return _response(status, _dumps(body))


class Answers:
    """Pre-encoded responses: the hot path only copies bytes."""

    def __init__(self, chunks: int, chunk_delay_ms: float) -> None:
        self.chunks = max(1, chunks)
        self.chunk_delay = max(0.0, chunk_delay_ms) / 1000.0
        created = int(time.time())
        self.prompt_tokens = 20
        self.completion_tokens = 12
        usage = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
        chat = {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": created,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
            "system_fingerprint": "bench",
        }
        self.chat = _response(200, _dumps(chat))
        completion = {
            "id": "cmpl-bench",
            "object": "text_completion",
            "created": created,
            "model": MODEL,
            "choices": [{"index": 0, "text": ANSWER, "logprobs": None, "finish_reason": "stop"}],
            "usage": usage,
        }
        self.completion = _response(200, _dumps(completion))
        models = {
            "object": "list",
            "data": [
                {
                    "id": MODEL,
                    "object": "model",
                    "created": created,
                    "owned_by": "bench",
                    "max_model_len": 32768,
                }
            ],
        }
        self.models = _response(200, _dumps(models))
        self.health = _response(200, b'{"status":"ok"}')
        self.not_found = _error(404, "not found", "not_found")

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            obj = {
                "id": "chatcmpl-bench",
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL,
                "system_fingerprint": "bench",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            return _sse(_dumps(obj))

        self.stream_head = (
            b"HTTP/1.1 200 OK\r\n"
            b"content-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        self.stream_role = chunk({"role": "assistant", "content": ""}, None)
        self.stream_token = chunk({"content": "tok "}, None)
        self.stream_stop = chunk({}, "stop")
        usage_chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL,
            "choices": [],
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.chunks,
                "total_tokens": self.prompt_tokens + self.chunks,
            },
        }
        self.stream_usage = _sse(_dumps(usage_chunk))
        self.stream_done = _sse(b"[DONE]")
        self.stream_end = b"0\r\n\r\n"

    def embeddings(self, body: dict[str, Any]) -> bytes:
        inputs = body.get("input", "")
        n = (
            len(inputs)
            if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int)
            else 1
        )
        vector = [0.125, -0.25, 0.375, -0.5, 0.0625, 0.75, -0.875, 1.0]
        out = {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": vector} for i in range(n)],
            "model": str(body.get("model", MODEL)),
            "usage": {"prompt_tokens": 4 * n, "total_tokens": 4 * n},
        }
        return _response(200, _dumps(out))


def _sse(payload: bytes) -> bytes:
    """One SSE event, framed as one HTTP chunk."""
    data = b"data: " + payload + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


class UpstreamProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive server connection with a minimal parser."""

    def __init__(self, answers: Answers) -> None:
        self.a = answers
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.streaming: asyncio.Task[None] | None = None
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.streaming is not None:
            self.streaming.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf = self.buf + data if self.buf else data
        if self.streaming is not None:
            return  # a paced stream is being written; parse the rest after it
        self._parse()

    def _parse(self) -> None:
        t = self.transport
        while t is not None and self.streaming is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEADER_BYTES:
                    t.write(_error(413, "headers too large", "too_large"))
                    t.close()
                return
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                t.write(_error(400, "bad request line", "bad_request"))
                t.close()
                return
            method, target, _version = parts
            length = 0
            chunked = False
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                lname = name.strip().lower()
                if lname == "content-length":
                    try:
                        length = int(value.strip())
                    except ValueError:
                        t.write(_error(400, "bad content-length", "bad_request"))
                        t.close()
                        return
                elif lname == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
                elif lname == "connection" and value.strip().lower() == "close":
                    close = True
            start = end + 4
            if chunked:
                decoded = _dechunk(self.buf, start)
                if decoded is None:
                    if len(self.buf) > MAX_BODY_BYTES:
                        t.write(_error(413, "body too large", "too_large"))
                        t.close()
                    return
                body, consumed = decoded
                self.buf = self.buf[consumed:]
            else:
                if length > MAX_BODY_BYTES:
                    t.write(_error(413, "body too large", "too_large"))
                    t.close()
                    return
                if len(self.buf) < start + length:
                    return
                body = self.buf[start : start + length]
                self.buf = self.buf[start + length :]
            self._handle(method, target.split("?", 1)[0], body)
            if close and self.streaming is None and self.transport is not None:
                self.transport.close()
                return

    def _handle(self, method: str, path: str, body: bytes) -> None:
        t = self.transport
        assert t is not None
        a = self.a
        if path.endswith("/chat/completions"):
            if method != "POST":
                t.write(_error(405, "use POST", "method_not_allowed"))
                return
            if b'"stream"' in body:
                try:
                    req = json.loads(body)
                except ValueError:
                    t.write(_error(400, "invalid JSON body", "invalid_json"))
                    return
                if isinstance(req, dict) and req.get("stream") is True:
                    opts = req.get("stream_options")
                    usage = isinstance(opts, dict) and opts.get("include_usage") is True
                    self._stream(usage)
                    return
            t.write(a.chat)
        elif path.endswith("/completions"):
            t.write(a.completion)
        elif path.endswith("/embeddings"):
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                t.write(_error(400, "invalid JSON body", "invalid_json"))
                return
            t.write(a.embeddings(req if isinstance(req, dict) else {}))
        elif path.endswith("/models"):
            t.write(a.models)
        elif path in ("/health", "/healthz", "/v1/health"):
            t.write(a.health)
        else:
            t.write(a.not_found)

    def _stream(self, usage: bool) -> None:
        t = self.transport
        assert t is not None
        a = self.a
        if a.chunk_delay <= 0:
            parts = [a.stream_head, a.stream_role]
            parts.extend([a.stream_token] * a.chunks)
            parts.append(a.stream_stop)
            if usage:
                parts.append(a.stream_usage)
            parts.append(a.stream_done)
            parts.append(a.stream_end)
            t.write(b"".join(parts))
            return
        self.streaming = asyncio.get_running_loop().create_task(self._paced_stream(usage))

    async def _paced_stream(self, usage: bool) -> None:
        a = self.a
        try:
            t = self.transport
            if t is None:
                return
            t.write(a.stream_head + a.stream_role + a.stream_token)
            for _ in range(a.chunks - 1):
                await asyncio.sleep(a.chunk_delay)
                t = self.transport
                if t is None:
                    return
                t.write(a.stream_token)
            tail = a.stream_stop + (a.stream_usage if usage else b"") + a.stream_done + a.stream_end
            t.write(tail)
        finally:
            self.streaming = None
        if self.transport is not None and self.buf:
            self._parse()


def _dechunk(buf: bytes, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked request body; None until it is complete."""
    out: list[bytes] = []
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(buf[pos:eol].split(b";", 1)[0].strip() or b"0", 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n", pos)
            if end < 0:
                return None
            return b"".join(out), end + 2
        if len(buf) < pos + size + 2:
            return None
        out.append(buf[pos : pos + size])
        pos += size + 2


async def serve(host: str, port: int, answers: Answers) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: UpstreamProtocol(answers), host, port, backlog=1024, reuse_address=True
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"bench upstream listening on http://{host}:{port} (chunks={answers.chunks})", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Minimal OpenAI-compatible benchmark upstream.")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback only)")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument(
        "--chunks", type=int, default=32, help="content chunks in a streamed answer"
    )
    parser.add_argument(
        "--chunk-delay-ms", type=float, default=0.0, help="delay between streamed content chunks"
    )
    parser.add_argument(
        "--no-uvloop", action="store_true", help="use the default asyncio event loop"
    )
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the benchmark upstream binds loopback only")
    answers = Answers(args.chunks, args.chunk_delay_ms)
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(serve(args.host, args.port, answers))
            return
    asyncio.run(serve(args.host, args.port, answers))


if __name__ == "__main__":
    main()
