"""``POST /v1/responses`` through the official client: chains on the chat-history store."""

from __future__ import annotations

import openai
import orjson
import pytest

from tests.conftest import Tenant
from tests.upstream import Upstream


def contents(upstream: Upstream) -> list[object]:
    return [m.get("content") for m in upstream.last()["messages"]]


def test_previous_response_id_continues_and_branches(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", chat_history="on", system_prompt="S")
    client = tenant.client()
    first = client.responses.create(model="bot", input="one", instructions="be kind")
    assert first.output_text == "echo: one"
    assert first.status == "completed" and first.model == "bot"
    assert upstream.last()["messages"] == [
        {"role": "system", "content": "S"},
        {"role": "system", "content": "be kind"},
        {"role": "user", "content": "one"},
    ]
    second = client.responses.create(model="bot", input="two", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert contents(upstream) == ["S", "one", "echo: one", "two"], "instructions not carried"
    third = client.responses.create(
        model="bot",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "three"}]}],
        previous_response_id=second.id,
    )
    assert contents(upstream) == ["S", "one", "echo: one", "two", "echo: two", "three"]
    # Continuing from an earlier response branches: the later turns are not part of it.
    client.responses.create(model="bot", input="branch", previous_response_id=first.id)
    assert contents(upstream) == ["S", "one", "echo: one", "branch"]
    client.responses.create(model="bot", input="four", previous_response_id=third.id)
    assert contents(upstream)[-3:] == ["three", "echo: three", "four"]


def test_store_false_and_unknown_ids(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", chat_history="on")
    client = tenant.client()
    unstored = client.responses.create(model="bot", input="forget me", store=False)
    assert unstored.store is False
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="bot", input="x", previous_response_id=unstored.id)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="bot", input="x", previous_response_id="resp_nope")
    assert caught.value.body["code"] == "previous_response_not_found"  # type: ignore[index]


def test_history_off_refuses_chains(tenant: Tenant) -> None:
    tenant.assistant("bot", chat_history="off")
    client = tenant.client()
    answer = client.responses.create(model="bot", input="hi")
    assert answer.output_text == "echo: hi"
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="bot", input="again", previous_response_id=answer.id)
    assert caught.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_tool_calls_round_trip(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("tools", model="local/tool-call", chat_history="on")
    client = tenant.client()
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]
    first = client.responses.create(model="tools", input="look it up", tools=tools)  # type: ignore[list-item]
    assert upstream.last()["tools"] == [
        {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    ]
    call = first.output[0]
    assert call.type == "function_call" and call.name == "lookup" and call.call_id == "call_1"
    client.responses.create(
        model="tools",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "call_1", "output": "42"}],
    )
    sent = upstream.last()["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "42"}


def test_disable_think_applies_and_bad_input_is_400(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", model="local/think", chat_history="disable_think")
    client = tenant.client()
    answer = client.responses.create(model="bot", input="hi", max_output_tokens=50)
    assert answer.output_text == "echo: hi"
    assert upstream.last()["chat_template_kwargs"] == {"enable_thinking": False}
    assert upstream.last()["max_tokens"] == 50
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="bot", input=[])
    assert caught.value.body["param"] == "input"  # type: ignore[index]


def test_streamed_response_and_its_continuation(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", model="local/think", chat_history="disable_think")
    client = tenant.client()
    events = list(client.responses.create(model="bot", input="stream it", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "echo: stream it", "thinking split across chunks is removed"
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == "echo: stream it" and final.status == "completed"
    assert final.id == events[0].response.id  # type: ignore[union-attr]
    client.responses.create(model="bot", input="next", previous_response_id=final.id)
    assert contents(upstream) == ["stream it", "echo: stream it", "next"]


def test_a_broken_stream_ends_with_an_error_and_stores_nothing(
    tenant: Tenant, upstream: Upstream
) -> None:
    tenant.assistant("flaky", model="local/broken-stream", chat_history="on")
    client = tenant.client()
    stream = client.responses.create(model="flaky", input="break", stream=True)
    seen: list[object] = []
    with pytest.raises(openai.APIError):
        seen.extend(stream)
    created = seen[0].response.id  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="flaky", input="x", previous_response_id=created)


def test_answers_validate_against_openais_schema(tenant: Tenant) -> None:
    from tests.openai_schema import validate

    tenant.assistant("bot", chat_history="on")
    tenant.assistant("tools", model="local/tool-call", chat_history="on")
    client = tenant.client()
    raw = client.responses.with_raw_response.create(model="bot", input="hi")
    validate("Response", raw.http_response.json())
    raw = client.responses.with_raw_response.create(model="tools", input="call")
    validate("Response", raw.http_response.json())
    for model in ("bot", "tools"):
        with client.responses.with_streaming_response.create(
            model=model, input="hi", stream=True
        ) as streamed:
            for line in streamed.iter_lines():
                if line.startswith("data: "):
                    validate("ResponseStreamEvent", orjson.loads(line[6:]))
