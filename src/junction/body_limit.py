"""A pure ASGI middleware that refuses a declared body over the size limit with a 413."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from junction.errors import PayloadTooLarge


class BodySizeLimit:
    """Checks ``Content-Length`` before anything is read; chunked bodies are counted as read
    by ``dataplane.http.read_json``."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"content-length":
                    if value.isdigit() and int(value) > self.limit:
                        await self._refuse(send)
                        return
                    break
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send) -> None:
        error = PayloadTooLarge(f"Request body is larger than the limit of {self.limit} bytes.")
        body = error.to_json()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
