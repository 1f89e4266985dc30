"""uvicorn's httptools protocol with two guards it lacks: a cap on the size of the request
line and headers (431), and a deadline for receiving a whole request (408). These answers,
and uvicorn's own 400 for bytes that are not HTTP, are OpenAI-shaped JSON like every other.

Without the deadline a client that opens connections and sends a request a byte at a time
(slow loris) keeps each of them, and its buffers, for ever: uvicorn only times out idle
keep-alive connections. The clock starts at a connection's first byte of each request (at the
connection itself for the first one) and stops once the request, body included, is in.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from junction.hardening.writes import GatheringTransport
from junction.settings import Settings


def _error_response(status: bytes, message: str, code: str) -> bytes:
    """An OpenAI-shaped JSON error, written before any application code has run."""
    body = orjson.dumps(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": code,
            }
        }
    )
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes = 32768
    read_timeout = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0
        self._refused = False
        self._started: float | None = None  # when the request being received began
        # One timer per connection, not per request: when it fires early (the request it was
        # set for is in, and another began since) it is set again for the one in progress.
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._started is None:
            self._started = self.loop.time()
            if self._deadline is None:
                self._deadline = self.loop.call_at(self._started + self.read_timeout, self._due)

    def _disarm(self) -> None:
        self._started = None

    def _due(self) -> None:
        self._deadline = None
        if self._started is None:
            return  # nothing being received: the next request sets the timer again
        due = self._started + self.read_timeout
        if self.loop.time() < due:
            self._deadline = self.loop.call_at(due, self._due)
            return
        self._too_slow()

    def _refuse(self, status: bytes, message: str, code: str) -> None:
        self._refused = True
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_error_response(status, message, code))
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """What uvicorn answers to bytes that are not HTTP, as JSON rather than plain text."""
        self._refuse(b"400 Bad Request", msg, "invalid_http_request")

    def _too_slow(self) -> None:
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()
            return
        self._refuse(
            b"408 Request Timeout", "The request was not received in time.", "request_timeout"
        )

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(GatheringTransport(transport, self.loop))  # type: ignore[arg-type]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._arm()

    def _count(self, size: int) -> bool:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes and not self._refused:
            self._refuse(
                b"431 Request Header Fields Too Large",
                f"The request line and headers exceed {self.max_header_bytes} bytes.",
                "headers_too_large",
            )
        return not self._refused

    def on_url(self, url: bytes) -> None:
        if self._count(len(url)):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._count(len(name) + len(value) + 4):
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if not self._refused:
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        if not self._refused:
            super().on_message_complete()


def guarded_protocol(settings: Settings) -> type[GuardedHttpToolsProtocol]:
    """The protocol class for ``uvicorn.run(http=...)``, with the settings' limits."""
    return type(
        "JunctionHttpProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "max_header_bytes": settings.max_header_bytes,
            "read_timeout": settings.request_read_timeout,
        },
    )


class WorkerProtocol(GuardedHttpToolsProtocol):
    """The guarded protocol for ``--workers`` processes, which cannot be handed a class made
    at run time: it reads the limits from the environment when its first connection comes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        limits = _limits_from_environment()
        self.max_header_bytes, self.read_timeout = limits
        super().__init__(*args, **kwargs)


@cache
def _limits_from_environment() -> tuple[int, float]:
    settings = Settings()
    return settings.max_header_bytes, settings.request_read_timeout


WORKER_PROTOCOL = f"{__name__}:WorkerProtocol"
