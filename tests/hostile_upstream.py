"""An upstream that attacks the router, on loopback, chosen by the model asked for:

- ``redirect``        307 to another address of this server (``/caught/...``): a router that
                      followed it would re-send the request, credentials and all
- ``leak-500``        500 whose body holds a bearer token, an ``sk-`` key and AWS secrets
- ``leak-400``        400 about the request, whose message also holds an ``sk-`` key
- ``unauthorized``    401: the provider's own key is wrong
- ``endless-error``   400 whose chunked body never ends
- ``endless-line``    an event stream whose first line never ends
- ``json-stream``     a plain ``chat.completion`` (application/json) even to a stream request
- ``error-mb-<N>``    400 with a body of N MiB (Content-Length), sent as fast as it is read
- ``line-mb-<N>``     an event stream whose first event is one line of N MiB

It speaks raw asyncio streams (``FaultyUpstream``'s server). ``caught`` counts requests that
reached a redirect's target; ``seen_headers`` keeps each request's header block.
"""

from __future__ import annotations

import asyncio
import json
import time

from tests.faulty_upstream import SSE_HEAD, FaultyUpstream, _chunk

LEAKED = [
    "sk-live-0123456789abcdefSECRET",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAIOSFODNN7EXAMPLE",
    "hunter2-upstream-password",
]
LEAK_500 = (
    "internal error calling backend with Authorization: Bearer sk-live-0123456789abcdefSECRET; "
    "env AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY "
    "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE db password=hunter2-upstream-password"
)
LEAK_400 = "temperature must be at most 2 (request logged with key sk-live-0123456789abcdefSECRET)"
MODELS = [
    "redirect",
    "leak-500",
    "leak-400",
    "unauthorized",
    "endless-error",
    "endless-line",
    "json-stream",
]


def _response(status: str, body: bytes, content_type: bytes = b"application/json") -> bytes:
    return (
        b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: " + content_type + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )


def _error(status: str, message: str) -> bytes:
    body = json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
    return _response(status, body)


def completion(model: str, text: str) -> dict[str, object]:
    return {
        "id": "chatcmpl-hostile",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
    }


class HostileUpstream(FaultyUpstream):
    def __init__(self) -> None:
        super().__init__()
        self.caught = 0
        self.seen_headers: list[bytes] = []

    # Closed, not reset: a reset could discard an answer the router has not read yet.
    abort_when_done = False

    async def _answer(self, head: bytes, model: str, writer: asyncio.StreamWriter) -> None:
        self.seen_headers.append(head)
        if b" /caught/" in head.split(b"\r\n", 1)[0]:
            self.caught += 1
            writer.write(_error("500 Internal Server Error", "you were redirected"))
            await writer.drain()
            return
        await self._attack(model, writer)

    async def _attack(self, model: str, writer: asyncio.StreamWriter) -> None:
        if model == "redirect":
            target = f"http://127.0.0.1:{self.port}/caught/v1/chat/completions"
            writer.write(
                b"HTTP/1.1 307 Temporary Redirect\r\nLocation: " + target.encode() + b"\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
        elif model == "leak-500":
            writer.write(_error("500 Internal Server Error", LEAK_500))
        elif model == "leak-400":
            writer.write(_error("400 Bad Request", LEAK_400))
        elif model == "unauthorized":
            writer.write(
                _error(
                    "401 Unauthorized", "Incorrect API key provided: sk-live-0123456789abcdefSECRET"
                )
            )
        elif model == "json-stream":
            body = json.dumps(completion(model, "one piece")).encode()
            writer.write(_response("200 OK", body))
        elif model == "endless-error":
            writer.write(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + _chunk(b'{"error": {"message": "')
            )
            piece = _chunk(b"x" * (1024 * 1024))
            while True:
                writer.write(piece)
                await writer.drain()
        elif model == "endless-line":
            writer.write(SSE_HEAD + _chunk(b'data: {"choices": [{"delta": {"content": "'))
            piece = _chunk(b"y" * (1024 * 1024))
            while True:
                writer.write(piece)
                await writer.drain()
        elif model.startswith("error-mb-"):
            size = int(model.rsplit("-", 1)[1]) * 1024 * 1024
            writer.write(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(size).encode() + b"\r\n\r\n"
            )
            await _send_filler(writer, size, b"e")
        elif model.startswith("line-mb-"):
            size = int(model.rsplit("-", 1)[1]) * 1024 * 1024
            writer.write(SSE_HEAD + _chunk(b"data: "))
            await _send_filler(writer, size, b"z", chunked=True)
            writer.write(_chunk(b"\n\ndata: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)


async def _send_filler(
    writer: asyncio.StreamWriter, size: int, byte: bytes, chunked: bool = False
) -> None:
    piece = byte * (1024 * 1024)
    sent = 0
    while sent < size:
        part = piece[: size - sent]
        writer.write(_chunk(part) if chunked else part)
        await writer.drain()
        sent += len(part)
