"""Provider bodies. ``api_key`` is write-only: answers say only whether one is set."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from junction.schemas.common import PositiveInt, Public, Slug, Strict

Timeout = Annotated[float, Field(gt=0, le=3600)]
Tokenizer = Literal["tiktoken", "vllm", "llama.cpp"]
Price = Annotated[float, Field(ge=0)]


class ModelSpec(Strict):
    """A model a provider serves; prices are per million tokens."""

    name: Annotated[str, Field(min_length=1, max_length=256)]
    context_length: PositiveInt | None = None
    input_price: Price | None = None
    output_price: Price | None = None


_HOST = re.compile(
    r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?)+$|^\[[0-9A-Fa-f:.]+\]$"
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")  # RFC 9110 field-name
_FIELD_VALUE = re.compile(r"^[\t\x20-\x7e\x80-\xff]*$")  # no CR, LF, NUL or other controls
_MANAGED_HEADERS = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
}


def _check_base_url(value: str) -> str:
    """An absolute http(s) URL with a host: no spaces or control characters, no credentials
    (they would be shown in clear: use ``api_key`` or ``headers``), no query or fragment."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(value)
    if "@" in parts.netloc:
        raise ValueError(
            "must not carry credentials (user:password@): set the provider's api_key or headers"
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in 0-65535
    except ValueError:
        raise ValueError("has an invalid port") from None
    host = parts.hostname or ""
    bracketed = parts.netloc.startswith("[")
    if not host or not _HOST.match(f"[{host}]" if bracketed else host):
        raise ValueError("must name a valid host, e.g. http://127.0.0.1:8000/v1")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError("must not have a query string or fragment")
    return value.rstrip("/")


def _check_headers(value: dict[str, str] | None) -> dict[str, str] | None:
    """Header names are HTTP tokens, values have no line breaks or control characters, and
    the headers the HTTP client manages itself (Host, Content-Length, ...) are refused."""
    if value is None:
        return None
    if len(value) > 64:
        raise ValueError("at most 64 headers")
    for name, content in value.items():
        if not _TOKEN.match(name):
            raise ValueError(f"header name {name[:40]!r} is not a valid HTTP header name")
        if name.lower() in _MANAGED_HEADERS:
            raise ValueError(f"header {name!r} is set by the router itself")
        if len(content) > 8192 or not _FIELD_VALUE.match(content):
            raise ValueError(
                f"header {name!r}: the value must be at most 8192 characters without line "
                "breaks or control characters"
            )
    return value


class ProviderCreate(Strict):
    name: Slug
    kind: str = "openai"
    base_url: Annotated[str, Field(max_length=2048)]
    api_key: SecretStr | None = None
    connect_timeout: Timeout | None = None
    read_timeout: Timeout | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    tls_verify: bool = True
    max_concurrent: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """Upstream requests at once; further requests wait for a free connection."""
    tokenizer: Tokenizer = "tiktoken"
    """Who counts prompts against the context window: tiktoken in process, or the upstream's
    own tokenizer endpoint (vLLM's or llama.cpp's ``/tokenize``) for exact counts."""
    models: list[ModelSpec] | None = None
    """Models listed by hand; when absent they are discovered from the provider."""

    _base_url = field_validator("base_url")(_check_base_url)
    _headers = field_validator("headers")(_check_headers)


class ProviderUpdate(Strict):
    kind: str | None = None
    base_url: Annotated[str, Field(max_length=2048)] | None = None
    api_key: SecretStr | None = None
    connect_timeout: Timeout | None = None
    read_timeout: Timeout | None = None
    headers: dict[str, str] | None = None
    tls_verify: bool | None = None
    max_concurrent: Annotated[int, Field(ge=1, le=100_000)] | None = None
    tokenizer: Tokenizer | None = None
    models: list[ModelSpec] | None = None

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_base_url(value)

    _headers = field_validator("headers")(_check_headers)


class ProviderModelPublic(Public):
    name: str
    context_length: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    source: str = "manual"


class ProviderPublic(Public):
    name: str
    kind: str
    base_url: str
    has_api_key: bool
    connect_timeout: float | None
    read_timeout: float | None
    header_names: list[str]
    tls_verify: bool = True
    max_concurrent: int | None = None
    tokenizer: str = "tiktoken"
    models: list[ProviderModelPublic]
    discovered_at: datetime | None
    discovery_error: str | None
    created_at: datetime
    updated_at: datetime
    health: dict[str, Any] | None = None


class CatalogModel(Public):
    """One entry of ``GET /admin/v1/models``: what the assistant form's dropdown lists."""

    id: str
    provider: str
    kind: str
    name: str
    context_length: int | None
    input_price: float | None
    output_price: float | None
