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

    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'junction.db'}"
