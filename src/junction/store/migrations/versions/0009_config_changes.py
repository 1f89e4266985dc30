"""config_changes: the configuration change feed, and its counter in meta

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "config_changes",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    # The last number given out; admin writes take it under a row lock, so entries commit in
    # order and without gaps.
    op.execute("INSERT INTO meta (key, value) VALUES ('config_seq', '0')")
    op.execute("DELETE FROM meta WHERE key = 'config_version'")


def downgrade() -> None:
    op.execute("DELETE FROM meta WHERE key = 'config_seq'")
    op.drop_table("config_changes")
