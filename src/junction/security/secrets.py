"""The router's root secret and what is derived from it.

One secret (``JUNCTION_SECRET_KEY``, or a random one kept in the data directory) yields two
independent keys: an HMAC key that hashes API keys, and a Fernet key that encrypts provider
credentials. Changing the secret invalidates every stored key hash and credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from junction.settings import Settings

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

SECRET_FILE = "secret.key"
KEY_PREFIX = "jk-"
MAX_CACHED_DIGESTS = 4096


def load_root_secret(settings: Settings) -> bytes:
    """The configured secret, else the one in the data directory, created there on first use."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / SECRET_FILE
    if path.exists():
        return path.read_bytes().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    _write_private(path, value)
    return value


def _write_private(path: Path, value: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(value)


def _derive(root: bytes, label: bytes) -> bytes:
    return hmac.new(root, label, hashlib.sha256).digest()


class SecretBox:
    """Hashes API keys and encrypts stored credentials with keys derived from the root secret."""

    def __init__(self, root: bytes) -> None:
        self._hash_key = _derive(root, b"junction/api-key-hash")
        self._credential_key = base64.urlsafe_b64encode(_derive(root, b"junction/credentials"))
        self._cipher: Fernet | None = None
        # Every data-plane request hashes its key: the digests of the keys seen last are kept
        # (a bounded number; unknown keys too, so the map is emptied when it fills).
        self._digests: dict[str, bytes] = {}

    def key_digest(self, key: str) -> bytes:
        """What the catalog looks a key up by: 32 bytes, half the memory of its hex form."""
        digests = self._digests
        found = digests.get(key)
        if found is None:
            if len(digests) >= MAX_CACHED_DIGESTS:
                digests.clear()
            found = digests[key] = hmac.digest(self._hash_key, key.encode(), "sha256")
        return found

    def hash_key(self, key: str) -> str:
        """The key's hash as stored (hex)."""
        return self.key_digest(key).hex()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet().encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet().decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored credential cannot be decrypted with this secret key") from exc

    def _fernet(self) -> Fernet:
        # cryptography costs about 7 MB: imported by the first stored credential, not at start
        if self._cipher is None:
            from cryptography.fernet import Fernet

            self._cipher = Fernet(self._credential_key)
        return self._cipher


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def holds_admin_key(box: SecretBox, admin_key_hash: str, authorization: str | None) -> bool:
    """``Authorization: Bearer <admin key>`` (for endpoints outside the admin API)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not admin_key_hash:
        return False
    return same_secret(box.hash_key(token), admin_key_hash)
