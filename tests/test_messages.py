"""``POST /v1/messages`` and ``/v1/messages/count_tokens`` through Anthropic's official Python
client, against a real router and loopback upstreams of each provider kind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import orjson
import pytest

from tests.accounting_support import wait_for_logs
from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.kinds import KIND_NAMES, Kinds, kinds_fixture  # noqa: F401

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5Erk"
WEATHER: Any = {
    "name": "weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
# The model each kind's upstream answers tool calls with (the openai test server's own).
TOOL_MODELS = {"openai": "tool-call", "ollama": "llama3.2:3b", "anthropic": "claude-test"}

_CLIENTS: list[anthropic.Anthropic] = []


@pytest.fixture(autouse=True)
def _close_anthropic_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def claude(tenant: Tenant, **kwargs: Any) -> anthropic.Anthropic:
    kwargs.setdefault("api_key", tenant.key)
    client = anthropic.Anthropic(base_url=tenant.router.url, max_retries=0, **kwargs)
    _CLIENTS.append(client)
    return client


def tenant_with(router: RouterProcess, model: str, **fields: Any) -> Tenant:
    tenant = make_tenant(router, **fields.pop("workspace", {}))
    tenant.assistant("bot", model=model, **fields)
    return tenant


def tool_model(kinds: Kinds, kind: str) -> str:
    provider = kinds.models[kind].split("/", 1)[0]
    return f"{provider}/{TOOL_MODELS[kind]}"


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_a_message_through_each_kind(router: RouterProcess, kinds: Kinds, kind: str) -> None:
    tenant = tenant_with(router, kinds.models[kind], system_prompt="You are terse.")
    message = claude(tenant).messages.create(
        model="bot",
        max_tokens=200,
        system=[{"type": "text", "text": "Answer in English."}],
        messages=[{"role": "user", "content": "hello there"}],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_") and message.model == "bot"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "echo: hello there"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    entries = wait_for_logs(router, tenant.name, 1)
    assert [(e["endpoint"], e["status"]) for e in entries] == [("messages", 200)]
    assert entries[0]["prompt_tokens"] == message.usage.input_tokens


def test_system_prompts_images_and_parameters_reach_the_upstream(
    router: RouterProcess, kinds: Kinds
) -> None:
    tenant = tenant_with(router, kinds.models["anthropic"], system_prompt="You are terse.")
    message = claude(tenant).messages.create(
        model="bot",
        max_tokens=50,
        system="Answer in English.",
        extra_body={"temperature": 0.3, "top_p": 0.9},  # this client version has no such args
        stop_sequences=["STOP"],
        metadata={"user_id": "u-7"},
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    },
                ],
            }
        ],
    )
    assert message.content[0].text == "echo: what is this [images: 1]"  # type: ignore[union-attr]
    sent = kinds.anthropic.last()
    assert sent["system"] == "You are terse.\n\nAnswer in English."
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.3, 0.9, 50)
    assert sent["stop_sequences"] == ["STOP"] and sent["metadata"] == {"user_id": "u-7"}
    image = sent["messages"][0]["content"][1]
    assert image == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    }
    # A stop sequence that ends the answer comes back as Anthropic reports it.
    cut = claude(tenant).messages.create(
        model="bot",
        max_tokens=50,
        stop_sequences=["three"],
        messages=[{"role": "user", "content": "one two three four"}],
    )
    assert (cut.stop_reason, cut.stop_sequence) == ("stop_sequence", "three")
    assert cut.content[0].text == "echo: one two "  # type: ignore[union-attr]


def test_max_tokens_is_clamped_to_the_cap(router: RouterProcess, kinds: Kinds) -> None:
    tenant = tenant_with(router, kinds.models["anthropic"], max_tokens=3)
    message = claude(tenant).messages.create(
        model="bot", max_tokens=4000, messages=[{"role": "user", "content": "one two three four"}]
    )
    assert kinds.anthropic.last()["max_tokens"] == 3
    assert message.stop_reason == "max_tokens"
    assert message.content[0].text == "echo: one two"  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_messages_stream(router: RouterProcess, kinds: Kinds, kind: str) -> None:
    tenant = tenant_with(router, kinds.models[kind])
    with claude(tenant).messages.stream(
        model="bot", max_tokens=200, messages=[{"role": "user", "content": "stream this please"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: stream this please"
    assert final.content[0].text == text  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0
    # The event sequence itself, as Anthropic sends it.
    with httpx.stream(
        "POST",
        tenant.router.url + "/v1/messages",
        headers={"x-api-key": tenant.key, "anthropic-version": "2023-06-01"},
        json={
            "model": "bot",
            "max_tokens": 100,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        },
        timeout=30,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    kinds_sent = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    assert kinds_sent[:3] == ["message_start", "ping", "content_block_start"]
    assert kinds_sent[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds_sent[3:-3]) == {"content_block_delta"}
    payloads = [orjson.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert payloads[-2]["usage"]["output_tokens"] > 0


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_tool_use_round_trip(router: RouterProcess, kinds: Kinds, kind: str) -> None:
    tenant = tenant_with(router, tool_model(kinds, kind))
    client = claude(tenant)
    question: Any = {"role": "user", "content": "Weather in Paris?"}
    first = client.messages.create(
        model="bot",
        max_tokens=200,
        tools=[WEATHER],
        tool_choice={"type": "auto"},
        messages=[question],
    )
    assert first.stop_reason == "tool_use"
    use = next(b for b in first.content if b.type == "tool_use")
    expected = ("lookup", {"q": "x"}) if kind == "openai" else ("weather", {"city": "Paris"})
    assert (use.name, use.input) == expected
    second = client.messages.create(
        model="bot",
        max_tokens=200,
        tools=[WEATHER],
        messages=[
            question,
            {"role": "assistant", "content": first.content},  # type: ignore[typeddict-item]
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    answer = second.content[0].text  # type: ignore[union-attr]
    if kind == "openai":  # the test server echoes the last user text once a tool answered
        assert answer == "echo: Weather in Paris?"
        sent = kinds.openai.last()["messages"]
        assert sent[-1] == {"role": "tool", "tool_call_id": use.id, "content": "sunny"}
        assert sent[-2]["tool_calls"][0]["function"]["name"] == "lookup"
    else:
        assert answer == "tool said: sunny"


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_tool_use_round_trip_streamed(router: RouterProcess, kinds: Kinds, kind: str) -> None:
    tenant = tenant_with(router, tool_model(kinds, kind))
    client = claude(tenant)
    question: Any = {"role": "user", "content": "Weather in Paris?"}
    with client.messages.stream(
        model="bot", max_tokens=200, tools=[WEATHER], messages=[question]
    ) as stream:
        events = list(stream)
        first = stream.get_final_message()
    assert first.stop_reason == "tool_use"
    use = next(b for b in first.content if b.type == "tool_use")
    expected = ("lookup", {"q": "x"}) if kind == "openai" else ("weather", {"city": "Paris"})
    assert (use.name, use.input) == expected
    pieces = [
        e.delta.partial_json  # type: ignore[union-attr]
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert orjson.loads("".join(pieces)) == expected[1]
    with client.messages.stream(
        model="bot",
        max_tokens=200,
        tools=[WEATHER],
        messages=[
            question,
            {"role": "assistant", "content": first.content},  # type: ignore[typeddict-item]
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "rain"}],
            },
        ],
    ) as stream:
        text = "".join(stream.text_stream)
    # The openai test server echoes the last user text once a tool answered.
    assert text == ("echo: Weather in Paris?" if kind == "openai" else "tool said: rain")


def test_thinking_is_passed_on_and_switched_off(router: RouterProcess, kinds: Kinds) -> None:
    provider = kinds.models["anthropic"].split("/", 1)[0]
    tenant = tenant_with(router, f"{provider}/claude-thinker")
    client = claude(tenant)
    thought = client.messages.create(
        model="bot",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "hi"}],
    )
    assert kinds.anthropic.last()["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert thought.content[0].type == "thinking"
    assert thought.content[0].thinking == "Hmm, a greeting."  # type: ignore[union-attr]
    assert thought.content[0].signature == "sig"  # type: ignore[union-attr]
    # Signed thinking goes back to Anthropic unchanged, first in its turn.
    client.messages.create(
        model="bot",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": thought.content},  # type: ignore[typeddict-item]
            {"role": "user", "content": "and again"},
        ],
    )
    assert kinds.anthropic.last()["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "Hmm, a greeting.",
        "signature": "sig",
    }
    with client.messages.stream(
        model="bot",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "hi"}],
    ) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].signature == "sig"  # type: ignore[union-attr]

    qwen = kinds.models["ollama"].split("/", 1)[0] + "/qwen3:14b"
    tenant = tenant_with(router, qwen)
    plain = claude(tenant).messages.create(
        model="bot",
        max_tokens=200,
        thinking={"type": "disabled"},
        messages=[{"role": "user", "content": "hi"}],
    )
    path, sent = kinds.ollama.requests[-1]
    assert path == "/api/chat" and sent["think"] is False
    assert [b.type for b in plain.content] == ["text"]


def test_count_tokens(router: RouterProcess, kinds: Kinds) -> None:
    tenant = tenant_with(router, kinds.models["openai"])
    client = claude(tenant)
    short = client.messages.count_tokens(
        model="bot", messages=[{"role": "user", "content": "hello"}]
    )
    longer = client.messages.count_tokens(
        model="bot",
        system="You are a helpful assistant who answers at length.",
        tools=[WEATHER],
        messages=[{"role": "user", "content": "hello " * 50}],
    )
    assert 0 < short.input_tokens < longer.input_tokens
    tenant.assistant("prompted", model=kinds.models["openai"], system_prompt="word " * 100)
    prompted = client.messages.count_tokens(
        model="prompted", messages=[{"role": "user", "content": "hello"}]
    )
    assert prompted.input_tokens >= short.input_tokens + 100, "the assistant's prompt counts"
    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="nobody", messages=[{"role": "user", "content": "x"}])


def test_errors_are_anthropic_shaped(router: RouterProcess, kinds: Kinds) -> None:
    tenant = tenant_with(router, kinds.models["openai"], workspace={"rpm_limit": 2})
    user: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(anthropic.AuthenticationError) as auth:
        claude(tenant, api_key="sk-wrong").messages.create(
            model="bot", max_tokens=10, messages=user
        )
    assert auth.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "Incorrect API key provided."},
        "request_id": auth.value.response.headers["request-id"],
    }
    keyless = httpx.post(
        tenant.router.url + "/v1/messages",
        json={"model": "bot", "max_tokens": 5, "messages": user},
        timeout=10,
    )
    assert keyless.status_code == 401 and "x-api-key" in keyless.json()["error"]["message"]
    client = claude(tenant)
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="nobody", max_tokens=10, messages=user)
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(
            model="bot",
            max_tokens=10,
            messages=[{"role": "user", "content": [{"type": "video"}]}],  # type: ignore[list-item]
        )
    assert bad.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    # The key as a bearer token (ANTHROPIC_AUTH_TOKEN) works as well.
    bearer = claude(tenant, api_key=None, auth_token=tenant.key)
    assert bearer.messages.create(model="bot", max_tokens=10, messages=user).content
    with pytest.raises(anthropic.RateLimitError) as limited:  # noqa: PT012
        for _ in range(3):
            client.messages.create(model="bot", max_tokens=10, messages=user)
    assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert 1 <= int(limited.value.response.headers["retry-after"]) <= 60

    provider = kinds.models["openai"].split("/", 1)[0]
    failing = tenant_with(router, f"{provider}/fail")  # the upstream answers 500
    with pytest.raises(anthropic.InternalServerError) as down:
        claude(failing).messages.create(model="bot", max_tokens=10, messages=user)
    assert down.value.status_code == 502
    assert down.value.body["error"]["type"] == "api_error"  # type: ignore[index]


def test_chat_history_as_for_chat(router: RouterProcess, kinds: Kinds) -> None:
    tenant = tenant_with(router, kinds.models["openai"], chat_history="on")
    client = claude(tenant)
    first: Any = [{"role": "user", "content": "one"}]
    answer = client.messages.create(
        model="bot", max_tokens=50, metadata={"user_id": "session-1"}, messages=first
    )
    # A Messages client re-sends the whole conversation: the stored turn is not doubled.
    again: Any = [
        *first,
        {"role": "assistant", "content": answer.content},
        {"role": "user", "content": "two"},
    ]
    raw = client.messages.with_raw_response.create(
        model="bot", max_tokens=50, metadata={"user_id": "session-1"}, messages=again
    )
    assert raw.headers["x-conversation-id"] == "session-1"
    sent = [m["content"] for m in kinds.openai.last()["messages"]]
    assert sent == ["one", "echo: one", "two"]
    stored = httpx.get(
        f"{router.url}/v1/conversations/session-1",
        headers={"Authorization": f"Bearer {tenant.key}"},
        timeout=10,
    ).json()
    assert [m["content"] for m in stored["messages"]] == ["one", "echo: one", "two", "echo: two"]


def test_a_stream_that_breaks_ends_with_an_error_event(router: RouterProcess, kinds: Kinds) -> None:
    provider = kinds.models["openai"].split("/", 1)[0]
    tenant = tenant_with(router, f"{provider}/broken-stream", chat_history="on")
    seen: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as broken,
        claude(tenant).messages.stream(
            model="bot", max_tokens=50, messages=[{"role": "user", "content": "break it"}]
        ) as stream,
    ):
        seen.extend(event.type for event in stream)
    assert seen[0] == "message_start"
    assert broken.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    entries = wait_for_logs(router, tenant.name, 1)
    assert entries[0]["endpoint"] == "messages" and entries[0]["error"]
