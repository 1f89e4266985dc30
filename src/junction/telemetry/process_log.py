"""Process logs: JSON lines on stdout (one object per line), plain text when stdout is a terminal.

``access_logger`` is a call observer that writes one ``access`` line per data-plane request
with its request id. What it writes is chosen field by field from the ``Call``: never headers,
keys, provider credentials, message contents or upstream error texts (which may quote a
prompt), only ids, names, numbers and error codes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from junction.dataplane.call import Call

ACCESS = logging.getLogger("junction.access")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class HumanReadable(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s  %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _fields(record)
        if fields:
            pairs = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
            first, sep, rest = text.partition("\n")
            text = f"{first}  {pairs}{sep}{rest}"
        return text


def configure_logging(log_format: str, level: str, stream: TextIO | None = None) -> None:
    """Route every logger (uvicorn's too) to one stdout handler in the chosen format."""
    stream = stream or sys.stdout
    if log_format == "auto":
        log_format = "text" if stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines() if log_format == "json" else HumanReadable())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def access_logger() -> Callable[[Call], None]:
    def observe(call: Call) -> None:
        if not ACCESS.isEnabledFor(logging.INFO):
            return
        latency, ttft = call.latency_ms, call.ttft_ms
        fields = {
            "request_id": call.request_id,
            "endpoint": call.endpoint,
            "status": call.status,
            "latency_ms": round(latency, 2) if latency is not None else None,
            "ttft_ms": round(ttft, 2) if ttft is not None else None,
            "workspace": call.workspace.name if call.workspace else None,
            "key_id": call.key.id if call.key else None,
            "assistant": call.assistant.name if call.assistant else None,
            "model": call.deployment,
            "attempts": call.attempts,
            "stream": call.stream,
            "prompt_tokens": call.prompt_tokens,
            "completion_tokens": call.completion_tokens,
            "error_code": call.error_code,
        }
        ACCESS.info("access", extra={"fields": fields})

    return observe
