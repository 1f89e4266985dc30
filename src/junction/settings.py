"""The router's settings: one typed object, read from ``JUNCTION_*`` environment variables.

Every field is documented in the README's settings table; keep the two in step.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "junction"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JUNCTION_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    redis_url: str | None = None
    admin_key: str | None = None
    secret_key: str | None = None

    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 16 * 1024 * 1024
    graceful_shutdown_seconds: float = 30.0
    default_connect_timeout: float = 10.0
    default_read_timeout: float = 600.0
    discovery_timeout: float = 10.0
    config_poll_seconds: float = 1.0
    config_feed_keep: int = Field(default=10_000, ge=100)

    # Request log, usage and metrics (accounting/, telemetry/)
    request_log: bool = True
    log_queue_size: int = Field(default=20_000, ge=1)
    log_batch_size: int = Field(default=500, ge=1)
    log_flush_interval: float = Field(default=0.25, gt=0)
    log_retention_days: float = Field(default=30.0, ge=0)
    log_purge_interval: float = Field(default=3600.0, gt=0)
    usage_retention_days: float = Field(default=400.0, ge=0)
    log_content_max_bytes: int = Field(default=32_768, ge=0)
    log_format: str = Field(default="auto", pattern="^(auto|json|text)$")
    log_level: str = Field(default="info", pattern=r"^(?i:debug|info|warning|error|critical)$")
    access_log: bool = True
    metrics_max_label_values: int = Field(default=200, ge=1)
    otel_export: bool = False
    otel_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    otel_headers: str = ""  # name=value,name=value
    otel_service_name: str = "junction"

    # Rate limits, keys and hardening
    redis_prefix: str = "junction"
    redis_timeout: float = 0.5
    redis_retry_seconds: float = 5.0
    key_usage_flush_seconds: float = 10.0
    admin_key_refresh_seconds: float = 5.0
    max_messages: int = 2048
    max_json_depth: int = 64
    max_header_bytes: int = 32768
    request_read_timeout: float = 30.0

    # Chat history (history/store.py)
    history_retention_days: float = 30.0
    history_purge_seconds: float = 3600.0
    history_flush_seconds: float = 1.0
    history_flush_batch: int = 256
    history_cache_seconds: float = 60.0
    history_cache_conversations: int = 2_000

    # Routing (routing/retry.py, routing/health.py) and the quality gate (quality/).
    routing_retries: int = 2
    routing_max_attempts: int = 8
    routing_total_timeout: float = 900.0
    routing_backoff_base: float = 0.25
    routing_backoff_max: float = 8.0
    routing_max_retry_after: float = 30.0
    health_failure_threshold: int = 3
    health_cooldown_seconds: float = 30.0
    health_probe_timeout: float = 5.0

    # Assistant knowledge (knowledge/): upload limits, chunking, ingestion, retrieval.
    knowledge_max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    knowledge_max_files: int = Field(default=200, ge=1)
    knowledge_max_assistant_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    knowledge_max_file_chunks: int = Field(default=20_000, ge=1)
    knowledge_chunk_tokens: int = Field(default=400, ge=16)
    knowledge_chunk_overlap: int = Field(default=50, ge=0)
    knowledge_embed_batch: int = Field(default=64, ge=1)
    knowledge_embed_timeout: float = Field(default=120.0, gt=0)
    knowledge_query_timeout: float = Field(default=10.0, gt=0)
    knowledge_workers: int = Field(default=1, ge=1)
    knowledge_lease_seconds: float = Field(default=60.0, gt=0)
    knowledge_poll_seconds: float = Field(default=5.0, gt=0)
    knowledge_retry_seconds: float = Field(default=30.0, ge=0)
    knowledge_max_attempts: int = Field(default=3, ge=1)
    knowledge_top_k: int = Field(default=8, ge=1)
    knowledge_context_tokens: int = Field(default=3000, ge=0)
    knowledge_ann_min_chunks: int = Field(default=20_000, ge=0)
    # The trust boundary: upstream reads, operations endpoints, the UI's sessions and logins.
    upstream_max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    upstream_max_error_bytes: int = Field(default=64 * 1024, ge=256)
    upstream_max_line_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    metrics_token: str | None = None
    metrics_public: bool = False
    ui_session_seconds: float = Field(default=12 * 3600.0, gt=0)
    ui_session_cache_seconds: float = Field(default=2.0, ge=0)
    login_failures_per_minute: int = Field(default=10, ge=1)

    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'junction.db'}"
