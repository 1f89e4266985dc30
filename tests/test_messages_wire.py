"""The Messages front door's request translation, unit by unit: request → chat body (the way
back out: ``test_messages_answer.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from junction.dataplane.messages_answer import message_object
from junction.dataplane.messages_wire import chat_body, thinking_off
from junction.errors import (
    InvalidRequest,
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
    message = {"content": "t", "reasoning_content": "a", "thinking_blocks": signed}
    out = message_object({"choices": [{"message": message, "finish_reason": "stop"}]}, "bot", "m")

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
