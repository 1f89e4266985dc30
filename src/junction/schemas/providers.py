"""Provider bodies. ``api_key`` is write-only: answers say only whether one is set."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

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


def _check_base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


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
