"""Assistant bodies: what clients name in ``model``, and how the router serves it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from junction.schemas.common import AssistantName, ModelRef, PositiveInt, Public, Strict

ChatHistory = Literal["on", "disable_think", "off"]
Temperature = Annotated[float, Field(ge=0, le=2)]
QualityScore = Annotated[int, Field(ge=0, le=100)]
Pool = Annotated[list[ModelRef], Field(min_length=1, max_length=16)]
ContextScore = Annotated[int, Field(ge=0, le=100)]


def _as_pool(value: object) -> object:
    return [value] if isinstance(value, str) else value


class AssistantFields(Strict):
    description: Annotated[str, Field(max_length=2000)] = ""
    fallbacks: Annotated[list[ModelRef], Field(max_length=16)] = Field(default_factory=list)
    system_prompt: Annotated[str, Field(max_length=200_000)] = ""
    chat_history: ChatHistory = "off"
    temperature: Temperature | None = None
    quality_score: QualityScore = 0
    max_tokens: PositiveInt | None = None
    embedding_model: ModelRef | None = None
    context_score: ContextScore = 65


class AssistantCreate(AssistantFields):
    name: AssistantName
    model: Pool

    _pool = field_validator("model", mode="before")(_as_pool)


class AssistantUpdate(Strict):
    name: AssistantName | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    model: Pool | None = None
    fallbacks: Annotated[list[ModelRef], Field(max_length=16)] | None = None
    system_prompt: Annotated[str, Field(max_length=200_000)] | None = None
    chat_history: ChatHistory | None = None
    temperature: Temperature | None = None
    quality_score: QualityScore | None = None
    max_tokens: PositiveInt | None = None
    embedding_model: ModelRef | None = None
    context_score: ContextScore | None = None

    _pool = field_validator("model", mode="before")(_as_pool)


class AssistantPublic(Public):
    name: str
    description: str
    model: list[str]
    fallbacks: list[str]
    system_prompt: str
    chat_history: str
    temperature: float | None
    quality_score: int
    max_tokens: int | None
    embedding_model: str | None
    context_score: int
    created_at: datetime
    updated_at: datetime
