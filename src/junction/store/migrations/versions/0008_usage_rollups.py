"""usage_rollups: request-log counters per workspace, assistant, key, model, hour,
back-filled once from the existing log

Revision ID: 0008
Revises: 0006

The back-fill reads the log in batches of ``BACKFILL_BATCH`` rows (keyset on the primary key)
and adds each batch with the writer's own aggregation (``store.rollup``), so the rollups
of old and new rows are computed alike. It runs inside the migration, before any router on
this version writes: from the first new row on, the writer keeps the rollups itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from junction.store import rollup

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

BACKFILL_BATCH = 20_000
# The table's key as this revision made it (later revisions add dimensions; the shared
# aggregation in ``store.rollup`` is told which key to fill).
DIMENSIONS = ("workspace_id", "hour", "assistant", "key_id", "model")
SUMS = (
    "requests",
    "client_errors",
    "server_errors",
    "rate_limited",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "router_counted_requests",
    "router_counted_tokens",
    "latency_count",
    "latency_sum_ms",
    "ttft_count",
    "ttft_sum_ms",
)
FLOATS = ("cost", "latency_sum_ms", "ttft_sum_ms")
BUCKETS = 25  # 24 bounds and the open bucket above them


def _counters() -> list[sa.Column[object]]:
    names = [*SUMS, *(f"latency_b{i}" for i in range(BUCKETS))]
    names += [f"ttft_b{i}" for i in range(BUCKETS)]
    return [
        sa.Column(
            name,
            sa.Float() if name in FLOATS else sa.BigInteger(),
            nullable=False,
            server_default="0",
        )
        for name in names
    ]


def upgrade() -> None:
    op.create_table(
        "usage_rollups",
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assistant", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(512), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        *_counters(),
        sa.PrimaryKeyConstraint("workspace_id", "hour", "assistant", "key_id", "model"),
    )
    op.create_index("ix_usage_rollups_hour", "usage_rollups", ["hour"])
    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    present = {c["name"] for c in sa.inspect(conn).get_columns("request_logs")}
    # Rows older than the column were never counted by the router.
    fields = [name if name in present else f"0 AS {name}" for name in rollup.LOG_FIELDS]
    select = sa.text(
        f"SELECT {', '.join(fields)} FROM request_logs WHERE request_id > :after "
        "ORDER BY request_id LIMIT :n"
    )
    reader = rollup.Reader(rollup.LOG_FIELDS, DIMENSIONS)
    upsert = rollup.upsert_statement(conn.dialect.paramstyle, dimensions=DIMENSIONS)
    after = ""
    while True:
        rows = conn.execute(select, {"after": after, "n": BACKFILL_BATCH}).all()
        if not rows:
            return
        values = rollup.upsert_values(reader.add({}, rows))
        conn.exec_driver_sql(upsert, values)
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_usage_rollups_hour", table_name="usage_rollups")
    op.drop_table("usage_rollups")
