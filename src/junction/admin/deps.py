"""What every admin handler needs: the runtime, the admin check, and look-ups that 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from junction.config import feed_record
from junction.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from junction.runtime import Runtime
from junction.security.secrets import same_secret
from junction.store import models as m


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def require_admin(request: Request, rt: Annotated[Runtime, Depends(get_runtime)]) -> Runtime:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed("The admin API needs 'Authorization: Bearer <admin key>'.")
    address = request.client.host if request.client else "local"
    wait = rt.login_failures.retry_after(address)
    if wait is not None:
        raise RateLimited(
            f"Too many wrong admin keys from your address; try again in {wait} s.",
            headers={"Retry-After": str(wait)},
        )
    digest = rt.box.key_digest(token)
    if same_secret(digest.hex(), rt.admin_key_hash):
        return rt
    rt.login_failures.failed(address)
    if digest in rt.catalog.snapshot.keys:
        raise PermissionDenied("Workspace API keys cannot use the admin API.")
    raise AuthenticationFailed("Incorrect admin key provided.")


Admin = Annotated[Runtime, Depends(require_admin)]


async def session(rt: Admin) -> AsyncIterator[AsyncSession]:
    await rt.catalog.wait_loaded()  # checks and prepared snapshots need the whole catalog
    async with rt.sessions() as s:
        feed_record.track(s)
        yield s


Session = Annotated[AsyncSession, Depends(session)]


BATCH = "admin_batch"  # in a session's info: one operation of a batch, committed by the batch


async def save(rt: Runtime, s: AsyncSession) -> None:
    """Commit with the change feed's entries, then apply them here and have every other
    process apply them (``ConfigSync``). Within a batch, only flush: the batch commits."""
    try:
        if s.info.get(BATCH):
            await s.flush()
            return
        entries = await feed_record.record(s, rt.settings.config_feed_keep)
        prepared = await rt.catalog.prepare(s, entries)
        await s.commit()
    except IntegrityError as exc:
        await s.rollback()
        raise Conflict("That name is already taken.") from exc
    if not entries:
        return
    if rt.config_sync is not None:
        await rt.config_sync.changed(entries[-1].seq, prepared)
    else:
        await rt.catalog.catch_up(entries[-1].seq, prepared)


async def workspace_by_name(s: AsyncSession, name: str) -> m.Workspace:
    found = await s.scalar(select(m.Workspace).where(m.Workspace.name == name))
    if found is None:
        raise NotFound(f"No workspace named '{name}'.", param="ws")
    return found


async def provider_by_name(s: AsyncSession, name: str) -> m.Provider:
    found = await s.scalar(select(m.Provider).where(m.Provider.name == name))
    if found is None:
        raise NotFound(f"No provider named '{name}'.", param="name")
    return found
