"""The admin key: from ``JUNCTION_ADMIN_KEY``, or generated once and kept only as a hash."""

from __future__ import annotations

from junction.runtime import Runtime
from junction.security.secrets import new_api_key
from junction.store import meta

ADMIN_KEY_HASH = "admin_key_hash"
MIN_ADMIN_KEY_LENGTH = 20
"""A ``JUNCTION_ADMIN_KEY`` shorter than this is refused at start (a generated or rotated key
is 46 characters of 256 random bits)."""


def new_admin_key() -> str:
    return "ja-" + new_api_key().removeprefix("jk-")


async def ensure_admin_key(rt: Runtime) -> str | None:
    """Sets ``rt.admin_key_hash``; returns the new key when one was generated (to print once)."""
    if rt.settings.admin_key:
        if len(rt.settings.admin_key.strip()) < MIN_ADMIN_KEY_LENGTH:
            raise RuntimeError(
                f"JUNCTION_ADMIN_KEY is too short: use at least {MIN_ADMIN_KEY_LENGTH} random "
                "characters (or unset it to have the router generate one)"
            )
        rt.admin_key_hash = rt.box.hash_key(rt.settings.admin_key)
        return None
    stored = await meta.read(rt.db, ADMIN_KEY_HASH)
    if stored is not None:
        rt.admin_key_hash = stored
        return None
    key = new_admin_key()
    hashed = rt.box.hash_key(key)
    if not await meta.add(rt.db, ADMIN_KEY_HASH, hashed):  # another replica generated it first
        stored = await meta.read(rt.db, ADMIN_KEY_HASH)
        assert stored is not None
        rt.admin_key_hash = stored
        return None
    rt.admin_key_hash = hashed
    return key
