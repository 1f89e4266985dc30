"""Streamed answers read line by line as they arrive: server-sent events and NDJSON.

Every line is bounded (``UpstreamLimits.line``): an upstream that sends a line without end is
cut off with an error once the line passes the limit, after holding at most that many bytes.
The reader is linear in what it receives: each piece is scanned once for line ends and the
unfinished line is kept as a list of pieces, not re-copied as it grows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

from junction.errors import UpstreamMalformed
from junction.providers.base import ProviderConfig


async def lines(
    response: aiohttp.ClientResponse, config: ProviderConfig
) -> AsyncIterator[list[bytes]]:
    """The lines of the body (without their ``\\n``) as they arrive: each time, the lines that
    what arrived completed (the last one even if the body ends without a line end)."""
    limit = config.limits.line
    pending: list[bytes] = []  # pieces of the line not finished yet
    size = 0
    async for piece in response.content.iter_any():
        done = piece.split(b"\n")  # one pass in C; a piece without a line end is not copied
        rest = done.pop()  # after the last line end: the start of a line still to come
        if done and pending:
            pending.append(done[0])
            done[0] = b"".join(pending)
            pending, size = [], 0
        if done and max(map(len, done)) > limit:
            first = next(i for i, line in enumerate(done) if len(line) > limit)
            if first:  # what came before the line is delivered first
                yield done[:first]
            raise _too_long(config)
        if rest:
            size += len(rest)
            if size > limit:
                if done:
                    yield done
                raise _too_long(config)
            pending.append(rest)
        if done:
            yield done
    if pending:
        yield [b"".join(pending)]


def _too_long(config: ProviderConfig) -> UpstreamMalformed:
    return UpstreamMalformed(
        f"provider '{config.name}' streamed a line longer than {config.limits.line} bytes"
    )


async def sse_data(
    response: aiohttp.ClientResponse, config: ProviderConfig
) -> AsyncIterator[bytes]:
    """Yield each event's ``data`` payload; stops at ``[DONE]`` or the end of the body. An
    event's ``data`` lines together are bounded like one line."""
    data: list[bytes] = []
    size = 0
    async for batch in lines(response, config):
        for raw in batch:
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line:
                if data:
                    payload = b"\n".join(data)
                    data, size = [], 0
                    if payload == b"[DONE]":
                        return
                    yield payload
            elif line.startswith(b"data:"):
                value = line[5:]
                value = value[1:] if value.startswith(b" ") else value
                size += len(value)
                if size > config.limits.line:
                    raise _too_long(config)
                data.append(value)
    if data and (payload := b"\n".join(data)) != b"[DONE]":
        yield payload


async def ndjson_lines(
    response: aiohttp.ClientResponse, config: ProviderConfig
) -> AsyncIterator[bytes]:
    """Each non-empty line of a newline-delimited JSON body, as it arrives."""
    async for batch in lines(response, config):
        for raw in batch:
            line = raw.strip()
            if line:
                yield line
