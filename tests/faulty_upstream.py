"""An upstream that misbehaves at the HTTP level, on loopback, chosen by the model asked for:

- ``garbage``      answers bytes that are not HTTP at all, then closes.
- ``not-json``     a 200 whose JSON body is HTML.
- ``reset``        a 200 that promises 1000 bytes, sends 20 and resets the connection.
- ``reset-stream`` an event stream that sends two events, then resets the connection.
- ``endless``      an event stream that never ends (an event every 10 ms).
- ``endless-body`` a non-streamed 200 whose chunked body never ends (1 MiB chunks).
- ``drip``         a 200 whose body arrives a byte every 0.1 s (slow, never idle).

It speaks raw asyncio streams, so it can break the protocol in ways a web framework won't.
``open_streams`` counts endless streams still connected (to see the router let go).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time

from tests.conftest import free_port

MODELS = ["garbage", "not-json", "reset", "reset-stream", "endless", "endless-body", "drip"]


def _event(text: str) -> bytes:
    chunk = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class FaultyUpstream:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.open_streams = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    def __enter__(self) -> FaultyUpstream:
        self._thread.start()

        async def listen() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

        asyncio.run_coroutine_threadsafe(listen(), self._loop).result(5)
        return self

    def __exit__(self, *_exc: object) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            if self._server is not None:
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    # A reset once the answer is written: the faults end connections abruptly on purpose.
    abort_when_done = True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read one request (head, and the JSON body by its Content-Length), then answer it."""
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = json.loads(await reader.readexactly(length)) if length else {}
            await self._answer(head, str(body.get("model", "")), writer)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._handlers.discard(task)
            with contextlib.suppress(Exception):
                if self.abort_when_done:
                    writer.transport.abort()
                else:
                    writer.close()

    async def _answer(self, head: bytes, model: str, writer: asyncio.StreamWriter) -> None:
        if model == "garbage":
            writer.write(b"\x00\xff\x13 this is not HTTP \r\n\r\n")
        elif model == "not-json":
            page = b"<html>Bad gateway</html>"
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(page)).encode()
                + b"\r\n\r\n"
                + page
            )
        elif model == "reset":
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"id": "abcdefgh')
        elif model == "reset-stream":
            writer.write(SSE_HEAD + _chunk(_event("one")) + _chunk(_event("two")))
        elif model == "endless":
            writer.write(SSE_HEAD)
            self.open_streams += 1
            try:
                while True:
                    writer.write(_chunk(_event("more ")))
                    await writer.drain()
                    await asyncio.sleep(0.01)
            finally:
                self.open_streams -= 1
        elif model == "endless-body":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + _chunk(b'{"choices": ["')
            )
            piece = _chunk(b"x" * (1024 * 1024))
            while True:
                writer.write(piece)
                await writer.drain()
        elif model == "drip":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while True:
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.1)
        await writer.drain()
        await asyncio.sleep(0.05)
