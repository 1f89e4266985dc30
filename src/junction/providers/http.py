"""Sending a request through a provider's pooled session, with errors mapped to Junction's,
and reading a streamed answer (``reading_stream``, ``stream_event``).

The trust boundary starts here: no redirect is followed (a 3xx is an upstream error, so a
provider cannot send the router's credentials elsewhere), every body is read within the
provider's ``UpstreamLimits``, and what an upstream says about an error is kept for operators
(``JunctionError.detail``), redacted.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from junction.errors import UpstreamMalformed, UpstreamRefused
from junction.providers.base import (
    Json,
    Provider,
    ProviderConfig,
    error_from_exception,
    error_from_status,
    read_bounded,
    read_error_body,
    upstream_detail,
)


async def send(
    provider: Provider, method: str, url: str, body: Json | None
) -> aiohttp.ClientResponse:
    """The upstream's response with a success status; any failure raised as a JunctionError."""
    config = provider.config
    data = orjson.dumps(body) if body is not None else None
    try:
        response = await provider.session.request(method, url, data=data, allow_redirects=False)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise error_from_exception(config, exc) from exc
    status = response.status
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        response.close()
        raise UpstreamRefused(
            f"provider '{config.name}' answered with a redirect ({status}); the router follows "
            "no redirects: its base_url must be the final address",
            detail=upstream_detail(config, f"{status} to {location[:300]}"),
        )
    if status >= 400:
        text = await read_error_body(response, config)
        raise error_from_status(config, status, text, response.headers.get("Retry-After"))
    return response


async def read_json(config: ProviderConfig, response: aiohttp.ClientResponse) -> Any:
    """A non-streamed answer's body, parsed (bounded by ``limits.body``)."""
    try:
        raw = await read_bounded(response, config)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise error_from_exception(config, exc) from exc
    finally:
        response.release()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamMalformed(
            f"provider '{config.name}' answered with a body that is not JSON",
            detail=upstream_detail(config, raw[:300].decode(errors="replace")),
        ) from None


async def request_json(provider: Provider, method: str, url: str, body: Json | None) -> Any:
    response = await send(provider, method, url, body)
    return await read_json(provider.config, response)


def answered_json(response: aiohttp.ClientResponse) -> bool:
    """The upstream answered a stream request with one JSON document instead of a stream."""
    return response.content_type == "application/json"


@contextlib.asynccontextmanager
async def reading_stream(
    config: ProviderConfig, response: aiohttp.ClientResponse
) -> AsyncIterator[None]:
    """Around reading a streamed answer: transport errors raised as Junction's; the connection
    released to the pool when the reading ended normally, closed when it was left early (the
    client went away, an error) so that the upstream stops generating."""
    try:
        yield
    except (TimeoutError, aiohttp.ClientError) as exc:
        response.close()
        raise error_from_exception(config, exc) from exc
    except BaseException:
        response.close()
        raise
    response.release()


def stream_event(config: ProviderConfig, payload: bytes) -> Any:
    """One streamed event (an SSE ``data`` payload or an NDJSON line), parsed."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise UpstreamMalformed(
            f"provider '{config.name}' streamed an event that is not JSON",
            detail=upstream_detail(config, payload[:300].decode(errors="replace")),
        ) from None
