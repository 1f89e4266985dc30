"""The admin key: rotated by ``junction admin-key rotate``, picked up by running routers.

The key is stored only as a hash (``meta.admin_key_hash``). Rotation writes a new hash; each
router re-reads it every ``admin_key_refresh_seconds``, so the old key stops working on every
replica within that time, without a restart. A key set by ``JUNCTION_ADMIN_KEY`` is rotated by
changing that variable instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from junction.bootstrap import ADMIN_KEY_HASH, new_admin_key
from junction.runtime import Runtime
from junction.security.secrets import SecretBox
from junction.store import meta
from junction.store.serving_db import Database, Sql

log = logging.getLogger(__name__)

_END_UI_SESSIONS = Sql("DELETE FROM ui_sessions")


async def rotate_admin_key(db: Database, box: SecretBox) -> str:
    """Replace the stored admin key's hash and end every UI session; returns the new key (to
    show once)."""
    key = new_admin_key()
    async with db.transaction() as conn:
        await meta.put(conn, ADMIN_KEY_HASH, box.hash_key(key))
        await conn.execute(_END_UI_SESSIONS)
    return key


class AdminKeyWatcher:
    """Keeps ``rt.admin_key_hash`` in step with the database (another process may rotate it)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        stored = await meta.read(self.rt.db, ADMIN_KEY_HASH)
        if stored is not None and stored != self.rt.admin_key_hash:
            self.rt.admin_key_hash = stored
            log.warning("the admin key was rotated; the previous one no longer works")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.rt.settings.admin_key_refresh_seconds)
            try:
                await self.refresh()
            except Exception as exc:  # a database hiccup: keep the current key, try again
                log.warning("could not re-read the admin key (%s)", exc)

    async def start(self) -> None:
        if not self.rt.settings.admin_key:  # an environment-given key never changes
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
