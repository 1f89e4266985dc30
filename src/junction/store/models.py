"""Tables. SQLite and PostgreSQL run the same models; JSON columns hold small lists and maps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Router-wide values, such as the admin key's hash."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ConfigChange(Base):
    """One entry of the configuration change feed: which row an admin write touched.

    ``seq`` numbers entries without gaps, in commit order (``config.feed`` assigns them under
    the ``config_seq`` row's lock); other processes re-read the rows named after the last entry
    they applied. ``kind`` is provider (``ref`` = name), workspace (id), key (key hash) or
    assistant (id); ``workspace_id`` locates keys and assistants that are gone.
    """

    __tablename__ = "config_changes"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(128))
    workspace_id: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UiSessionRow(Base):
    """A login to the admin web UI. ``id`` is the HMAC of the random session id the cookie
    holds (the database alone does not let anyone take a session over); the admin key it was
    opened with is kept encrypted, so that the UI calls the admin API as that admin."""

    __tablename__ = "ui_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin_key_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Provider(Base):
    __tablename__ = "providers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str] = mapped_column(String(2048))
    api_key_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    connect_timeout: Mapped[float | None] = mapped_column(Float, default=None)
    read_timeout: Mapped[float | None] = mapped_column(Float, default=None)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    tls_verify: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    max_concurrent: Mapped[int | None] = mapped_column(Integer, default=None)
    tokenizer: Mapped[str] = mapped_column(
        String(16), default="tiktoken", server_default="tiktoken"
    )
    # [{"name", "context_length", "input_price", "output_price", "source"}]
    models: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    discovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    discovery_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # "40%" or "4096"; None = the model's whole context length
    token_context_window: Mapped[str | None] = mapped_column(String(16), default=None)
    max_tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    rpm_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    tpm_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    monthly_token_budget: Mapped[int | None] = mapped_column(Integer, default=None)
    judge_assistant: Mapped[str | None] = mapped_column(String(128), default=None)
    log_content: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    rpm_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    tpm_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    rotated_from: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Assistant(Base):
    __tablename__ = "assistants"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[list[str]] = mapped_column(JSON)
    fallbacks: Mapped[list[str]] = mapped_column(JSON, default=list)
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    chat_history: Mapped[str] = mapped_column(String(16), default="off")
    disable_think: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    temperature: Mapped[float | None] = mapped_column(Float, default=None)
    quality_score: Mapped[int] = mapped_column(Integer, default=0)
    max_tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    embedding_model: Mapped[str | None] = mapped_column(String(512), default=None)
    context_score: Mapped[int] = mapped_column(Integer, default=65, server_default="65")
    # Changes whenever the assistant's usable knowledge changes (a file ready or gone, a new
    # embedding model): replicas reload its vectors when they see a new value.
    knowledge_version: Mapped[str] = mapped_column(String(32), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RequestLog(Base):
    """One data-plane request, written behind by ``accounting.writer``. No foreign keys: an
    entry outlives its key or assistant, and a batch never fails on a row deleted meanwhile."""

    __tablename__ = "request_logs"
    __table_args__ = (
        Index("ix_request_logs_ws_created", "workspace_id", "created_at"),
        Index("ix_request_logs_created", "created_at"),
    )
    request_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[str] = mapped_column(String(10))  # UTC "YYYY-MM-DD", for usage by day
    workspace_id: Mapped[str | None] = mapped_column(String(32), default=None)
    key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    assistant: Mapped[str | None] = mapped_column(String(128), default=None)
    model: Mapped[str | None] = mapped_column(String(512), default=None)  # "<provider>/<model>"
    provider: Mapped[str | None] = mapped_column(String(64), default=None)
    endpoint: Mapped[str] = mapped_column(String(32))
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float, default=None)
    ttft_ms: Mapped[float | None] = mapped_column(Float, default=None)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    quality_score: Mapped[float | None] = mapped_column(Float, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cut_off: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    request_content: Mapped[str | None] = mapped_column(Text, default=None)
    response_content: Mapped[str | None] = mapped_column(Text, default=None)
    # Tokens the router counted itself because the upstream's usage never arrived.
    counted_by_router: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[str | None] = mapped_column(Text, default=None)  # JSON: routing, quality, …


# Tables kept in modules of their own register on Base when imported; importing them here keeps
# Base.metadata complete for every user of the models.
from junction.store import conversations as _conversations  # noqa: E402, F401
from junction.store import knowledge as _knowledge  # noqa: E402, F401
from junction.store import usage_rollups as _usage_rollups  # noqa: E402, F401
