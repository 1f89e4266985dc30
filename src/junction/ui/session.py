"""The UI's login session and CSRF tokens, both derived from the router's root secret.

The session cookie holds the admin key, encrypted and authenticated (Fernet via ``SecretBox``),
with an expiry and a random nonce: the UI then calls the admin API with that key, so it is held
to exactly the admin API's rules, and a changed admin key ends every session at once. The CSRF
token is an HMAC of the session's nonce (synchronizer token), checked on every state-changing
request. Before login, a separate short-lived cookie carries the nonce for the login form.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import orjson

from junction.runtime import Runtime
from junction.security.secrets import same_secret

SESSION_COOKIE = "junction_ui"
LOGIN_COOKIE = "junction_ui_login"
SESSION_SECONDS = 12 * 3600
LOGIN_FORM_SECONDS = 3600


@dataclass(frozen=True)
class UiSession:
    admin_key: str
    nonce: str
    expires: float


@dataclass
class Sessions:
    """Issues and checks session cookies; logged-out nonces are refused until they expire."""

    rt: Runtime
    ended: dict[str, float] = field(default_factory=dict)

    def issue(self, admin_key: str) -> tuple[str, UiSession]:
        session = UiSession(admin_key, secrets.token_urlsafe(16), time.time() + SESSION_SECONDS)
        payload = orjson.dumps({"k": session.admin_key, "n": session.nonce, "e": session.expires})
        return self.rt.box.encrypt(payload.decode()), session

    def read(self, cookie: str | None) -> UiSession | None:
        if not cookie:
            return None
        try:
            data = orjson.loads(self.rt.box.decrypt(cookie))
            session = UiSession(str(data["k"]), str(data["n"]), float(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires < time.time() or session.nonce in self.ended:
            return None
        if not self.is_admin_key(session.admin_key):
            return None
        return session

    def is_admin_key(self, key: str) -> bool:
        return bool(key) and same_secret(self.rt.box.hash_key(key), self.rt.admin_key_hash)

    def end(self, session: UiSession) -> None:
        now = time.time()
        self.ended = {n: e for n, e in self.ended.items() if e > now}
        self.ended[session.nonce] = session.expires

    def csrf_token(self, nonce: str, purpose: str = "session") -> str:
        return self.rt.box.hash_key(f"junction-ui-csrf/{purpose}/{nonce}")

    def csrf_ok(self, nonce: str | None, token: str | None, purpose: str = "session") -> bool:
        if not nonce or not token:
            return False
        return same_secret(self.csrf_token(nonce, purpose), token)


def new_login_nonce() -> str:
    return secrets.token_urlsafe(16)
