"""The configuration change feed's writing side: which rows an admin write touched (``feed``
describes the feed). Used by admin writes, through SQLAlchemy sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from junction.config.feed import PRUNE_EVERY, SEQ_KEY, Entry
from junction.store import models as m

_TOUCHED = "config_touched"


def track(session: AsyncSession) -> None:
    """Note, from now on, every configuration row this session's flushes touch."""
    session.sync_session.info.setdefault(_TOUCHED, {})


def note(session: AsyncSession, kind: str, ref: str, workspace_id: str | None) -> None:
    """A row changed by a statement rather than through the session's objects (an
    ``UPDATE``): an entry for it all the same, recorded with the rest by ``record``."""
    session.sync_session.info.setdefault(_TOUCHED, {})[(kind, ref, workspace_id)] = None


def _touched(obj: object) -> tuple[str, str, str | None] | None:
    if isinstance(obj, m.Workspace):
        return ("workspace", obj.id, None)
    if isinstance(obj, m.ApiKey):
        return ("key", obj.key_hash, obj.workspace_id)
    if isinstance(obj, m.Assistant):
        return ("assistant", obj.id, obj.workspace_id)
    if isinstance(obj, m.Provider):
        return ("provider", obj.name, None)
    return None


@event.listens_for(Session, "before_flush")
def _note(session: Session, _context: Any, _instances: Any) -> None:
    touched: dict[tuple[str, str, str | None], None] | None = session.info.get(_TOUCHED)
    if touched is None:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if (found := _touched(obj)) is not None:
            touched[found] = None


async def record(session: AsyncSession, keep: int) -> list[Entry]:
    """Within the admin write's transaction, before its commit: number and store what it
    touched. Returns the entries (none when nothing in the configuration changed)."""
    await session.flush()
    touched = session.sync_session.info.get(_TOUCHED)
    if not touched:
        return []
    entries = list(touched)
    touched.clear()
    result = await session.execute(
        text(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + :n AS TEXT) "
            "WHERE key = :key RETURNING value"
        ),
        {"n": len(entries), "key": SEQ_KEY},
    )
    last = int(result.scalar_one())
    first = last - len(entries) + 1
    now = m.utcnow()
    await session.execute(
        insert(m.ConfigChange),
        [
            {"seq": first + i, "kind": k, "ref": r, "workspace_id": w, "created_at": now}
            for i, (k, r, w) in enumerate(entries)
        ],
    )
    if last // PRUNE_EVERY != (first - 1) // PRUNE_EVERY:
        await session.execute(delete(m.ConfigChange).where(m.ConfigChange.seq <= last - keep))
    return [Entry(first + i, k, r, w) for i, (k, r, w) in enumerate(entries)]
