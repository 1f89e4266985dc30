"""Field types shared by the schema families."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", min_length=1, max_length=63)
]
"""Provider and workspace names: lower-case letters, digits, ``-`` and ``_``."""

AssistantName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$", max_length=128)
]
"""What clients put in ``model``: case-sensitive, no spaces or slashes."""


def _check_model_ref(value: str) -> str:
    provider, sep, model = value.partition("/")
    if not sep or not model or not provider:
        raise ValueError("must be '<provider>/<model>'")
    return value


ModelRef = Annotated[
    str, StringConstraints(min_length=3, max_length=512), AfterValidator(_check_model_ref)
]
"""A model addressed as ``<provider>/<model>``, e.g. ``ollama/qwen3:14b``."""

MAX_TOKENS = 100_000_000
"""The largest token count accepted anywhere (context lengths, windows, max_tokens)."""
MAX_LIMIT = 10**15
"""The largest rate limit or budget accepted: far below 2**63, so every database stores it."""

PositiveInt = Annotated[int, Field(ge=1, le=MAX_TOKENS)]
"""A token count: context lengths, windows, ``max_tokens``."""
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
"""A rate limit (requests or tokens per minute) or a token budget."""


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class ListOf(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None
