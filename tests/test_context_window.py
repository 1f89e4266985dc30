"""The token context window and history trimming, against a real router and upstream."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from junction.tokens.counter import REPLY_PRIMING, TokenCounter
from tests.conftest import RouterProcess, make_tenant
from tests.upstream import TOOL_CALL, Upstream

COUNTER = TokenCounter()


def words(n: int, tag: str = "w") -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return COUNTER.messages(messages) + REPLY_PRIMING


def test_absolute_window_accepts_under_and_rejects_over(
    router: RouterProcess, provider: str, upstream: Upstream
) -> None:
    tenant = make_tenant(router, token_context_window=100)
    tenant.assistant("bot", system_prompt="Be brief.")
    fits = [{"role": "user", "content": words(20)}]
    tenant.client().chat.completions.create(model="bot", messages=fits)  # type: ignore[arg-type]
    assert upstream.last()["messages"][1] == fits[0]

    over = [{"role": "user", "content": words(200)}]
    needed = prompt_tokens([{"role": "system", "content": "Be brief."}, *over])
    with pytest.raises(openai.BadRequestError) as caught:
        tenant.client().chat.completions.create(model="bot", messages=over)  # type: ignore[arg-type]
    assert caught.value.code == "context_length_exceeded"
    assert f"{needed} tokens" in caught.value.message
    assert "100 tokens" in caught.value.message


def test_percentage_window_uses_the_models_context_length(
    router: RouterProcess, provider: str
) -> None:
    tenant = make_tenant(router, token_context_window="1%")  # of echo's 8192: 81 tokens
    tenant.assistant("bot")
    client = tenant.client()
    client.chat.completions.create(model="bot", messages=[{"role": "user", "content": words(30)}])
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="bot", messages=[{"role": "user", "content": words(80)}]
        )
    assert caught.value.code == "context_length_exceeded"
    assert "81 tokens" in caught.value.message


def test_history_is_trimmed_oldest_first(
    router: RouterProcess, provider: str, upstream: Upstream
) -> None:
    turn = [
        {"role": "user", "content": words(10, "t0-")},
        {"role": "assistant", "content": "echo: " + words(10, "t0-")},
    ]
    per_turn = COUNTER.messages(turn)
    new = [{"role": "user", "content": "newest"}]
    # Room for the new message and two stored turns, not three.
    window = prompt_tokens(new) + 2 * per_turn + per_turn // 2
    tenant = make_tenant(router, token_context_window=window)
    tenant.assistant("bot", chat_history="on")
    client = tenant.client()
    for i in range(4):
        client.chat.completions.create(
            model="bot", messages=[{"role": "user", "content": words(10, f"t{i}-")}]
        )
    client.chat.completions.create(model="bot", messages=new)  # type: ignore[arg-type]
    sent = [m["content"] for m in upstream.last()["messages"]]
    assert sent == [
        words(10, "t2-"),
        "echo: " + words(10, "t2-"),
        words(10, "t3-"),
        "echo: " + words(10, "t3-"),
        "newest",
    ]
    assert prompt_tokens(upstream.last()["messages"]) <= window


def test_trimming_never_splits_a_tool_call_exchange(
    router: RouterProcess, provider: str, upstream: Upstream
) -> None:
    tool_result = {"role": "tool", "tool_call_id": "call_1", "content": words(10, "r")}
    call = {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}
    exchange = [
        {"role": "user", "content": "look it up"},
        call,
        tool_result,
        {"role": "assistant", "content": "echo: look it up"},
    ]
    new = [{"role": "user", "content": "and now?"}]
    tenant_window = prompt_tokens(new) + COUNTER.messages(exchange[1:]) + 2
    assert tenant_window < prompt_tokens(new) + COUNTER.messages(exchange), "a cut is needed"
    tenant = make_tenant(router, token_context_window=tenant_window)
    tenant.assistant("tools", model="local/tool-call", chat_history="on")
    client = tenant.client()
    first = client.chat.completions.create(model="tools", messages=exchange[:1])  # type: ignore[arg-type]
    assert first.choices[0].message.tool_calls
    client.chat.completions.create(model="tools", messages=[tool_result])  # type: ignore[list-item]
    sent = upstream.last()["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"], "the exchange stayed whole"
    client.chat.completions.create(model="tools", messages=new)  # type: ignore[arg-type]
    # The last tool result alone would fit, but not without the call it answers: both go.
    assert [m["role"] for m in upstream.last()["messages"]] == ["user"]


def test_no_window_means_the_model_length_less_the_completion(
    router: RouterProcess, provider: str
) -> None:
    tenant = make_tenant(router, max_tokens=8000)  # echo's context is 8192
    tenant.assistant("bot")
    with pytest.raises(openai.BadRequestError) as caught:
        tenant.client().chat.completions.create(
            model="bot", messages=[{"role": "user", "content": words(300)}]
        )
    assert "192 tokens" in caught.value.message
    tenant.client().chat.completions.create(
        model="bot", messages=[{"role": "user", "content": words(300)}], max_tokens=1000
    )


def tool(name: str, size: int) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": words(size, "d"),
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }


def test_window_error_says_what_fills_it_and_what_to_change(
    router: RouterProcess, provider: str
) -> None:
    """A front end's many built-in tools fill the window before the user's three words."""
    tools = [tool(f"tool_{i:02d}", 10 + 5 * i) for i in range(30)]
    system = {"role": "system", "content": "Be brief."}
    new = [{"role": "user", "content": "what is new"}]
    tenant = make_tenant(router, token_context_window=1000)
    tenant.assistant("bot", system_prompt="Be brief.")
    with pytest.raises(openai.BadRequestError) as caught:
        tenant.client().chat.completions.create(model="bot", messages=new, tools=tools)  # type: ignore[arg-type]
    error = caught.value
    assert error.code == "context_length_exceeded"
    text = error.body["message"]  # type: ignore[index]
    tool_tokens = {t["function"]["name"]: COUNTER.tools([t]) for t in tools}
    total_tools = COUNTER.tools(tools)
    assert sum(tool_tokens.values()) == total_tools
    needed = COUNTER.prompt([system, *new], tools)
    assert text.startswith(
        f"This request's prompt is {needed} tokens, more than the context window of 1000 "
        "tokens for assistant 'bot'."
    ), text
    parts = (
        f"system prompt {COUNTER.messages([system])}, knowledge 0, history 0, "
        f"tools {total_tools} (30 tool definitions: "
    )
    assert parts in text, text
    largest = sorted(tool_tokens, key=lambda n: -tool_tokens[n])
    named = ", ".join(f"{n} {tool_tokens[n]}" for n in largest[:10])
    rest = sum(tool_tokens[n] for n in largest[10:])
    assert f"{named}, and 20 more: {rest}), new messages {prompt_tokens(new)} tokens." in text
    assert "The caller can: send fewer or shorter tool definitions, or none" in text
    assert "The operator can: raise the workspace's token_context_window (now 1000" in text
    assert "serve the assistant from a model with a longer context." in text, (
        "a system prompt this small is not worth shortening"
    )
    assert error.param == "tools"  # type: ignore[attr-defined]


def test_a_large_prompt_over_the_window_is_explained_too(
    router: RouterProcess, upstream: Upstream
) -> None:
    """Over 256 KB, the prompt (and the parts of its error) are counted off the event loop."""
    with router.admin() as admin:
        body = {
            "name": "long",
            "base_url": upstream.url,
            "models": [{"name": "echo", "context_length": 200_000}],
        }
        assert admin.post("/providers", json=body).status_code in (201, 409)
    tenant = make_tenant(router, token_context_window=30_000)
    tenant.assistant("bot", model="long/echo")
    new = [{"role": "user", "content": "many words " * 30_000}]  # 330 KB, ~60,000 tokens
    needed = prompt_tokens(new)
    assert needed > 30_000
    with pytest.raises(openai.BadRequestError) as caught:
        tenant.client().chat.completions.create(model="bot", messages=new)  # type: ignore[arg-type]
    text = caught.value.body["message"]  # type: ignore[index]
    assert text.startswith(f"This request's prompt is {needed} tokens"), text
    assert f"tools 0, new messages {needed} tokens." in text
