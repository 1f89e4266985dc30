"""The configuration change feed: which rows each admin write touched, numbered in commit order.

An admin session is *tracked* (``feed_record.track``): every flush notes the providers,
workspaces, keys and assistants it inserts, updates or deletes. ``feed_record.record``, just
before the commit, takes the next numbers from the ``config_seq`` row in ``meta`` (an
``UPDATE`` that holds the row's lock until the commit, so entries commit in number order and
without gaps) and writes one ``config_changes`` row per touched row, in the same transaction as
the change itself.

A process that has applied entry N re-reads the rows named by N+1, N+2, …: the cost of a change
is that of the rows it touched, whatever the size of the catalog. Old entries are pruned (the
newest ``keep`` stay); a process that missed pruned entries reloads everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from junction.store import meta
from junction.store.serving_db import Conn, Sql

SEQ_KEY = "config_seq"
PRUNE_EVERY = 1000  # entries between two prunings

_SINCE = Sql(
    "SELECT seq, kind, ref, workspace_id FROM config_changes WHERE seq > $1 ORDER BY seq LIMIT $2"
)


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    kind: str  # provider | workspace | key | assistant
    ref: str  # provider name, workspace id, key hash, assistant id
    workspace_id: str | None


async def current(conn: Conn) -> int:
    """The last number given out."""
    value = await meta.read(conn, SEQ_KEY)
    return int(value) if value is not None else 0


async def since(conn: Conn, applied: int, limit: int) -> Sequence[Entry]:
    """Up to ``limit`` entries after ``applied``, oldest first."""
    return [Entry(*row) for row in await conn.fetch(_SINCE, applied, limit)]
