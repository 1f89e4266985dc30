"""Disable Think as its own switch, apart from chat history, through the ``openai`` client:
thinking off and reasoning stripped with history off (nothing stored), the
``chat_history: disable_think`` shorthand, and streams that keep OpenAI's chunk shape."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.test_history import ask, conversations, sent_messages
from tests.upstream import Upstream
from tests.upstream_scripted import ScriptedUpstream, start_scripted


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedUpstream]:
    state, server = start_scripted()
    yield state
    server.stop()


def test_history_off_with_disable_think_strips_and_stores_nothing(
    router: RouterProcess, tenant: Tenant, upstream: Upstream
) -> None:
    made = tenant.assistant("bot", model="local/think", chat_history="off", disable_think=True)
    assert (made["chat_history"], made["disable_think"]) == ("off", True)

    raw = ask(tenant, "hi", "c-1", extra_body={"chat_template_kwargs": {"foo": 1}})
    assert upstream.last()["chat_template_kwargs"] == {"foo": 1, "enable_thinking": False}
    message = raw.answer.choices[0].message
    assert message.content == "echo: hi"
    assert "reasoning_content" not in (message.model_extra or {})
    assert "x-conversation-id" not in raw.headers, "no conversation: history is off"

    stream = tenant.client().chat.completions.create(
        model="bot",
        messages=[{"role": "user", "content": "streamed"}],
        stream=True,
        extra_headers={"X-Conversation-Id": "c-1"},
    )
    chunks = list(stream)
    assert upstream.last()["chat_template_kwargs"] == {"enable_thinking": False}
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert all("reasoning_content" not in (d.model_extra or {}) for d in deltas)
    assert "".join(d.content or "" for d in deltas) == "echo: streamed"
    assert deltas[0].role == "assistant"

    ask(tenant, "third", "c-1")
    assert sent_messages(upstream) == [("user", "third")], "nothing was prepended"
    with conversations(tenant) as api:
        assert api.get("/c-1").status_code == 404
    with router.admin() as admin:
        assert admin.get(f"/workspaces/{tenant.name}/conversations").json()["data"] == []


def test_history_on_without_disable_think_leaves_thinking_alone(
    tenant: Tenant, upstream: Upstream
) -> None:
    tenant.assistant("bot", model="local/think", chat_history="on", disable_think=False)
    answer = ask(tenant, "hi", "k").answer
    assert answer.choices[0].message.content.startswith("<think>")
    assert "chat_template_kwargs" not in upstream.last()


def test_shorthand_is_on_plus_disable_think_and_reads_back(
    router: RouterProcess, tenant: Tenant, upstream: Upstream
) -> None:
    made = tenant.assistant("bot", model="local/think", chat_history="disable_think")
    assert (made["chat_history"], made["disable_think"]) == ("on", True)
    assert ask(tenant, "hi", "s").answer.choices[0].message.content == "echo: hi"
    assert upstream.last()["chat_template_kwargs"] == {"enable_thinking": False}
    ask(tenant, "again", "s")
    assert [c for _, c in sent_messages(upstream)] == ["hi", "echo: hi", "again"], (
        "history is on, and what it stored has no thinking"
    )

    base = f"/workspaces/{tenant.name}/assistants"
    with router.admin() as admin:
        read = admin.get(f"{base}/bot").json()
        assert (read["chat_history"], read["disable_think"]) == ("on", True)
        # chat_history alone sets history; the switch keeps its value until set itself.
        off = admin.patch(f"{base}/bot", json={"chat_history": "off"}).json()
        assert (off["chat_history"], off["disable_think"]) == ("off", True)
        back = admin.patch(f"{base}/bot", json={"chat_history": "disable_think"}).json()
        assert (back["chat_history"], back["disable_think"]) == ("on", True)
        plain = admin.patch(f"{base}/bot", json={"disable_think": False}).json()
        assert (plain["chat_history"], plain["disable_think"]) == ("on", False)
        clash = admin.patch(
            f"{base}/bot", json={"chat_history": "disable_think", "disable_think": False}
        )
        assert clash.status_code == 422
        assert clash.json()["error"]["param"] == "disable_think"
        kept = admin.patch(f"{base}/bot", json={"disable_think": None}).json()
        assert kept["disable_think"] is False, "null keeps the value"


def test_first_delivered_chunk_carries_the_role(
    router: RouterProcess, scripted: ScriptedUpstream
) -> None:
    """The upstream's first chunk has the role and only the start of a think block: it is
    left out, and the role moves to the first chunk that is delivered."""
    name, model = "s-" + secrets.token_hex(3), "m-" + secrets.token_hex(3)
    with router.admin() as admin:
        body = {"name": name, "base_url": scripted.url, "models": [{"name": model}]}
        assert admin.post("/providers", json=body).status_code == 201
    tenant = make_tenant(router)
    tenant.assistant("bot", model=f"{name}/{model}", disable_think=True)

    scripted.plan(model, "thinkfirst")
    stream = tenant.client().chat.completions.create(
        model="bot", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    deltas = [c.choices[0].delta for c in stream if c.choices]
    assert deltas[0].role == "assistant", deltas
    assert "".join(d.content or "" for d in deltas) == f"ok from {model}"

    # On the wire: every chunk is a chat.completion.chunk, the role only on the first.
    scripted.plan(model, "thinkfirst")
    request = {"model": "bot", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    auth = {"Authorization": f"Bearer {tenant.key}"}
    url = router.url + "/v1/chat/completions"
    with httpx.stream("POST", url, json=request, headers=auth, timeout=10) as response:
        lines = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    events = [orjson.loads(line) for line in lines[:-1]]
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    roles = [e["choices"][0]["delta"].get("role") for e in events if e["choices"]]
    assert roles[0] == "assistant" and set(roles[1:]) == {None}

    scripted.plan(model, "thinkfirst")
    answer = tenant.client().chat.completions.create(
        model="bot", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == f"ok from {model}"
