"""The ``usage_rollups`` table: the request log's counters per workspace, UTC hour, assistant,
key, model and front door, kept by the log writer (``store.rollup`` names the counters).

A Core table rather than a mapped class: its counter columns are generated from the one list
the writer, the back-fill and the queries share.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, PrimaryKeyConstraint, String, Table

from junction.store.models import Base, UTCDateTime
from junction.store.rollup import COUNTERS, DIMENSIONS, FLOAT_COUNTERS


def counter_columns() -> list[Column[object]]:
    return [
        Column(name, Float if name in FLOAT_COUNTERS else BigInteger, nullable=False, default=0)
        for name in COUNTERS
    ]


usage_rollups = Table(
    "usage_rollups",
    Base.metadata,
    # "" stands for none (failed authentication has no workspace; errors may have no model).
    Column("workspace_id", String(32), nullable=False),
    Column("hour", UTCDateTime, nullable=False),
    Column("assistant", String(128), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("model", String(512), nullable=False),
    # The log's ``endpoint`` (chat.completions, responses.create, messages, ...); "" for hours
    # counted before the front door was a dimension whose rows retention had already deleted.
    Column("endpoint", String(32), nullable=False, server_default=""),
    Column("day", String(10), nullable=False),  # UTC "YYYY-MM-DD" of the hour, for usage by day
    *counter_columns(),
    PrimaryKeyConstraint(*DIMENSIONS),
    Index("ix_usage_rollups_hour", "hour"),
)
