"""providers: which tokenizer counts prompts (tiktoken in process, or the upstream's)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers") as batch:
        batch.add_column(
            sa.Column("tokenizer", sa.String(16), nullable=False, server_default="tiktoken")
        )


def downgrade() -> None:
    with op.batch_alter_table("providers") as batch:
        batch.drop_column("tokenizer")
