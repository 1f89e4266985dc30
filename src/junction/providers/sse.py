"""Server-sent events read from an upstream as they arrive, without waiting for the whole body."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp


async def sse_data(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """Yield each event's ``data`` payload; stops at ``[DONE]`` or the end of the body."""
    buffer = b""
    data: list[bytes] = []
    async for piece in response.content.iter_any():
        buffer += piece
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                break
            line = buffer[:end].rstrip(b"\r")
            buffer = buffer[end + 1 :]
            if not line:
                if data:
                    payload = b"\n".join(data)
                    data = []
                    if payload == b"[DONE]":
                        return
                    yield payload
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
    if data and (payload := b"\n".join(data)) != b"[DONE]":
        yield payload
