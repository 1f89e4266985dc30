"""Request and response bodies for the request log, when the workspace turns ``log_content`` on.

Each is capped at ``JUNCTION_LOG_CONTENT_MAX_BYTES`` (UTF-8); a clipped body ends with a marker
saying how much was left out. For streams the assembled text of the content deltas is kept.
"""

from __future__ import annotations

from typing import Any

import orjson

from junction.core.call import Call

CLIPPED = "…[truncated {} bytes]"
STREAM_CLIPPED = "…[truncated]"


def clip(text: str, cap: int) -> str:
    raw = text.encode()
    if len(raw) <= cap:
        return text
    return raw[:cap].decode(errors="ignore") + CLIPPED.format(len(raw) - cap)


def capture_request(call: Call, body: Any, cap: int) -> None:
    call.request_content = clip(orjson.dumps(body).decode(), cap)


def capture_response(call: Call, answer: Any, cap: int) -> None:
    call.response_content = clip(orjson.dumps(answer).decode(), cap)


def capture_delta(call: Call, chunk: dict[str, Any], cap: int) -> None:
    """Append a streamed chunk's content deltas, until the cap is reached."""
    if call.notes.get("content_clipped"):
        return
    pieces = [
        c["delta"]["content"]
        for c in chunk.get("choices") or ()
        if isinstance(c, dict)
        and isinstance(c.get("delta"), dict)
        and isinstance(c["delta"].get("content"), str)
    ]
    if pieces:
        text = (call.response_content or "") + "".join(pieces)
        if len(text) * 4 > cap and len(text.encode()) > cap:  # cheap bound checked first
            text = text.encode()[:cap].decode(errors="ignore") + STREAM_CLIPPED
            call.notes["content_clipped"] = True
        call.response_content = text
