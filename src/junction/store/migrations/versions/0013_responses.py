"""conversation_turns: the Response object and input items of turns made by /v1/responses

Revision ID: 0013
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_turns") as batch:
        batch.add_column(sa.Column("response", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("input_items", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation_turns") as batch:
        batch.drop_column("input_items")
        batch.drop_column("response")
