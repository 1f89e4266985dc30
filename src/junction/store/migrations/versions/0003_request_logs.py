"""request logs and the workspace content-logging switch

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(
            sa.Column("log_content", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "request_logs",
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("assistant", sa.String(length=128), nullable=True),
        sa.Column("model", sa.String(length=512), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("quality_score", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cut_off", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("request_content", sa.Text(), nullable=True),
        sa.Column("response_content", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_request_logs_ws_created", "request_logs", ["workspace_id", "created_at"])
    op.create_index("ix_request_logs_created", "request_logs", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_request_logs_created", table_name="request_logs")
    op.drop_index("ix_request_logs_ws_created", table_name="request_logs")
    op.drop_table("request_logs")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("log_content")
