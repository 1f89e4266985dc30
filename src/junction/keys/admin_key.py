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

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from junction.bootstrap import ADMIN_KEY_HASH
from junction.runtime import Runtime
from junction.security.secrets import SecretBox, new_api_key
from junction.store.models import Meta, UiSessionRow

log = logging.getLogger(__name__)


def new_admin_key() -> str:
    return "ja-" + new_api_key().removeprefix("jk-")


async def rotate_admin_key(sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> str:
    """Replace the stored admin key's hash and end every UI session; returns the new key (to
    show once)."""
    key = new_admin_key()
    async with sessions() as s:
        row = await s.get(Meta, ADMIN_KEY_HASH)
        if row is None:
            s.add(Meta(key=ADMIN_KEY_HASH, value=box.hash_key(key)))
        else:
            row.value = box.hash_key(key)
        await s.execute(delete(UiSessionRow))
        await s.commit()
    return key


class AdminKeyWatcher:
    """Keeps ``rt.admin_key_hash`` in step with the database (another process may rotate it)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        async with self.rt.sessions() as s:
            row = await s.get(Meta, ADMIN_KEY_HASH)
        if row is not None and row.value != self.rt.admin_key_hash:
            self.rt.admin_key_hash = row.value
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
