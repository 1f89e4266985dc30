"""The one interface every provider kind implements.

Requests and answers cross it in OpenAI's chat-completion format as plain dicts: a kind that
speaks another wire format (Ollama, Anthropic) translates both ways inside its own module.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiohttp
import orjson

from junction.errors import (
    JunctionError,
    RateLimited,
    UpstreamError,
    UpstreamMalformed,
    UpstreamRefused,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from junction.security.redact import redact

Json = dict[str, Any]


@dataclass(frozen=True)
class UpstreamLimits:
    """How much of an upstream's bytes the router reads (``upstream_max_*`` settings)."""

    body: int = 64 * 1024 * 1024  # a non-streamed answer
    error: int = 64 * 1024  # an error answer's body: the rest is not read
    line: int = 8 * 1024 * 1024  # one line (one event) of a streamed answer


@dataclass(frozen=True)
class ProviderConfig:
    """A provider as the runtime sees it: credentials decrypted, defaults applied."""

    name: str
    kind: str
    base_url: str
    api_key: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    headers: dict[str, str] = field(default_factory=dict)
    tls_verify: bool = True
    max_concurrent: int | None = None  # upstream connections at once; more requests queue
    tokenizer: str = "tiktoken"  # who counts prompts: tiktoken, vllm, llama.cpp (tokens/upstream)
    limits: UpstreamLimits = field(default_factory=UpstreamLimits)

    def secrets(self) -> tuple[str | None, ...]:
        """Values that must never appear in what the router stores or shows."""
        return (self.api_key, *self.headers.values())

    def fingerprint(self) -> tuple[object, ...]:
        return (
            self.kind,
            self.base_url,
            self.api_key,
            self.connect_timeout,
            self.read_timeout,
            tuple(sorted(self.headers.items())),
            self.tls_verify,
            self.max_concurrent,
            self.tokenizer,
            self.limits,
        )


@dataclass(frozen=True)
class DiscoveredModel:
    name: str
    context_length: int | None = None


