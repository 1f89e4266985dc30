"""providers: TLS verification switch and a cap on concurrent upstream requests

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers") as batch:
        batch.add_column(
            sa.Column("tls_verify", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("max_concurrent", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("providers") as batch:
        batch.drop_column("max_concurrent")
        batch.drop_column("tls_verify")
