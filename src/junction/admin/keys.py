"""``/admin/v1/workspaces/{ws}/keys``: create, list, rotate with grace, revoke.

Lifecycle rules: an expiry given is in the future; a key retired by rotation (a newer key was
rotated from it) or revoked stays retired: its expiry can only be brought forward, never
cleared or pushed back; rotation gives the new key its own expiry (the one asked for, else
the old key's if still ahead, else none), never one already passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from junction.admin.deps import Admin, Session, save, workspace_by_name
from junction.admin.paging import Limit, Search, name_like, page
from junction.errors import InvalidRequest, NotFound
from junction.runtime import Runtime
from junction.schemas.bulk import WorkspaceKeyPublic
from junction.schemas.common import ListOf
from junction.schemas.keys import KeyCreate, KeyCreated, KeyPublic, KeyRotate, KeyUpdate
from junction.security.secrets import new_api_key, new_id
from junction.store import models as m
from junction.store.models import utcnow

router = APIRouter(tags=["keys"])


def _new_key_row(rt: Runtime, workspace_id: str, **fields: object) -> tuple[m.ApiKey, str]:
    secret = new_api_key()
    row = m.ApiKey(
        id=new_id("key"),
        workspace_id=workspace_id,
        key_hash=rt.box.hash_key(secret),
        key_prefix=secret[:10],
        **fields,
    )
    return row, secret


async def _key(s: AsyncSession, workspace_id: str, key_id: str) -> m.ApiKey:
    row = await s.scalar(
        select(m.ApiKey).where(m.ApiKey.workspace_id == workspace_id, m.ApiKey.id == key_id)
    )
    if row is None:
        raise NotFound(f"No key '{key_id}' in this workspace.", param="id")
    return row


def _created(row: m.ApiKey, secret: str) -> KeyCreated:
    return KeyCreated(**KeyPublic.model_validate(row).model_dump(), key=secret)


def _filtered(query: Any, search: str | None, revoked: bool | None) -> Any:
    if search:
        query = query.where(name_like(m.ApiKey.name, search))
    if revoked is not None:
        query = query.where(
            m.ApiKey.revoked_at.is_not(None) if revoked else m.ApiKey.revoked_at.is_(None)
        )
    return query


@router.get("/workspaces/{ws}/keys")
async def list_keys(
    ws: str,
    rt: Admin,
    s: Session,
    search: Search = None,
    revoked: bool | None = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> ListOf[KeyPublic]:
    """Oldest first; ``search`` in the name, ``revoked`` true/false; ``next_cursor`` pages on."""
    workspace = await workspace_by_name(s, ws)
    query = _filtered(
        select(m.ApiKey).where(m.ApiKey.workspace_id == workspace.id), search, revoked
    )
    order = [m.ApiKey.created_at, m.ApiKey.id]
    rows, next_cursor = await page(s, query, order, limit, cursor, lambda r: [r.created_at, r.id])
    return ListOf[KeyPublic](
        data=[KeyPublic.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/keys")
async def list_all_keys(
    rt: Admin,
    s: Session,
    search: Search = None,
    revoked: bool | None = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> ListOf[WorkspaceKeyPublic]:
    """Every workspace's keys, with the workspace's name (what ``apply`` reads at once)."""
    query = _filtered(
        select(m.ApiKey, m.Workspace.name).join(
            m.Workspace, m.Workspace.id == m.ApiKey.workspace_id
        ),
        search,
        revoked,
    )
    order = [m.ApiKey.created_at, m.ApiKey.id]
    rows, next_cursor = await page(
        s, query, order, limit, cursor, lambda r: [r[0].created_at, r[0].id], scalars=False
    )
    data = [
        WorkspaceKeyPublic(**KeyPublic.model_validate(key).model_dump(), workspace=name)
        for key, name in rows
    ]
    return ListOf[WorkspaceKeyPublic](data=data, next_cursor=next_cursor)


@router.post("/workspaces/{ws}/keys", status_code=201)
async def create_key(ws: str, body: KeyCreate, rt: Admin, s: Session) -> KeyCreated:
    workspace = await workspace_by_name(s, ws)
    _check_future(body.expires_at)
    row, secret = _new_key_row(rt, workspace.id, **body.model_dump())
    s.add(row)
    await save(rt, s)
    return _created(row, secret)


@router.patch("/workspaces/{ws}/keys/{key_id}")
async def update_key(ws: str, key_id: str, body: KeyUpdate, rt: Admin, s: Session) -> KeyPublic:
    """Rename a key or change its expiry and limits (null clears a limit or the expiry)."""
    workspace = await workspace_by_name(s, ws)
    row = await _key(s, workspace.id, key_id)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name") is None:
        changes.pop("name", None)
    if "expires_at" in changes:
        await _check_new_expiry(s, row, changes["expires_at"])
    for field, value in changes.items():
        setattr(row, field, value)
    await save(rt, s)
    return KeyPublic.model_validate(row)


@router.post("/workspaces/{ws}/keys/{key_id}/rotate", status_code=201)
async def rotate_key(
    ws: str, key_id: str, rt: Admin, s: Session, body: KeyRotate | None = None
) -> KeyCreated:
    """A new key with the same settings; the old one keeps working for ``grace_seconds``."""
    workspace = await workspace_by_name(s, ws)
    old = await _key(s, workspace.id, key_id)
    if old.revoked_at is not None:
        raise InvalidRequest("A revoked key cannot be rotated.", param="id")
    asked = body or KeyRotate()
    _check_future(asked.expires_at)
    grace = asked.grace_seconds
    now = utcnow()
    end = now + timedelta(seconds=grace)
    expires = asked.expires_at
    if expires is None and old.expires_at is not None and old.expires_at > now:
        expires = old.expires_at
    new, secret = _new_key_row(
        rt,
        workspace.id,
        name=old.name,
        expires_at=expires,
        rpm_limit=old.rpm_limit,
        tpm_limit=old.tpm_limit,
        rotated_from=old.id,
    )
    if grace == 0:
        old.revoked_at = utcnow()
    elif old.expires_at is None or old.expires_at > end:
        old.expires_at = end
    s.add(new)
    await save(rt, s)
    return _created(new, secret)


def _check_future(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidRequest("expires_at: must be in the future", param="expires_at")


async def _check_new_expiry(s: AsyncSession, row: m.ApiKey, expires_at: datetime | None) -> None:
    """A live key may get any future expiry or none; a retired one only an earlier one."""
    _check_future(expires_at)
    successor = await s.scalar(select(m.ApiKey.id).where(m.ApiKey.rotated_from == row.id))
    retired = "revoked" if row.revoked_at is not None else "rotated" if successor else None
    if retired is None:
        return
    if expires_at is None or row.expires_at is None or expires_at > row.expires_at:
        raise InvalidRequest(
            f"expires_at: this key was {retired}; it stays retired (its expiry can only be "
            "brought forward). Create a new key instead.",
            param="expires_at",
        )


@router.delete("/workspaces/{ws}/keys/{key_id}", status_code=204)
async def revoke_key(ws: str, key_id: str, rt: Admin, s: Session) -> Response:
    workspace = await workspace_by_name(s, ws)
    row = await _key(s, workspace.id, key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    await save(rt, s)
    return Response(status_code=204)
