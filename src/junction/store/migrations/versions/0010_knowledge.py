"""knowledge: files on an assistant, their embedded chunks, and the assistant's knowledge fields

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assistants") as batch:
        batch.add_column(sa.Column("embedding_model", sa.String(512), nullable=True))
        batch.add_column(
            sa.Column("context_score", sa.Integer(), nullable=False, server_default="65")
        )
        batch.add_column(
            sa.Column("knowledge_version", sa.String(32), nullable=False, server_default="")
        )
    op.create_table(
        "knowledge_files",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("assistant_id", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assistant_id"], ["assistants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_knowledge_files_status", "knowledge_files", ["status"])
    op.create_index("ix_knowledge_files_assistant_id", "knowledge_files", ["assistant_id"])
    op.create_table(
        "knowledge_chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_id", sa.String(length=32), nullable=False),
        sa.Column("assistant_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["knowledge_files.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assistant_id"], ["assistants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_knowledge_chunks_file_id", "knowledge_chunks", ["file_id"])
    op.create_index("ix_knowledge_chunks_assistant_id", "knowledge_chunks", ["assistant_id"])


def downgrade() -> None:
    op.drop_index("ix_knowledge_chunks_assistant_id", table_name="knowledge_chunks")
    op.drop_index("ix_knowledge_chunks_file_id", table_name="knowledge_chunks")
    op.drop_table("knowledge_chunks")
    op.drop_index("ix_knowledge_files_assistant_id", table_name="knowledge_files")
    op.drop_index("ix_knowledge_files_status", table_name="knowledge_files")
    op.drop_table("knowledge_files")
    with op.batch_alter_table("assistants") as batch:
        batch.drop_column("knowledge_version")
        batch.drop_column("context_score")
        batch.drop_column("embedding_model")
