"""The ``usage_rollups`` table: the request log's counters per workspace, assistant, key,
model, UTC hour, kept by the log writer (``store.rollup`` names the counters).

A Core table rather than a mapped class: its counter columns are generated from the one list
the writer, the back-fill and the queries share.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, PrimaryKeyConstraint, String, Table

from junction.store.models import Base, UTCDateTime
from junction.store.rollup import COUNTERS, FLOAT_COUNTERS


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
    Column("day", String(10), nullable=False),  # UTC "YYYY-MM-DD" of the hour, for usage by day
    *counter_columns(),
    PrimaryKeyConstraint("workspace_id", "hour", "assistant", "key_id", "model"),
    Index("ix_usage_rollups_hour", "hour"),
)