class Provider(abc.ABC):
    """One upstream, with one pooled HTTP session that lives as long as the provider."""

    kind: ClassVar[str]

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(
                total=None,
                sock_connect=self.config.connect_timeout,
                sock_read=self.config.read_timeout,
            )
            connector = aiohttp.TCPConnector(
                limit=self.config.max_concurrent or 0,
                ttl_dns_cache=300,
                keepalive_timeout=30,
                ssl=self.config.tls_verify,  # False: accept any certificate
            )
            self._session = aiohttp.ClientSession(
                timeout=timeout,
                connector=connector,
                headers=self.default_headers(),
                json_serialize=_no_json,
            )
        return self._session

    def default_headers(self) -> dict[str, str]:
        return dict(self.config.headers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @abc.abstractmethod
    async def list_models(self) -> list[DiscoveredModel]:
        """The models the upstream serves, with context lengths where it reports them."""

    @abc.abstractmethod
    async def chat(self, body: Json) -> Json:
        """A non-streamed chat completion, as an OpenAI ``chat.completion`` dict."""

    @abc.abstractmethod
    async def chat_stream(self, body: Json) -> AsyncIterator[Json]:
        """Start a streamed completion; the iterator yields ``chat.completion.chunk`` dicts.

        Errors that happen before the first chunk (connect, status) are raised here, by the
        await, so that the client still gets a proper HTTP status.
        """

    async def probe(self) -> None:
        """A cheap call that shows the upstream answers (health checks after a cooldown)."""
        await self.list_models()

    async def embeddings(self, body: Json) -> Json:
        raise UpstreamRejected(
            f"provider kind '{self.kind}' does not serve embeddings", upstream_status=400
        )

    async def completions(self, body: Json) -> Json:
        """A legacy text completion (``/v1/completions``), for kinds whose upstream has it."""
        raise UpstreamRejected(
            f"provider kind '{self.kind}' does not serve /v1/completions", upstream_status=400
        )

    async def completions_stream(self, body: Json) -> AsyncIterator[Json]:
        raise UpstreamRejected(
            f"provider kind '{self.kind}' does not serve /v1/completions", upstream_status=400
        )


async def read_bounded(response: aiohttp.ClientResponse, config: ProviderConfig) -> bytes:
    """The whole body of a non-streamed answer: at most ``limits.body`` bytes, within the read
    timeout of its headers (an upstream answers a non-streamed request once it is done, so a
    body still trickling in after the read timeout is broken, not slow)."""
    limit = config.limits.body
    content = response.content
    if content.is_eof():  # the whole body came with the headers: nothing to wait for
        body = content.read_nowait()
        if len(body) > limit:
            response.close()
            raise _too_large(config, limit)
        return body
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(config.read_timeout):
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > limit:
                response.close()  # drop the connection: the rest of the body is never read
                raise _too_large(config, limit)
            chunks.append(chunk)
    return b"".join(chunks)


def _too_large(config: ProviderConfig, limit: int) -> UpstreamMalformed:
    return UpstreamMalformed(f"provider '{config.name}' answered more than {limit} bytes")


async def read_error_body(response: aiohttp.ClientResponse, config: ProviderConfig) -> str:
    """At most ``limits.error`` bytes of an error answer, within the read timeout; a longer
    body is cut there and its connection dropped rather than drained."""
    limit = config.limits.error
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(config.read_timeout):
            while size < limit:
                chunk = await response.content.read(limit - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except (TimeoutError, aiohttp.ClientError):
        pass
    if size >= limit and not response.content.at_eof():
        response.close()
    else:
        response.release()
    return b"".join(chunks).decode(errors="replace")


def _no_json(_obj: object) -> str:
    raise TypeError("encode request bodies with orjson before handing them to aiohttp")


MAX_DETAIL_CHARS = 2000


def upstream_detail(config: ProviderConfig, text: str) -> str:
    """What an upstream said, for operators: redacted, and short."""
    return redact(text.strip()[:MAX_DETAIL_CHARS], config.secrets()) or "(empty body)"


def error_from_status(
    config: ProviderConfig, status: int, text: str, retry_after: str | None = None
) -> JunctionError:
    """An upstream's error answer as the error Junction gives its own client.

    The upstream's words stay in ``detail`` (operators only), except for a 400/404/413/422
    about the request itself, whose message the caller gets too, redacted."""
    name = config.name
    detail = upstream_detail(config, _error_message(text, MAX_DETAIL_CHARS))
    headers = {"Retry-After": retry_after} if retry_after else {}
    if status == 429:
        return RateLimited(
            f"provider '{name}' is rate limited (upstream 429)", headers=headers, detail=detail
        )
    if status in (400, 404, 413, 422):
        said = redact(_error_message(text, 500), config.secrets())
        return UpstreamRejected(
            f"upstream answered {status}: {said}", upstream_status=status, detail=detail
        )
    if status in (401, 403):
        return UpstreamRefused(
            f"provider '{name}' refused the router's credentials (upstream {status}); "
            "this is the router's configuration, not your API key",
            detail=detail,
        )
    if status == 408:
        return UpstreamTimeout(f"provider '{name}' timed out (upstream 408)", detail=detail)
    if 400 <= status < 500:
        return UpstreamRefused(
            f"provider '{name}' refused the request (upstream {status})", detail=detail
        )
    if status == 503:
        return UpstreamUnavailable(
            f"provider '{name}' is unavailable (upstream 503)", headers=headers, detail=detail
        )
    if status == 504:
        return UpstreamTimeout(f"provider '{name}' timed out (upstream 504)", detail=detail)
    return UpstreamError(f"provider '{name}' failed (upstream {status})", detail=detail)


def _error_message(text: str, limit: int) -> str:
    """The message of a JSON error body (OpenAI's, Anthropic's, FastAPI's shapes), else the
    body itself; at most ``limit`` characters."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:limit]
        for found in (err, data.get("message"), data.get("detail")):
            if isinstance(found, str):
                return found[:limit]
    return text.strip()[:limit] or "(empty body)"


def error_from_exception(config: ProviderConfig, exc: BaseException) -> UpstreamError:
    """A transport failure (refused, reset, timed out, garbage) as a 502 or 504; the
    transport's own words (addresses, proxies) go to operators only."""
    name = config.name
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"provider '{name}' timed out")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamError(
            f"provider '{name}' is unreachable",
            detail=upstream_detail(config, str(exc.strerror or exc)),
        )
    return UpstreamError(
        f"provider '{name}' failed: {type(exc).__name__}",
        detail=upstream_detail(config, str(exc)),
    )
