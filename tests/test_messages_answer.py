"""The Messages front door's way back out, unit by unit: chat answer → Message, chat chunks →
Messages stream events, errors → Anthropic's shape."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from junction.dataplane.messages_answer import error_body, error_response, message_object
from junction.dataplane.messages_stream import MessageStream
from junction.errors import (
    AuthenticationFailed,
    InvalidRequest,
    JunctionError,
    ModelNotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

Json = dict[str, Any]


def answer(message: Json, finish: str = "stop", **choice: Any) -> Json:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "bot",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, **choice}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def test_answer_with_thinking_text_and_tools() -> None:
    message = {
        "role": "assistant",
        "content": "Let me check.",
        "reasoning_content": "hmm",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "w", "arguments": '{"c": 1}'},
            },
            {"id": "call_2", "type": "function", "function": {"name": "v", "arguments": "oops"}},
        ],
    }
    out = message_object(answer(message, "tool_calls"), "bot", "msg_1")
    assert out == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "bot",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": ""},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "call_1", "name": "w", "input": {"c": 1}},
            {"type": "tool_use", "id": "call_2", "name": "v", "input": {}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 7},
    }


@pytest.mark.parametrize(
    ("finish", "extra", "stops", "reason", "sequence"),
    [
        ("stop", {}, None, "end_turn", None),
        ("length", {}, None, "max_tokens", None),
        ("content_filter", {}, None, "refusal", None),
        ("stop", {"stop_reason": "END"}, ["END"], "stop_sequence", "END"),
        ("stop", {"stop_reason": 128009}, ["END"], "end_turn", None),  # a stop token, not ours
        ("stop", {"stop_reason": "END"}, None, "end_turn", None),
    ],
)
def test_stop_reasons(
    finish: str, extra: Json, stops: object, reason: str, sequence: str | None
) -> None:
    out = message_object(answer({"content": "x"}, finish, **extra), "bot", "msg_1", stops)
    assert (out["stop_reason"], out["stop_sequence"]) == (reason, sequence)


def test_sparse_answer_still_has_the_required_fields() -> None:
    out = message_object({"choices": []}, "bot", "msg_2")
    assert out["content"] == [] and out["stop_reason"] == "end_turn"
    assert out["usage"] == {"input_tokens": 0, "output_tokens": 0}


def parse(raw: bytes) -> list[tuple[str, Json]]:
    events = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        head, data = block.split("\n")
        kind = head.removeprefix("event: ")
        payload = orjson.loads(data.removeprefix("data: "))
        assert payload["type"] == kind
        events.append((kind, payload))
    return events


def chunk(delta: Json | None = None, finish: str | None = None, **extra: Any) -> Json:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "c", "object": "chat.completion.chunk", "choices": choices, **extra}


def test_stream_events_for_thinking_text_and_tool_calls() -> None:
    stream = MessageStream("msg_9", "bot", input_tokens=5, stops=["END"])
    raw = b"".join(
        [
            stream.feed(chunk({"role": "assistant", "content": ""})),
            stream.feed(chunk({"reasoning_content": "hm"})),
            stream.feed(chunk({"reasoning_content": "m"})),
            stream.feed(chunk({"content": "Let "})),
            stream.feed(chunk({"content": "me."})),
            stream.feed(
                chunk(
                    {
                        "tool_calls": [
                            {"index": 0, "id": "call_1", "function": {"name": "w", "arguments": ""}}
                        ]
                    }
                )
            ),
            stream.feed(chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"c"'}}]})),
            stream.feed(chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]})),
            stream.feed(
                chunk({"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "v"}}]})
            ),
            stream.feed(chunk({}, "tool_calls")),
            stream.feed(chunk(usage={"prompt_tokens": 12, "completion_tokens": 9})),
            stream.finish(),
            stream.finish(),  # once only
        ]
    )
    events = parse(raw)
    kinds = [k for k, _ in events]
    assert kinds == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["id"] == "msg_9" and start["usage"] == {"input_tokens": 5, "output_tokens": 0}
    blocks = [e for k, e in events if k == "content_block_start"]
    assert [b["index"] for b in blocks] == [0, 1, 2, 3]
    assert blocks[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert blocks[2]["content_block"] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "w",
        "input": {},
    }
    deltas = [e["delta"] for k, e in events if k == "content_block_delta"]
    assert deltas[:4] == [
        {"type": "thinking_delta", "thinking": "hm"},
        {"type": "thinking_delta", "thinking": "m"},
        {"type": "text_delta", "text": "Let "},
        {"type": "text_delta", "text": "me."},
    ]
    assert "".join(d["partial_json"] for d in deltas[4:]) == '{"c": 1}'
    assert events[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"input_tokens": 12, "output_tokens": 9},
    }


def test_stream_carries_a_thinking_signature() -> None:
    stream = MessageStream("msg_1", "bot")
    raw = b"".join(
        stream.feed(chunk(delta))
        for delta in (
            {"reasoning_content": "hm"},
            {"thinking_signature": "sig"},
            {"content": "ok"},
        )
    )
    events = parse(raw + stream.finish())
    deltas = [(e["index"], e["delta"]) for k, e in events if k == "content_block_delta"]
    assert deltas == [
        (0, {"type": "thinking_delta", "thinking": "hm"}),
        (0, {"type": "signature_delta", "signature": "sig"}),
        (1, {"type": "text_delta", "text": "ok"}),
    ]


def test_stream_stop_sequence_and_empty_stream() -> None:
    stream = MessageStream("msg_1", "bot", stops=["END"])
    ending = chunk({}, "stop")
    ending["choices"][0]["stop_reason"] = "END"  # as vLLM and the anthropic kind report it
    raw = stream.feed(chunk({"content": "x"})) + stream.feed(ending)
    events = parse(raw + stream.finish())
    assert events[-2][1]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}
    empty = parse(MessageStream("msg_2", "bot").finish())
    assert [k for k, _ in empty] == ["message_start", "ping", "message_delta", "message_stop"]
    assert empty[2][1]["delta"]["stop_reason"] == "end_turn"


def test_stream_error_event() -> None:
    stream = MessageStream("msg_1", "bot")
    stream.feed(chunk({"content": "x"}))
    events = parse(stream.error(UpstreamUnavailable("gone")))
    assert events == [
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "gone"}})
    ]
    assert stream.finish() == b""


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (InvalidRequest("bad"), 400, "invalid_request_error"),
        (AuthenticationFailed("who"), 401, "authentication_error"),
        (PermissionDenied("no"), 403, "permission_error"),
        (ModelNotFound("which"), 404, "not_found_error"),
        (PayloadTooLarge("big"), 413, "request_too_large"),
        (RateLimited("slow", headers={"retry-after": "3"}), 429, "rate_limit_error"),
        (JunctionError("oops"), 500, "api_error"),
        (UpstreamError("up"), 502, "api_error"),
        (UpstreamUnavailable("busy"), 503, "overloaded_error"),
        (UpstreamTimeout("late"), 504, "api_error"),
    ],
)
def test_errors_are_anthropic_shaped(error: JunctionError, status: int, kind: str) -> None:
    response = error_response(error, "req_1")
    assert response.status_code == status
    assert orjson.loads(response.body) == {
        "type": "error",
        "error": {"type": kind, "message": error.message},
        "request_id": "req_1",
    }
    assert response.headers["request-id"] == "req_1"
    if status == 429:
        assert response.headers["retry-after"] == "3"
    assert error_body(error) == {"type": "error", "error": {"type": kind, "message": error.message}}
