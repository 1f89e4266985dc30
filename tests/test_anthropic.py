"""Kind ``anthropic`` against a loopback server speaking the Messages API, driven through the
official ``openai`` client at a real router."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.openai_schema import validate
from tests.upstream_anthropic import API_KEY, AnthropicState, start_anthropic

USER = [{"role": "user", "content": "hello there"}]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture(scope="module")
def anthropic() -> Iterator[AnthropicState]:
    state, server = start_anthropic()
    yield state
    server.stop()


@pytest.fixture(scope="module")
def aprov(router: RouterProcess, anthropic: AnthropicState) -> str:
    name = "claude-" + secrets.token_hex(3)
    with router.admin() as admin:
        response = admin.post(
            "/providers",
            json={"name": name, "kind": "anthropic", "base_url": anthropic.url, "api_key": API_KEY},
        )
    assert response.status_code == 201, response.text
    assert response.json()["discovery_error"] is None
    return name


@pytest.fixture
def aten(router: RouterProcess, aprov: str) -> Tenant:
    return make_tenant(router)


def test_discovery_pages_and_key(
    router: RouterProcess, aprov: str, anthropic: AnthropicState
) -> None:
    with router.admin() as admin:
        models = [m["name"] for m in admin.get(f"/providers/{aprov}").json()["models"]]
        assert models == ["claude-test", "claude-thinker"]
        response = admin.post(
            "/providers",
            json={"name": "claude-nokey", "kind": "anthropic", "base_url": anthropic.url},
        )
    assert "invalid x-api-key" in response.json()["discovery_error"]


def test_system_prompt_params_and_usage(
    aten: Tenant, aprov: str, anthropic: AnthropicState
) -> None:
    aten.assistant("claude", model=f"{aprov}/claude-test", system_prompt="Be brief.")
    with aten.client() as client:
        answer = client.chat.completions.create(
            model="claude",
            messages=[{"role": "system", "content": "Client rules."}, *USER],
            temperature=1.5,
            top_p=0.9,
            user="u-42",
            extra_body={"repetition_penalty": 1.1, "top_k": 5},
        )
    sent = anthropic.last()
    assert sent["system"] == "Be brief.\n\nClient rules."
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hello there"}]}
    ]
    assert sent["max_tokens"] == 4096, "required by the API; a default when the request has none"
    assert sent["temperature"] == 1.0, "capped to Anthropic's range"
    assert sent["top_p"] == 0.9 and sent["top_k"] == 5
    assert sent["metadata"] == {"user_id": "u-42"}
    assert "repetition_penalty" not in sent, "unknown fields would be refused"
    assert answer.choices[0].message.content == "echo: hello there"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (2 + 4 + 2, 3)


def test_stop_reasons(aten: Tenant, aprov: str, anthropic: AnthropicState) -> None:
    aten.assistant("claude", model=f"{aprov}/claude-test")
    with aten.client() as client:
        cut = client.chat.completions.create(model="claude", messages=USER, max_tokens=2)
        assert cut.choices[0].finish_reason == "length"
        assert cut.choices[0].message.content == "echo: hello"
        stopped = client.chat.completions.create(model="claude", messages=USER, stop="there")
    assert anthropic.last()["stop_sequences"] == ["there"]
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].message.content == "echo: hello "


def test_streaming_events_become_chunks(aten: Tenant, aprov: str) -> None:
    aten.assistant("thinker", model=f"{aprov}/claude-thinker")
    with aten.client() as client:
        chunks = list(
            client.chat.completions.create(
                model="thinker",
                messages=USER,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    assert "".join(d.content or "" for d in deltas) == "echo: hello there"
    thinking = "".join(getattr(d, "reasoning_content", None) or "" for d in deltas)
    assert thinking == "Hmm, a greeting."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == 1
    assert (usage[0].prompt_tokens, usage[0].completion_tokens) == (4, 3)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id == "chatcmpl-msg_01"


def test_tools_both_ways(aten: Tenant, aprov: str, anthropic: AnthropicState) -> None:
    aten.assistant("claude", model=f"{aprov}/claude-test")
    ask: list[Any] = [{"role": "user", "content": "weather in Paris?"}]
    with aten.client() as client:
        first = client.chat.completions.create(
            model="claude",
            messages=ask,
            tools=TOOLS,
            tool_choice="required",
            parallel_tool_calls=False,
        )
        sent = anthropic.last()
        assert sent["tools"] == [
            {
                "name": "weather",
                "input_schema": TOOLS[0]["function"]["parameters"],
                "description": "Weather for a city",
            }
        ]
        assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
        message = first.choices[0].message
        assert first.choices[0].finish_reason == "tool_calls"
        assert message.content == "Let me check."
        call = (message.tool_calls or [])[0]
        assert call.id == "toolu_01" and call.function.name == "weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}

        follow: list[Any] = [
            *ask,
            message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ]
        second = client.chat.completions.create(model="claude", messages=follow, tools=TOOLS)
        assert second.choices[0].message.content == "tool said: sunny"
        turns = anthropic.last()["messages"]
        assert [t["role"] for t in turns] == ["user", "assistant", "user"]
        assert turns[1]["content"][1] == {
            "type": "tool_use",
            "id": "toolu_01",
            "name": "weather",
            "input": {"city": "Paris"},
        }
        assert turns[2]["content"] == [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "sunny"}
        ]

        streamed = list(
            client.chat.completions.create(model="claude", messages=ask, tools=TOOLS, stream=True)
        )
    pieces = [tc for c in streamed if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert (
        pieces[0].id == "toolu_01" and pieces[0].function and pieces[0].function.name == "weather"
    )
    arguments = "".join((p.function.arguments or "") for p in pieces if p.function)
    assert json.loads(arguments) == {"city": "Paris"}
    assert {p.index for p in pieces} == {0}
    assert [c.choices[0].finish_reason for c in streamed if c.choices][-1] == "tool_calls"


def test_images(aten: Tenant, aprov: str, anthropic: AnthropicState) -> None:
    aten.assistant("claude", model=f"{aprov}/claude-test")
    png = base64.b64encode(b"\x89PNG fake").decode()
    content: Any = [
        {"type": "text", "text": "what are these"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    with aten.client() as client:
        answer = client.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": content}]
        )
    assert answer.choices[0].message.content == "echo: what are these [images: 2]"
    blocks = anthropic.last()["messages"][0]["content"]
    assert blocks[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": png},
    }
    assert blocks[2] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/cat.jpg"},
    }


def test_upstream_errors(router: RouterProcess, aten: Tenant, anthropic: AnthropicState) -> None:
    name = "claude-" + secrets.token_hex(3)
    with router.admin() as admin:
        response = admin.post(
            "/providers",
            json={
                "name": name,
                "kind": "anthropic",
                "base_url": anthropic.url + "/v1",
                "api_key": API_KEY,
                "models": [{"name": "claude-overloaded"}, {"name": "claude-test"}],
            },
        )
        assert response.status_code == 201
    aten.assistant("busy", model=f"{name}/claude-overloaded", fallbacks=[f"{name}/claude-test"])
    with aten.client() as client:
        raw = client.chat.completions.with_raw_response.create(model="busy", messages=USER)
        assert raw.headers["x-junction-model"] == f"{name}/claude-test", (
            "529 is retried, then falls back"
        )
        assert raw.headers["x-junction-attempts"] == "4"
        aten.assistant("direct", model=f"{name}/claude-test")
        orphan: Any = [*USER, {"role": "tool", "tool_call_id": "toolu_x", "content": "?"}]
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model="direct", messages=orphan)
    assert "tool_result without a matching tool_use" in refused.value.message


@pytest.mark.parametrize("tools", [None, TOOLS])
def test_answers_validate_against_openai_schema(
    aten: Tenant, aprov: str, tools: list[Any] | None
) -> None:
    aten.assistant("thinker", model=f"{aprov}/claude-thinker")
    body: dict[str, Any] = {"model": "thinker", "messages": USER}
    if tools:
        body["tools"] = tools
    url, auth = aten.router.url + "/v1/chat/completions", {"Authorization": f"Bearer {aten.key}"}
    answer = httpx.post(url, json=body, headers=auth, timeout=10).json()
    validate("CreateChatCompletionResponse", answer)
    with httpx.stream("POST", url, json={**body, "stream": True}, headers=auth) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    for event in events[:-1]:
        validate("CreateChatCompletionStreamResponse", json.loads(event))
