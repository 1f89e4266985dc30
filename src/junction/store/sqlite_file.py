"""The SQLite file's permissions: it holds chat history and logged content."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def private_sqlite_file(database: str | None) -> None:
    """The SQLite file (chat history, logged content) readable by its owner only: created
    0600 before SQLite opens it (its -wal and -shm files take the same mode), and an existing
    one, with its -wal and -shm, narrowed to 0600."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for each in (path, Path(f"{database}-wal"), Path(f"{database}-shm")):
        with contextlib.suppress(OSError):  # not ours, or gone: leave it
            if each.exists() and each.stat().st_mode & 0o077:
                each.chmod(0o600)
