"""The Messages front door's translation, unit by unit: request → chat body, chat answer →
Message, chat chunks → Messages stream events, errors → Anthropic's shape."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from junction.dataplane.messages_answer import error_body, error_response, message_object
from junction.dataplane.messages_stream import MessageStream
from junction.dataplane.messages_wire import chat_body, thinking_off
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
PNG = "iVBORw0KGgo="


def base(**fields: Any) -> Json:
    return {"model": "bot", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]} | (
        fields
    )


def test_plain_fields_map_to_chat() -> None:
    body = chat_body(
        base(
            system="be brief",
            temperature=0.2,
            top_p=0.9,
            top_k=5,
            stop_sequences=["END", "STOP"],
            metadata={"user_id": "u-1"},
            stream=True,
        )
    )
    assert body == {
        "model": "bot",
        "max_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 5,
        "stream": True,
        "stop": ["END", "STOP"],
        "user": "u-1",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
    }


def test_system_blocks_and_text_blocks_join() -> None:
    body = chat_body(
        base(
            system=[
                {"type": "text", "text": "one", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "two"},
            ],
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                }
            ],
        )
    )
    assert body["messages"] == [
        {"role": "system", "content": "one\n\ntwo"},
        {"role": "user", "content": "ab"},
    ]


def test_a_system_message_among_the_turns_stays_in_place() -> None:
    turns = [
        {"role": "user", "content": "a"},
        {"role": "system", "content": [{"type": "text", "text": "remember"}]},
        {"role": "user", "content": "b"},
    ]
    assert [m["role"] for m in chat_body(base(messages=turns))["messages"]] == [
        "user",
        "system",
        "user",
    ]
    assert chat_body(base(messages=turns))["messages"][1]["content"] == "remember"


def test_images_become_image_url_parts() -> None:
    body = chat_body(
        base(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                    ],
                }
            ]
        )
    )
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
    ]


def test_tool_round_trip_in_history() -> None:
    body = chat_body(
        base(
            tools=[
                {
                    "name": "weather",
                    "description": "Weather for a city",
                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
                }
            ],
            tool_choice={"type": "any", "disable_parallel_tool_use": True},
            messages=[
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "need a tool", "signature": "s"},
                        {"type": "text", "text": "Let me check."},
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "weather",
                            "input": {"city": "Paris"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                        {"type": "text", "text": "and tomorrow?"},
                    ],
                },
            ],
        )
    )
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                "description": "Weather for a city",
            },
        }
    ]
    assert body["tool_choice"] == "required" and body["parallel_tool_calls"] is False
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                }
            ],
            "reasoning_content": "need a tool",
            "thinking_blocks": [{"type": "thinking", "thinking": "need a tool", "signature": "s"}],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "user", "content": "and tomorrow?"},
    ]


def test_signed_thinking_is_carried_for_an_anthropic_upstream() -> None:
    body = chat_body(
        base(
            messages=[
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "a", "signature": "s1"},
                        {"type": "redacted_thinking", "data": "enc"},
                        {"type": "thinking", "thinking": "unsigned", "signature": ""},
                        {"type": "text", "text": "t"},
                    ],
                },
            ]
        )
    )
    assistant = body["messages"][1]
    assert assistant["reasoning_content"] == "aunsigned"
    assert assistant["thinking_blocks"] == [
        {"type": "thinking", "thinking": "a", "signature": "s1"},
        {"type": "redacted_thinking", "data": "enc"},
    ]
    signed = [{"type": "thinking", "thinking": "a", "signature": "s1"}]
    out = message_object(
        answer({"content": "t", "reasoning_content": "a", "thinking_blocks": signed}), "bot", "m"
    )
    assert out["content"] == [*signed, {"type": "text", "text": "t"}]


def test_tool_results_with_blocks_errors_and_images() -> None:
    body = chat_body(
        base(
            messages=[
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "a", "name": "f", "input": {}},
                        {"type": "tool_use", "id": "b", "name": "g", "input": {}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "a",
                            "content": [
                                {"type": "text", "text": "x"},
                                {"type": "text", "text": "y"},
                            ],
                        },
                        {
                            "type": "tool_result",
                            "tool_use_id": "b",
                            "is_error": True,
                            "content": [
                                {"type": "text", "text": "no file"},
                                {"type": "image", "source": {"type": "url", "url": "u"}},
                            ],
                        },
                    ],
                },
            ]
        )
    )
    assert body["messages"] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "x\ny"},
        {"role": "tool", "tool_call_id": "b", "content": "Error: no file"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "none"}, {"tool_choice": "none"}),
        (
            {"type": "tool", "name": "weather"},
            {"tool_choice": {"type": "function", "function": {"name": "weather"}}},
        ),
    ],
)
def test_tool_choice(choice: Json, expected: Json) -> None:
    tools = [{"name": "weather", "input_schema": {"type": "object"}}]
    body = chat_body(base(tools=tools, tool_choice=choice))
    assert {k: body[k] for k in expected} == expected
    assert "parallel_tool_calls" not in body


def test_thinking_switch() -> None:
    off = chat_body(base(thinking={"type": "disabled"}))
    assert off["chat_template_kwargs"] == {"enable_thinking": False} and "thinking" not in off
    assert thinking_off(off)
    wanted = {"type": "enabled", "budget_tokens": 2048}
    on = chat_body(base(thinking=wanted))
    assert on["chat_template_kwargs"] == {"enable_thinking": True}
    assert on["thinking"] == wanted and not thinking_off(on)


def test_structured_output_and_fields_without_effect() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    body = chat_body(
        base(
            output_config={"effort": "low", "format": {"type": "json_schema", "schema": schema}},
            cache_control={"type": "ephemeral"},
            speed="fast",
            container="c",
        )
    )
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema},
    }
    assert set(body) == {"model", "max_tokens", "messages", "response_format"}


def test_count_tokens_body_needs_no_max_tokens() -> None:
    request = base()
    del request["max_tokens"]
    assert "max_tokens" not in chat_body(request, counting=True)
    with pytest.raises(InvalidRequest) as caught:
        chat_body(request)
    assert caught.value.param == "max_tokens"


@pytest.mark.parametrize(
    ("request_body", "param"),
    [
        ([], None),
        (base(model=3), "model"),
        (base(max_tokens=0), "max_tokens"),
        (base(max_tokens=True), "max_tokens"),
        (base(messages=[]), "messages"),
        (base(messages=[{"role": "tool", "content": "x"}]), "messages.0.role"),
        (base(messages=[{"role": "system", "content": [{"type": "image"}]}]), "system.0"),
        (base(messages=[{"role": "user", "content": 5}]), "messages.0"),
        (
            base(messages=[{"role": "user", "content": [{"type": "document"}]}]),
            "messages.0.content.0.type",
        ),
        (
            base(messages=[{"role": "user", "content": [{"type": "tool_use", "id": "x"}]}]),
            "messages.0.content.0.type",
        ),
        (
            base(messages=[{"role": "user", "content": [{"type": "image", "source": {}}]}]),
            "messages.0.content.0.source",
        ),
        (base(system=[{"type": "image"}]), "system.0"),
        (base(system=7), "system"),
        (base(stop_sequences="END"), "stop_sequences"),
        (base(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "tools.0.type"),
        (base(tools=[{"name": "f"}]), "tools.0"),
        (base(tool_choice={"type": "sometimes"}), "tool_choice"),
        (base(thinking={"type": "maybe"}), "thinking.type"),
        (base(output_config={"format": {"type": "text"}}), "output_config.format"),
        (base(metadata="u"), "metadata"),
    ],
)
def test_bad_requests_name_the_param(request_body: object, param: str | None) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_body(request_body)
    assert caught.value.param == param
    assert caught.value.status_code == 400


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
