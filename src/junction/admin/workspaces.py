"""``/admin/v1/workspaces``: tenants and their Generic OpenAI Settings."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from junction.admin.deps import Admin, Session, save, workspace_by_name
from junction.admin.paging import Limit, Search, name_like, page
from junction.admin.validation import check_window_for_assistants
from junction.schemas.common import ListOf
from junction.schemas.workspaces import WorkspaceCreate, WorkspacePublic, WorkspaceUpdate
from junction.security.secrets import new_id
from junction.store import models as m

router = APIRouter(tags=["workspaces"])


def _stored_window(value: int | str | None) -> str | None:
    return None if value is None else str(value)


@router.get("/workspaces")
async def list_workspaces(
    rt: Admin,
    s: Session,
    search: Search = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> ListOf[WorkspacePublic]:
    """By name; ``search`` keeps names containing it; ``next_cursor`` pages on."""
    query = select(m.Workspace)
    if search:
        query = query.where(name_like(m.Workspace.name, search))
    rows, next_cursor = await page(s, query, [m.Workspace.name], limit, cursor, lambda r: [r.name])
    return ListOf[WorkspacePublic](
        data=[WorkspacePublic.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.post("/workspaces", status_code=201)
async def create_workspace(body: WorkspaceCreate, rt: Admin, s: Session) -> WorkspacePublic:
    fields = body.model_dump()
    fields["token_context_window"] = _stored_window(body.token_context_window)
    row = m.Workspace(id=new_id("ws"), **fields)
    s.add(row)
    await save(rt, s)
    return WorkspacePublic.model_validate(row)


@router.get("/workspaces/{ws}")
async def get_workspace(ws: str, rt: Admin, s: Session) -> WorkspacePublic:
    return WorkspacePublic.model_validate(await workspace_by_name(s, ws))


@router.patch("/workspaces/{ws}")
async def update_workspace(
    ws: str, body: WorkspaceUpdate, rt: Admin, s: Session
) -> WorkspacePublic:
    row = await workspace_by_name(s, ws)
    changes = body.model_dump(exclude_unset=True)
    if "token_context_window" in changes:
        changes["token_context_window"] = _stored_window(body.token_context_window)
        check_window_for_assistants(rt.catalog.snapshot, changes["token_context_window"], row.id)
    for field, value in changes.items():
        setattr(row, field, value)
    await save(rt, s)
    return WorkspacePublic.model_validate(row)


@router.delete("/workspaces/{ws}", status_code=204)
async def delete_workspace(ws: str, rt: Admin, s: Session) -> Response:
    await s.delete(await workspace_by_name(s, ws))
    await save(rt, s)
    return Response(status_code=204)
