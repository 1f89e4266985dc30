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

from junction.errors import (
    JunctionError,
    RateLimited,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)

Json = dict[str, Any]


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


MAX_ANSWER_BYTES = 64 * 1024 * 1024
"""A non-streamed upstream answer larger than this is refused (an endless body would otherwise
grow the router's memory without bound)."""


async def read_bounded(response: aiohttp.ClientResponse, provider: str, seconds: float) -> bytes:
    """The whole body of a non-streamed answer: at most ``MAX_ANSWER_BYTES``, within
    ``seconds`` of its headers (an upstream answers a non-streamed request once it is done, so
    a body still trickling in after the read timeout is broken, not slow)."""
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(seconds):
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                response.close()  # drop the connection: the rest of the body is never read
                raise UpstreamError(
                    f"provider '{provider}' answered more than {MAX_ANSWER_BYTES} bytes"
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _no_json(_obj: object) -> str:
    raise TypeError("encode request bodies with orjson before handing them to aiohttp")


def error_from_status(status: int, text: str, retry_after: str | None = None) -> JunctionError:
    """An upstream's error answer as the error Junction gives its own client."""
    message = f"upstream answered {status}: {_error_message(text)}"
    if status == 429:
        headers = {"Retry-After": retry_after} if retry_after else {}
        return RateLimited(message, headers=headers)
    if 400 <= status < 500:
        return UpstreamRejected(message, upstream_status=status)
    if status == 503:
        return UpstreamUnavailable(
            message, headers={"Retry-After": retry_after} if retry_after else None
        )
    if status == 504:
        return UpstreamTimeout(message)
    return UpstreamError(message)


def _error_message(text: str) -> str:
    import orjson

    try:
        data = orjson.loads(text)
        if isinstance(data, dict):
            err = data.get("error")
            if isinstance(err, dict) and isinstance(err.get("message"), str):
                return str(err["message"])[:500]
            if isinstance(err, str):
                return err[:500]
            if isinstance(data.get("message"), str):
                return str(data["message"])[:500]
    except orjson.JSONDecodeError:
        pass
    return text.strip()[:500] or "(empty body)"


def error_from_exception(provider: str, exc: BaseException) -> UpstreamError:
    """A transport failure (refused, reset, timed out, garbage) as a 502 or 504."""
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"provider '{provider}' timed out")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamError(f"provider '{provider}' is unreachable: {exc.strerror or exc}")
    return UpstreamError(f"provider '{provider}' failed: {type(exc).__name__}: {exc}")
