"""request_logs: tokens counted by the router, and the entry's details (routing, quality, …)

Revision ID: 0012
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_logs") as batch:
        batch.add_column(
            sa.Column("counted_by_router", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("details", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_logs") as batch:
        batch.drop_column("details")
        batch.drop_column("counted_by_router")
