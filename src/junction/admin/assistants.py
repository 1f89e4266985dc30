"""``/admin/v1/workspaces/{ws}/assistants``: what clients name in ``model``."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from junction.admin.deps import Admin, Session, save, workspace_by_name
from junction.admin.knowledge import knowledge_model_changed
from junction.admin.paging import Limit, Search, name_like, page
from junction.admin.validation import check_model_refs, check_window
from junction.config.snapshot import Snapshot
from junction.errors import NotFound
from junction.schemas.assistants import AssistantCreate, AssistantPublic, AssistantUpdate
from junction.schemas.bulk import WorkspaceAssistantPublic
from junction.schemas.common import ListOf
from junction.security.secrets import new_id
from junction.store import models as m

router = APIRouter(tags=["assistants"])


async def _assistant(s: AsyncSession, workspace_id: str, name: str) -> m.Assistant:
    row = await s.scalar(
        select(m.Assistant).where(
            m.Assistant.workspace_id == workspace_id, m.Assistant.name == name
        )
    )
    if row is None:
        raise NotFound(f"No assistant named '{name}' in this workspace.", param="name")
    return row


def _check(
    snapshot: Snapshot,
    workspace: m.Workspace,
    model: list[str],
    fallbacks: list[str],
    embedding_model: str | None = None,
) -> None:
    check_model_refs(snapshot, "model", model)
    check_model_refs(snapshot, "fallbacks", fallbacks)
    if embedding_model is not None:
        check_model_refs(snapshot, "embedding_model", [embedding_model])
    check_window(snapshot, workspace.token_context_window, [*model, *fallbacks], "model")


@router.get("/workspaces/{ws}/assistants")
async def list_assistants(
    ws: str,
    rt: Admin,
    s: Session,
    search: Search = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> ListOf[AssistantPublic]:
    """By name; ``search`` keeps names containing it; ``next_cursor`` pages on."""
    workspace = await workspace_by_name(s, ws)
    query = select(m.Assistant).where(m.Assistant.workspace_id == workspace.id)
    if search:
        query = query.where(name_like(m.Assistant.name, search))
    rows, next_cursor = await page(s, query, [m.Assistant.name], limit, cursor, lambda r: [r.name])
    return ListOf[AssistantPublic](
        data=[AssistantPublic.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/assistants")
async def list_all_assistants(
    rt: Admin,
    s: Session,
    search: Search = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> ListOf[WorkspaceAssistantPublic]:
    """Every workspace's assistants, with the workspace's name (what ``apply`` reads at once)."""
    query = select(m.Assistant, m.Workspace.name).join(
        m.Workspace, m.Workspace.id == m.Assistant.workspace_id
    )
    if search:
        query = query.where(name_like(m.Assistant.name, search))
    order = [m.Assistant.workspace_id, m.Assistant.name]
    rows, next_cursor = await page(
        s, query, order, limit, cursor, lambda r: [r[0].workspace_id, r[0].name], scalars=False
    )
    data = [
        WorkspaceAssistantPublic(
            **AssistantPublic.model_validate(assistant).model_dump(), workspace=name
        )
        for assistant, name in rows
    ]
    return ListOf[WorkspaceAssistantPublic](data=data, next_cursor=next_cursor)


@router.post("/workspaces/{ws}/assistants", status_code=201)
async def create_assistant(
    ws: str, body: AssistantCreate, rt: Admin, s: Session
) -> AssistantPublic:
    workspace = await workspace_by_name(s, ws)
    _check(rt.catalog.snapshot, workspace, body.model, body.fallbacks, body.embedding_model)
    row = m.Assistant(id=new_id("asst"), workspace_id=workspace.id, **body.model_dump())
    s.add(row)
    await save(rt, s)
    return AssistantPublic.model_validate(row)


@router.get("/workspaces/{ws}/assistants/{name}")
async def get_assistant(ws: str, name: str, rt: Admin, s: Session) -> AssistantPublic:
    workspace = await workspace_by_name(s, ws)
    return AssistantPublic.model_validate(await _assistant(s, workspace.id, name))


@router.patch("/workspaces/{ws}/assistants/{name}")
async def update_assistant(
    ws: str, name: str, body: AssistantUpdate, rt: Admin, s: Session
) -> AssistantPublic:
    workspace = await workspace_by_name(s, ws)
    row = await _assistant(s, workspace.id, name)
    changes = body.model_dump(exclude_unset=True)
    # Fields that cannot be empty keep their value when sent as null.
    for field in (
        "name",
        "model",
        "description",
        "fallbacks",
        "system_prompt",
        "chat_history",
        "disable_think",
        "quality_score",
        "context_score",
    ):
        if field in changes and changes[field] is None:
            del changes[field]
    _check(
        rt.catalog.snapshot,
        workspace,
        changes.get("model", row.model),
        changes.get("fallbacks", row.fallbacks),
        changes.get("embedding_model"),
    )
    new_embedding = (
        "embedding_model" in changes and changes["embedding_model"] != row.embedding_model
    )
    if new_embedding:
        await knowledge_model_changed(s, row, changes["embedding_model"])
    for field, value in changes.items():
        setattr(row, field, value)
    await save(rt, s)
    if new_embedding:
        rt.knowledge.kick()
    return AssistantPublic.model_validate(row)


@router.delete("/workspaces/{ws}/assistants/{name}", status_code=204)
async def delete_assistant(ws: str, name: str, rt: Admin, s: Session) -> Response:
    workspace = await workspace_by_name(s, ws)
    await s.delete(await _assistant(s, workspace.id, name))
    await save(rt, s)
    return Response(status_code=204)
