"""Anthropic's Messages API going back out: the chat answer (normalized) as a Message, and a
``JunctionError`` as an Anthropic-shaped error (the stream events are ``messages_stream``).

Answer: a Message with ``thinking`` (from ``reasoning_content``; an anthropic upstream's signed
``thinking_blocks`` as they came), ``text`` and ``tool_use``
(arguments parsed as JSON) blocks; ``stop_reason`` stop → ``end_turn`` (``stop_sequence`` with
the sequence when the choice names one of the request's), length → ``max_tokens``,
tool_calls → ``tool_use``, content_filter → ``refusal``; usage ``input_tokens`` /
``output_tokens``.

Errors: ``{"type": "error", "error": {"type", "message"}, "request_id"}`` with the router's
status: 400/409/422 ``invalid_request_error``, 401 ``authentication_error``, 403
``permission_error``, 404 ``not_found_error``, 413 ``request_too_large``, 429
``rate_limit_error`` (``retry-after`` kept), 503 ``overloaded_error`` (an upstream that is
unavailable or overloaded: Anthropic's clients retry it), other 5xx ``api_error``. The status
stays the router's own (502/503/504 for upstream failures), not Anthropic's 529.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from starlette.responses import Response

from junction.errors import JunctionError

Json = dict[str, Any]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def new_message_id() -> str:
    return "msg_" + os.urandom(12).hex()


def stop_reason(finish: object, choice: Json, stops: object) -> tuple[str, str | None]:
    """Anthropic's ``stop_reason`` and ``stop_sequence`` for a chat choice's ending."""
    matched = choice.get("stop_reason")
    if (
        finish == "stop"
        and isinstance(matched, str)
        and isinstance(stops, list)
        and matched in stops
    ):
        return "stop_sequence", matched
    return STOP_REASONS.get(str(finish), "end_turn"), None


def tool_input(arguments: object) -> Json:
    """A tool call's arguments as the object Messages clients expect (``{}`` if unparsable)."""
    if isinstance(arguments, dict):
        return arguments
    if isinstance(arguments, str) and arguments.strip():
        try:
            value = orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def message_object(answer: Json, model: str, message_id: str, stops: object = None) -> Json:
    """The (normalized) chat ``answer`` as a Message; ``stops`` are the request's
    ``stop_sequences``."""
    choices = answer.get("choices") or [{}]
    choice = obj(choices[0])
    message = obj(choice.get("message"))
    content: list[Json] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    signed = message.get("thinking_blocks")
    if isinstance(signed, list) and signed:  # an anthropic upstream's, signatures and all
        content.extend(b for b in signed if isinstance(b, dict))
    elif isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        if not isinstance(call, dict):
            continue
        function = obj(call.get("function"))
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or "toolu_" + os.urandom(12).hex(),
                "name": function.get("name") or "",
                "input": tool_input(function.get("arguments")),
            }
        )
    reason, sequence = stop_reason(choice.get("finish_reason"), choice, stops)
    usage = obj(answer.get("usage"))
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": {
            "input_tokens": _count(usage.get("prompt_tokens")),
            "output_tokens": _count(usage.get("completion_tokens")),
        },
    }


def obj(value: object) -> Json:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- errors ----------------------------------------------------------------------------------

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    if status in _ERROR_TYPES:
        return _ERROR_TYPES[status]
    return "invalid_request_error" if status < 500 else "api_error"


def error_body(error: JunctionError, request_id: str | None = None) -> Json:
    body: Json = {
        "type": "error",
        "error": {"type": error_type(error.status_code), "message": error.message},
    }
    if request_id:
        body["request_id"] = request_id
    return body


def error_response(error: JunctionError, request_id: str | None = None) -> Response:
    """The Anthropic-shaped answer for ``error``, with its headers (``retry-after``, ...)."""
    headers = dict(error.headers)
    if request_id:
        headers["x-request-id"] = request_id
        headers["request-id"] = request_id
    return Response(
        orjson.dumps(error_body(error, request_id)),
        error.status_code,
        headers,
        media_type="application/json",
    )
