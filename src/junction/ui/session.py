"""The UI's login sessions, kept in the database, and its CSRF tokens.

The session cookie holds only a random session id (256 bits). The database keeps its HMAC
(``ui_sessions.id``), its expiry and the admin key it was opened with, encrypted (Fernet via
``SecretBox``): the UI calls the admin API with that key, so it is held to exactly the admin
API's rules. Because the row lives in the database, logging out, expiry and a changed admin
key end a session in every worker and replica, and a restart does not bring one back.

Each process caches what it read for ``ui_session_cache_seconds`` (2 s by default), so that a
page with several requests reads the row once; a logout elsewhere takes effect here within
that time, a logout here at once. The CSRF token is an HMAC of the session id (synchronizer
token), checked on every state-changing request. Before login, a separate short-lived cookie
carries a nonce for the login form.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete

from junction.runtime import Runtime
from junction.security.secrets import same_secret
from junction.store.models import UiSessionRow

SESSION_COOKIE = "junction_ui"
LOGIN_COOKIE = "junction_ui_login"
LOGIN_FORM_SECONDS = 3600
_CACHE_LIMIT = 1024


@dataclass(frozen=True)
class UiSession:
    admin_key: str
    nonce: str  # the session id: what the CSRF token is derived from
    expires: float


@dataclass
class Sessions:
    """Opens, reads and ends sessions (``ui_sessions``), with a short per-process cache."""

    rt: Runtime
    _cache: dict[str, tuple[float, UiSession | None]] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.rt.settings.ui_session_seconds

    async def issue(self, admin_key: str) -> tuple[str, UiSession]:
        session_id = secrets.token_urlsafe(32)
        expires = time.time() + self.seconds
        now = datetime.now(UTC)
        async with self.rt.sessions() as s:
            await s.execute(delete(UiSessionRow).where(UiSessionRow.expires_at < now))
            s.add(
                UiSessionRow(
                    id=self._row_id(session_id),
                    admin_key_encrypted=self.rt.box.encrypt(admin_key),
                    created_at=now,
                    expires_at=datetime.fromtimestamp(expires, UTC),
                )
            )
            await s.commit()
        return session_id, UiSession(admin_key, session_id, expires)

    async def read(self, cookie: str | None) -> UiSession | None:
        if not cookie or len(cookie) > 128:
            return None
        now = time.time()
        cached = self._cache.get(cookie)
        if (
            cached is not None
            and time.monotonic() - cached[0] < self.rt.settings.ui_session_cache_seconds
        ):
            session = cached[1]
        else:
            session = await self._load(cookie)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[cookie] = (time.monotonic(), session)
        if session is None or session.expires < now or not self.is_admin_key(session.admin_key):
            return None
        return session

    async def _load(self, session_id: str) -> UiSession | None:
        async with self.rt.sessions() as s:
            row = await s.get(UiSessionRow, self._row_id(session_id))
        if row is None:
            return None
        try:
            admin_key = self.rt.box.decrypt(row.admin_key_encrypted)
        except ValueError:  # encrypted under another root secret
            return None
        return UiSession(admin_key, session_id, row.expires_at.timestamp())

    async def end(self, session: UiSession) -> None:
        self._cache.pop(session.nonce, None)
        async with self.rt.sessions() as s:
            await s.execute(
                delete(UiSessionRow).where(UiSessionRow.id == self._row_id(session.nonce))
            )
            await s.commit()

    def _row_id(self, session_id: str) -> str:
        return self.rt.box.hash_key("junction-ui-session/" + session_id)

    def is_admin_key(self, key: str) -> bool:
        return bool(key) and same_secret(self.rt.box.hash_key(key), self.rt.admin_key_hash)

    def csrf_token(self, nonce: str, purpose: str = "session") -> str:
        return self.rt.box.hash_key(f"junction-ui-csrf/{purpose}/{nonce}")

    def csrf_ok(self, nonce: str | None, token: str | None, purpose: str = "session") -> bool:
        if not nonce or not token:
            return False
        return same_secret(self.csrf_token(nonce, purpose), token)


def new_login_nonce() -> str:
    return secrets.token_urlsafe(16)
