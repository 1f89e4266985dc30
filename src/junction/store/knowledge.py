"""Knowledge tables: the files uploaded to an assistant, and their embedded chunks.

A file keeps its original bytes until it is ``ready``: a router stopped mid-ingestion picks the
file up again on its next start (or another replica does, once the lease has run out). Vectors
are float32 little-endian bytes, normalised to unit length, so that one dot product is the
cosine. Deleting an assistant or a workspace deletes its files and chunks (foreign keys).
"""

from __future__ import annotations

import builtins
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from junction.store.models import Base, UTCDateTime, utcnow


class KnowledgeFile(Base):
    __tablename__ = "knowledge_files"
    __table_args__ = (Index("ix_knowledge_files_status", "status"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    assistant_id: Mapped[str] = mapped_column(
        ForeignKey("assistants.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16))  # text, markdown, html, pdf, docx, csv, json
    bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[builtins.bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    status: Mapped[str] = mapped_column(String(16), default="processing")
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class KnowledgeChunk(Base):
    __tablename__ = "knowledge_chunks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(
        ForeignKey("knowledge_files.id", ondelete="CASCADE"), index=True
    )
    assistant_id: Mapped[str] = mapped_column(
        ForeignKey("assistants.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    tokens: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[builtins.bytes] = mapped_column(LargeBinary)
