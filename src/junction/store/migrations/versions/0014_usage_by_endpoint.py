"""usage_rollups by front door: the log's ``endpoint`` becomes a rollup dimension, back-filled
from the raw rows still kept; one head again

Revision ID: 0014
Revises: 0007, 0008, 0009, 0010, 0011, 0013

The table is copied into its new layout (every existing rollup with ``endpoint`` ""), then the
log is read in batches of ``BACKFILL_BATCH`` rows (keyset on the primary key): each batch's
counters are added to the rollups of their front door and taken off the "" rollup of the same
workspace, hour, assistant, key and model, which counted them until now. Counters are sums, so
this moves them exactly. What is left under "" at the end are requests whose raw rows
retention had already deleted: they keep counting in every total, as a front door of their
own (``null`` in usage by endpoint). A "" rollup left with no request is deleted.

Like the revision that made the rollups, this runs before any router on this version writes;
replicas still on the previous version while it runs write rollups without a front door
(upgrade replicas together).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from junction.store import rollup

revision = "0014"
down_revision = ("0007", "0008", "0009", "0010", "0011", "0013")
branch_labels = None
depends_on = None

BACKFILL_BATCH = 20_000
BEFORE = ("workspace_id", "hour", "assistant", "key_id", "model")
AFTER = (*BEFORE, "endpoint")


def upgrade() -> None:
    conn = op.get_bind()
    counters = [c["name"] for c in sa.inspect(conn).get_columns("usage_rollups")]
    counters = [name for name in counters if name not in (*BEFORE, "day")]
    _relayout(conn, AFTER, counters, "''")
    _backfill(conn)


def _relayout(
    conn: sa.Connection, key: tuple[str, ...], counters: list[str], endpoint: str | None
) -> None:
    """Copies the rollups into a table keyed by ``key`` (with ``endpoint`` as given, or
    summed over it when None) and puts that table in the old one's place."""
    columns: list[sa.Column[Any]] = [
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assistant", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(512), nullable=False),
    ]
    if "endpoint" in key:
        columns.append(sa.Column("endpoint", sa.String(32), nullable=False, server_default=""))
    floats = {"cost", "latency_sum_ms", "ttft_sum_ms"}
    op.create_table(
        "usage_rollups_next",
        *columns,
        sa.Column("day", sa.String(10), nullable=False),
        *(
            sa.Column(
                name,
                sa.Float() if name in floats else sa.BigInteger(),
                nullable=False,
                server_default="0",
            )
            for name in counters
        ),
        sa.PrimaryKeyConstraint(*key, name="usage_rollups_next_pkey"),
    )
    kept = ", ".join((*BEFORE, "day"))
    if endpoint is not None:
        op.execute(
            f"INSERT INTO usage_rollups_next ({kept}, endpoint, {', '.join(counters)}) "
            f"SELECT {kept}, {endpoint}, {', '.join(counters)} FROM usage_rollups"
        )
    else:
        sums = ", ".join(f"SUM({name})" for name in counters)
        op.execute(
            f"INSERT INTO usage_rollups_next ({kept}, {', '.join(counters)}) "
            f"SELECT {kept}, {sums} FROM usage_rollups GROUP BY {kept}"
        )
    op.drop_index("ix_usage_rollups_hour", table_name="usage_rollups")
    op.drop_table("usage_rollups")
    op.rename_table("usage_rollups_next", "usage_rollups")
    if conn.dialect.name == "postgresql":  # the name the table had from its first revision
        op.execute(
            "ALTER TABLE usage_rollups RENAME CONSTRAINT usage_rollups_next_pkey "
            "TO usage_rollups_pkey"
        )
    op.create_index("ix_usage_rollups_hour", "usage_rollups", ["hour"])


def _backfill(conn: sa.Connection) -> None:
    select = sa.text(
        f"SELECT {', '.join(rollup.LOG_FIELDS)} FROM request_logs WHERE request_id > :after "
        "ORDER BY request_id LIMIT :n"
    )
    reader = rollup.Reader(rollup.LOG_FIELDS, AFTER)
    upsert = rollup.upsert_statement(conn.dialect.paramstyle, dimensions=AFTER)
    after = ""
    while True:
        rows = conn.execute(select, {"after": after, "n": BACKFILL_BATCH}).all()
        if not rows:
            break
        moved: rollup.Totals = {}
        for key, counts in reader.add({}, rows).items():
            if key[-1] == rollup.NONE:
                continue  # already where it belongs
            unknown = (*key[:-1], rollup.NONE)
            into = moved.setdefault(unknown, [0] * len(counts))
            for i, v in enumerate(counts):
                into[i] -= v
            moved[key] = counts
        conn.exec_driver_sql(upsert, rollup.upsert_values(moved))
        after = rows[-1][0]
    op.execute("DELETE FROM usage_rollups WHERE endpoint = '' AND requests <= 0")


def downgrade() -> None:
    conn = op.get_bind()
    counters = [c["name"] for c in sa.inspect(conn).get_columns("usage_rollups")]
    counters = [name for name in counters if name not in (*AFTER, "day")]
    _relayout(conn, BEFORE, counters, None)
