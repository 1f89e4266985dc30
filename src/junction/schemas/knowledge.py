"""Knowledge file bodies: what the admin API answers about a file on an assistant."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from junction.schemas.common import Public

FileStatus = Literal["processing", "ready", "failed"]


class KnowledgeFilePublic(Public):
    id: str
    filename: str
    bytes: int
    status: FileStatus
    chunks: int
    error: str | None
    sha256: str  # of the uploaded bytes: what `junction apply` compares
    created_at: datetime
