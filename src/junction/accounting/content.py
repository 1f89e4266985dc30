"""Request and response bodies for the request log, when the workspace turns ``log_content`` on.

Each is capped at ``JUNCTION_LOG_CONTENT_MAX_BYTES`` (UTF-8); a clipped body ends with a marker
saying how much was left out. For streams the text the client was shown is kept (assembled by
the pipeline's stream accumulator).
"""

from __future__ import annotations

from typing import Any

import orjson

from junction.core.call import Call

CLIPPED = "…[truncated {} bytes]"


def clip(text: str, cap: int) -> str:
    raw = text.encode()
    if len(raw) <= cap:
        return text
    return raw[:cap].decode(errors="ignore") + CLIPPED.format(len(raw) - cap)


def capture_request(call: Call, body: Any, cap: int) -> None:
    call.request_content = clip(orjson.dumps(body).decode(), cap)


def capture_response(call: Call, answer: Any, cap: int) -> None:
    call.response_content = clip(orjson.dumps(answer).decode(), cap)
