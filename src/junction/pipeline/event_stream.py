"""An SSE response that stops the upstream as soon as the client goes away.

Starlette's ``StreamingResponse`` notices a disconnect only at its next write under ASGI 2.4;
a paced upstream could keep generating for a long time before that. Here a watcher waits for
``http.disconnect`` and cancels the stream. ``on_done`` runs exactly once however the response
ends (completed, client gone, error, or never started), to release the upstream and finish
the call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        events: AsyncIterator[bytes],
        headers: dict[str, str],
        on_done: Callable[[bool], Awaitable[None]],
    ) -> None:
        self.events = events
        self.on_done = on_done
        self.completed = False
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no", **headers})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streamer = asyncio.ensure_future(self._stream(send))
        watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            await asyncio.wait({streamer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (streamer, watcher):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task
            aclose = getattr(self.events, "aclose", None)
            if aclose is not None:
                await aclose()
            await self.on_done(self.completed)

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        async for event in self.events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self.completed = True


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
