"""API key bodies. The key itself appears once, in the answer that creates or rotates it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field

from junction.schemas.common import Limit, Public, Strict


class KeyCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=128)] = "default"
    expires_at: AwareDatetime | None = None
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None


class KeyUpdate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    expires_at: AwareDatetime | None = None
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None


class KeyRotate(Strict):
    grace_seconds: Annotated[int, Field(ge=0, le=30 * 86400)] = 0
    expires_at: AwareDatetime | None = None
    """The new key's expiry; by default the old key's, if that is still ahead, else none."""


class KeyPublic(Public):
    id: str
    name: str
    key_prefix: str
    expires_at: datetime | None
    revoked_at: datetime | None
    rpm_limit: int | None
    tpm_limit: int | None
    rotated_from: str | None
    created_at: datetime
    last_used_at: datetime | None


class KeyCreated(KeyPublic):
    key: str
