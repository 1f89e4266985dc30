"""assistants: Disable Think as its own switch, apart from chat history

Assistants whose ``chat_history`` was the ``disable_think`` mode become ``on`` with
``disable_think`` true; going back turns ``on`` + true into the mode again (an assistant with
history ``off`` loses the switch, which the older schema cannot express).

Revision ID: 0011
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assistants") as batch:
        batch.add_column(
            sa.Column("disable_think", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE assistants SET chat_history = 'on', disable_think = TRUE "
        "WHERE chat_history = 'disable_think'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE assistants SET chat_history = 'disable_think' "
        "WHERE chat_history = 'on' AND disable_think = TRUE"
    )
    with op.batch_alter_table("assistants") as batch:
        batch.drop_column("disable_think")
