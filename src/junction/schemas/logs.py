"""Request log entries and usage rows as the admin API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, field_validator

from junction.schemas.common import Public


class LogEntryPublic(Public):
    request_id: str
    created_at: datetime
    workspace_id: str | None
    key_id: str | None
    assistant: str | None
    model: str | None
    provider: str | None
    endpoint: str
    stream: bool
    status: int
    latency_ms: float | None
    ttft_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost: float
    quality_score: float | None
    attempts: int
    cut_off: bool
    error: str | None
    error_code: str | None
    request_content: str | None
    response_content: str | None
    counted_by_router: bool = False
    details: dict[str, Any] | None = None  # routing failures, quality verdicts, history trims

    @field_validator("details", mode="before")
    @classmethod
    def _parse_details(cls, value: object) -> object:
        return orjson.loads(value) if isinstance(value, str) else value


class UsageReport(BaseModel):
    """Rows carry the group field (``assistant``, ``key_id``, ``model``, ``endpoint`` (the
    front door), ``day`` or ``hour``) plus
    ``requests``, ``prompt_tokens``, ``completion_tokens`` and ``cost``."""

    group_by: str
    since: datetime | None
    until: datetime | None
    data: list[dict[str, Any]]
    total: dict[str, Any]
