"""Workspace bodies: a tenant and its "Generic OpenAI Settings"."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import field_validator

from junction.schemas.common import (
    MAX_TOKENS,
    AssistantName,
    Limit,
    PositiveInt,
    Public,
    Slug,
    Strict,
)

_PERCENT = re.compile(r"^(\d{1,3}(?:\.\d+)?)%$")

ContextWindow = int | str
"""An absolute token count (``4096``) or a share of the model's context length (``"40%"``)."""


def check_context_window(value: ContextWindow | None) -> ContextWindow | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be a token count or a percentage such as '40%'")
    if isinstance(value, int):
        if not 1 <= value <= MAX_TOKENS:
            raise ValueError(f"must be between 1 and {MAX_TOKENS} tokens")
        return value
    if value.isdigit() and len(value) <= 12:
        return check_context_window(int(value))
    match = _PERCENT.match(value.strip())
    if not match or not 0 < float(match.group(1)) <= 100:
        raise ValueError("must be a token count or a percentage in (0, 100], such as '40%'")
    return value.strip()


class WorkspaceSettings(Strict):
    token_context_window: ContextWindow | None = None
    max_tokens: PositiveInt | None = None
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    monthly_token_budget: Limit | None = None
    judge_assistant: AssistantName | None = None
    log_content: bool = False
    """Store request and response bodies in the request log (capped in size)."""

    @field_validator("token_context_window", mode="before")
    @classmethod
    def _window(cls, value: ContextWindow | None) -> ContextWindow | None:
        return check_context_window(value)


class WorkspaceCreate(WorkspaceSettings):
    name: Slug


class WorkspaceUpdate(WorkspaceSettings):
    pass


class WorkspacePublic(Public):
    name: str
    token_context_window: ContextWindow | None
    max_tokens: int | None
    rpm_limit: int | None
    tpm_limit: int | None
    monthly_token_budget: int | None
    judge_assistant: str | None
    log_content: bool
    created_at: datetime
    updated_at: datetime

    @field_validator("token_context_window", mode="before")
    @classmethod
    def _window(cls, value: str | int | None) -> ContextWindow | None:
        return int(value) if isinstance(value, str) and value.isdigit() else value
