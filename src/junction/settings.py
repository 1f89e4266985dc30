"""The router's settings: one typed object, read from ``JUNCTION_*`` environment variables.

Every field is documented in the README's settings table; keep the two in step.

``Settings()`` takes each field from its keyword argument, else from ``JUNCTION_<FIELD>`` (the
name in any case), else its default; a value the router cannot use is a ``SettingsError``
naming the variable. The fields are numbers, flags, paths and strings, so the standard library
reads them: pydantic-settings (with pydantic) cost every start about 12 MB and 0.1 s of CPU.
Flags take what pydantic took: 1/0, true/false, yes/no, on/off, t/f, y/n, in any case.
"""

from __future__ import annotations

import os
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

PREFIX = "JUNCTION_"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class SettingsError(ValueError):
    """A setting whose value the router cannot use."""


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "junction"


def _limited(default: float, *, ge: float | None = None, gt: float | None = None) -> Any:
    return field(default=default, metadata={"ge": ge, "gt": gt})


def _one_of(default: str, choices: tuple[str, ...], *, any_case: bool = False) -> Any:
    return field(default=default, metadata={"choices": choices, "any_case": any_case})


@dataclass(init=False)
class Settings:
    data_dir: Path = field(default_factory=_default_data_dir)
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
    config_feed_keep: int = _limited(10_000, ge=100)

    # Request log, usage and metrics (accounting/, telemetry/)
    request_log: bool = True
    log_queue_size: int = _limited(20_000, ge=1)
    log_batch_size: int = _limited(500, ge=1)
    log_flush_interval: float = _limited(0.25, gt=0)
    log_retention_days: float = _limited(30.0, ge=0)
    log_purge_interval: float = _limited(3600.0, gt=0)
    usage_retention_days: float = _limited(400.0, ge=0)
    log_content_max_bytes: int = _limited(32_768, ge=0)
    log_format: str = _one_of("auto", ("auto", "json", "text"))
    log_level: str = _one_of(
        "info", ("debug", "info", "warning", "error", "critical"), any_case=True
    )
    access_log: bool = True
    metrics_max_label_values: int = _limited(200, ge=1)
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
    knowledge_max_file_bytes: int = _limited(10 * 1024 * 1024, ge=1)
    knowledge_max_files: int = _limited(200, ge=1)
    knowledge_max_assistant_bytes: int = _limited(200 * 1024 * 1024, ge=1)
    knowledge_max_file_chunks: int = _limited(20_000, ge=1)
    knowledge_chunk_tokens: int = _limited(400, ge=16)
    knowledge_chunk_overlap: int = _limited(50, ge=0)
    knowledge_embed_batch: int = _limited(64, ge=1)
    knowledge_embed_timeout: float = _limited(120.0, gt=0)
    knowledge_query_timeout: float = _limited(10.0, gt=0)
    knowledge_workers: int = _limited(1, ge=1)
    knowledge_lease_seconds: float = _limited(60.0, gt=0)
    knowledge_poll_seconds: float = _limited(5.0, gt=0)
    knowledge_retry_seconds: float = _limited(30.0, ge=0)
    knowledge_max_attempts: int = _limited(3, ge=1)
    knowledge_top_k: int = _limited(8, ge=1)
    knowledge_context_tokens: int = _limited(3000, ge=0)
    knowledge_ann_min_chunks: int = _limited(20_000, ge=0)
    # The trust boundary: upstream reads, operations endpoints, the UI's sessions and logins.
    upstream_max_body_bytes: int = _limited(64 * 1024 * 1024, ge=1024)
    upstream_max_error_bytes: int = _limited(64 * 1024, ge=256)
    upstream_max_line_bytes: int = _limited(8 * 1024 * 1024, ge=1024)
    metrics_token: str | None = None
    metrics_public: bool = False
    ui_session_seconds: float = _limited(12 * 3600.0, gt=0)
    ui_session_cache_seconds: float = _limited(2.0, ge=0)
    login_failures_per_minute: int = _limited(10, ge=1)

    def __init__(self, **given: Any) -> None:
        unknown = set(given) - {f.name for f in fields(Settings)}
        if unknown:
            raise TypeError(f"Settings has no field {', '.join(sorted(unknown))}")
        env = {name.upper(): value for name, value in os.environ.items()}
        for f in fields(Settings):
            variable = PREFIX + f.name.upper()
            if f.name in given:
                value = _parsed(f, given[f.name], f.name)
            elif variable in env:
                value = _parsed(f, env[variable], variable)
            elif callable(f.default_factory):
                value = f.default_factory()
            else:
                value = f.default
            setattr(self, f.name, value)

    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'junction.db'}"


_TRUE = {"1", "true", "yes", "on", "t", "y"}
_FALSE = {"0", "false", "no", "off", "f", "n"}


def _flag(text: str) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise ValueError(text)


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        number = float(text)  # "8080.0" is a whole number, as pydantic took it
        if not number.is_integer():
            raise
        return int(number)


# Each field's annotation (a string: annotations are postponed) and what reads it from text.
_READERS: dict[str, tuple[Any, str]] = {
    "bool": (_flag, "a flag (true or false)"),
    "int": (_integer, "a whole number"),
    "float": (float, "a number"),
    "Path": (Path, "a path"),
    "str": (str, "a string"),
    "str | None": (str, "a string"),
}


def _parsed(f: Field[Any], raw: Any, name: str) -> Any:
    read, what = _READERS[str(f.type)]
    if raw is None and f.type == "str | None":
        return None
    try:
        value = read(raw) if isinstance(raw, str) or f.type in ("float", "Path") else raw
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected {what}") from None
    if f.type in ("int", "bool") and not isinstance(value, int):
        raise SettingsError(f"{name}={raw!r}: expected {what}")
    ge, gt, choices = f.metadata.get("ge"), f.metadata.get("gt"), f.metadata.get("choices")
    if ge is not None and value < ge:
        raise SettingsError(f"{name}={raw!r}: must be at least {ge}")
    if gt is not None and value <= gt:
        raise SettingsError(f"{name}={raw!r}: must be more than {gt}")
    if choices is not None:
        chosen = value.lower() if f.metadata["any_case"] else value
        if chosen not in choices:
            raise SettingsError(f"{name}={raw!r}: must be one of {', '.join(choices)}")
    return value
