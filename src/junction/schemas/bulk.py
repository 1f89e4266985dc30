"""Lists across workspaces, and batches of admin operations in one transaction."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from junction.schemas.assistants import AssistantPublic
from junction.schemas.common import Strict
from junction.schemas.keys import KeyPublic

MAX_OPERATIONS = 1000


class WorkspaceKeyPublic(KeyPublic):
    workspace: str


class WorkspaceAssistantPublic(AssistantPublic):
    workspace: str


class BatchOperation(Strict):
    """One admin write, as it would be sent on its own: e.g. ``POST /workspaces/team/keys``."""

    method: Literal["POST", "PATCH", "DELETE"]
    path: Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^/")]
    body: dict[str, Any] | None = None


class BatchCreate(Strict):
    operations: Annotated[list[BatchOperation], Field(min_length=1, max_length=MAX_OPERATIONS)]


class BatchResult(BaseModel):
    """Each operation's answer, in order (null where it answers 204)."""

    data: list[Any]
