"""One access line per data-plane request, with its request id, on stdout.

The ``logging`` module costs tens of microseconds a record (record object, handler lock, a
write and flush per line), too much to pay on every request. Access lines are therefore
formatted straight from the ``Call`` into a buffer that is written out every
``FLUSH_SECONDS`` (or sooner when it fills), in the same format as the other process logs
(``process_log``): JSON lines, or plain text on a terminal.

What goes in is chosen field by field: ids, names, numbers and error codes. Never headers,
keys, provider credentials, message contents or upstream error texts (which may quote a prompt).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, TextIO

import orjson

from junction.core.call import Call

FLUSH_SECONDS = 0.2
MAX_BUFFERED_LINES = 512


class AccessLog:
    def __init__(self, stream: TextIO, as_json: bool) -> None:
        self._stream = stream
        self._json = as_json
        self._lines: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._second = -1
        self._stamp = ""

    def _time(self, now: float) -> str:
        second = int(now)
        if second != self._second:  # format the date once a second, not once a line
            self._second = second
            pattern = "%Y-%m-%dT%H:%M:%S" if self._json else "%H:%M:%S"
            self._stamp = time.strftime(pattern, time.gmtime(second))
        if self._json:
            return f"{self._stamp}.{int((now - second) * 1000):03d}+00:00"
        return self._stamp

    def observe(self, call: Call) -> None:
        """Call observer."""
        latency, ttft = call.latency_ms, call.ttft_ms
        fields: dict[str, Any] = {
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
        stamp = self._time(time.time())
        if self._json:
            head = {"time": stamp, "level": "info", "logger": "junction.access", "msg": "access"}
            line = orjson.dumps({**head, **fields}).decode() + "\n"
        else:
            pairs = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
            line = f"{stamp} INFO    junction.access  access  {pairs}\n"
        self._lines.append(line)
        if len(self._lines) >= MAX_BUFFERED_LINES:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            text = "".join(self._lines)
            self._lines.clear()
            try:
                self._stream.write(text)
                self._stream.flush()
            except (OSError, ValueError):  # stdout gone (closed pipe): never fail a request
                pass

    def start(self) -> None:
        loop = asyncio.get_running_loop()

        def tick() -> None:
            self.flush()
            self._timer = loop.call_later(FLUSH_SECONDS, tick)

        self._timer = loop.call_later(FLUSH_SECONDS, tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()
