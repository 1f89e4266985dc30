"""The SQLite file: its permissions (it holds chat history and logged content) and the
settings every connection to it takes, whichever way it is opened (the serving port's
``sqlite3``, SQLAlchemy's engine)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

TIMEOUT_SECONDS = 30.0  # how long a statement waits for another connection's write lock
PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={int(TIMEOUT_SECONDS * 1000)}",
)


def set_pragmas(connection: Any) -> None:
    """``PRAGMAS`` on a new DB-API connection."""
    cursor = connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


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
