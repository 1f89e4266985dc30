"""All admin routes under ``/admin/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from junction.admin import (
    assistants,
    batch,
    conversations,
    keys,
    knowledge,
    logs,
    providers,
    workspaces,
)

router = APIRouter(prefix="/admin/v1")
for module in (providers, workspaces, keys, assistants, knowledge, logs, conversations, batch):
    router.include_router(module.router)
