"""Sending a request through a provider's pooled session, with errors mapped to Junction's,
and reading a streamed answer (``reading_stream``, ``stream_event``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from junction.errors import UpstreamError
from junction.providers.base import (
    Json,
    Provider,
    error_from_exception,
    error_from_status,
    read_bounded,
)


async def send(
    provider: Provider, method: str, url: str, body: Json | None
) -> aiohttp.ClientResponse:
    """The upstream's response with a success status; any failure raised as a JunctionError."""
    data = orjson.dumps(body) if body is not None else None
    try:
        response = await provider.session.request(method, url, data=data)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise error_from_exception(provider.config.name, exc) from exc
    if response.status >= 400:
        try:
            text = await response.text(errors="replace")
        except (TimeoutError, aiohttp.ClientError):
            text = ""
        finally:
            response.release()
        raise error_from_status(response.status, text, response.headers.get("Retry-After"))
    return response


async def request_json(provider: Provider, method: str, url: str, body: Json | None) -> Any:
    response = await send(provider, method, url, body)
    try:
        raw = await read_bounded(response, provider.config.name, provider.config.read_timeout)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise error_from_exception(provider.config.name, exc) from exc
    finally:
        response.release()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamError(
            f"provider '{provider.config.name}' answered with a body that is not JSON"
        ) from None


@contextlib.asynccontextmanager
async def reading_stream(provider: str, response: aiohttp.ClientResponse) -> AsyncIterator[None]:
    """Around reading a streamed answer: transport errors raised as Junction's; the connection
    released to the pool when the reading ended normally, closed when it was left early (the
    client went away, an error) so that the upstream stops generating."""
    try:
        yield
    except (TimeoutError, aiohttp.ClientError) as exc:
        response.close()
        raise error_from_exception(provider, exc) from exc
    except BaseException:
        response.close()
        raise
    response.release()


def stream_event(provider: str, payload: bytes) -> Any:
    """One streamed event (an SSE ``data`` payload or an NDJSON line), parsed."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"provider '{provider}' streamed an event that is not JSON") from None
