"""Chat history through the official ``openai`` client: modes, identity, resends, thinking."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.upstream import Upstream


def ask(tenant: Tenant, text: str, conversation: str | None = None, **kwargs: Any) -> Any:
    """One chat request; returns the raw response (headers) with ``.answer`` parsed."""
    headers = {"X-Conversation-Id": conversation} if conversation else {}
    raw = tenant.client().chat.completions.with_raw_response.create(
        model=kwargs.pop("model", "bot"),
        messages=kwargs.pop("messages", [{"role": "user", "content": text}]),
        extra_headers=headers,
        **kwargs,
    )
    raw.answer = raw.parse()
    return raw


def sent_messages(upstream: Upstream) -> list[tuple[str, Any]]:
    return [(m["role"], m.get("content")) for m in upstream.last()["messages"]]


def conversations(tenant: Tenant, key: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=tenant.router.url + "/v1/conversations",
        headers={"Authorization": f"Bearer {key or tenant.key}"},
        timeout=10,
    )


def test_on_remembers_each_conversation_separately(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", chat_history="on", system_prompt="Be brief.")
    first = ask(tenant, "my name is Ada", "c-1")
    assert first.headers["x-conversation-id"] == "c-1"
    ask(tenant, "I like tea", "c-2")
    ask(tenant, "what is my name?", "c-1")
    assert sent_messages(upstream) == [
        ("system", "Be brief."),
        ("user", "my name is Ada"),
        ("assistant", "echo: my name is Ada"),
        ("user", "what is my name?"),
    ]
    ask(tenant, "and what do I like?", "c-2")
    assert sent_messages(upstream)[1:] == [
        ("user", "I like tea"),
        ("assistant", "echo: I like tea"),
        ("user", "and what do I like?"),
    ]


def test_resent_conversation_is_not_duplicated(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", chat_history="on")
    messages: list[Any] = [{"role": "user", "content": "one"}]
    answer = ask(tenant, "", "r", messages=messages).answer
    # The client keeps its own copy, as chat clients do, echoing the SDK's message object.
    messages += [answer.choices[0].message.model_dump(exclude_none=True)]
    messages += [{"role": "user", "content": "two"}]
    answer = ask(tenant, "", "r", messages=messages).answer
    assert sent_messages(upstream) == [
        ("user", "one"),
        ("assistant", "echo: one"),
        ("user", "two"),
    ]
    # A client that sends only its recent part is recognised too.
    recent = [
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": answer.choices[0].message.content},
        {"role": "user", "content": "three"},
    ]
    ask(tenant, "", "r", messages=recent)
    assert [c for _, c in sent_messages(upstream)] == [
        "one",
        "echo: one",
        "two",
        "echo: two",
        "three",
    ]
    with conversations(tenant) as api:
        stored = api.get("/r").json()
    assert [m["content"] for m in stored["messages"]] == [
        "one",
        "echo: one",
        "two",
        "echo: two",
        "three",
        "echo: three",
    ]
    assert stored["turn_count"] == 3


def test_identity_from_metadata_user_and_default(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", chat_history="on")
    raw = ask(tenant, "by metadata", metadata={"conversation_id": "meta-1"}, store=False)
    assert raw.headers["x-conversation-id"] == "meta-1"
    raw = ask(tenant, "by user", user="alice@example.com")
    assert raw.headers["x-conversation-id"] == "alice@example.com"
    raw = ask(tenant, "by default")
    assert raw.headers["x-conversation-id"] == "default:bot"
    ask(tenant, "again", user="alice@example.com")
    assert [c for _, c in sent_messages(upstream)] == ["by user", "echo: by user", "again"]
    ask(tenant, "again")
    assert [c for _, c in sent_messages(upstream)] == ["by default", "echo: by default", "again"]
    # The header wins over the body.
    raw = ask(tenant, "header wins", "hdr", user="alice@example.com")
    assert raw.headers["x-conversation-id"] == "hdr"
    assert len(upstream.last()["messages"]) == 1
    # A non-ASCII id is echoed percent-encoded, which is how it goes into the URL too.
    raw = ask(tenant, "unicode", user="jörg")
    assert raw.headers["x-conversation-id"] == "j%C3%B6rg"
    with conversations(tenant) as api:
        assert api.get("/j%C3%B6rg").json()["messages"][0]["content"] == "unicode"


def test_off_is_stateless(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", chat_history="off")
    raw = ask(tenant, "first", "x")
    assert "x-conversation-id" not in raw.headers
    ask(tenant, "second", "x")
    assert sent_messages(upstream) == [("user", "second")]
    with conversations(tenant) as api:
        assert api.get("/x").status_code == 404


def test_conversation_api_is_per_key(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot", chat_history="on")
    ask(tenant, "secret", "mine")
    other = make_tenant(router)
    with router.admin() as admin:
        second_key = admin.post(f"/workspaces/{tenant.name}/keys", json={}).json()["key"]
    with conversations(tenant, second_key) as api:
        assert api.get("/mine").status_code == 404, "another key of the workspace"
    with conversations(tenant, other.key) as api:
        assert api.get("/mine").status_code == 404, "another workspace"
    with conversations(tenant) as api:
        body = api.get("/mine").json()
        assert body["id"] == "mine" and body["object"] == "conversation"
        assert body["assistant"] == "bot"
        assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
        gone = api.delete("/mine")
        assert gone.json() == {"id": "mine", "object": "conversation.deleted", "deleted": True}
        assert api.get("/mine").status_code == 404
        assert api.delete("/mine").status_code == 404
        error = api.get("/never").json()["error"]
        assert error["code"] == "not_found"


def test_rotated_key_keeps_its_conversations(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot", chat_history="on")
    ask(tenant, "before rotation", "keep")
    with router.admin() as admin:
        rotated = admin.post(
            f"/workspaces/{tenant.name}/keys/{tenant.key_id}/rotate", json={"grace_seconds": 60}
        )
    with conversations(tenant, rotated.json()["key"]) as api:
        assert api.get("/keep").json()["messages"][0]["content"] == "before rotation"


def test_streamed_answer_is_stored_once_complete(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", chat_history="on")
    raw = tenant.client().chat.completions.with_raw_response.create(
        model="bot",
        messages=[{"role": "user", "content": "stream me"}],
        stream=True,
        extra_headers={"X-Conversation-Id": "s"},
    )
    assert raw.headers["x-conversation-id"] == "s"
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == "echo: stream me"
    ask(tenant, "next", "s")
    assert [c for _, c in sent_messages(upstream)] == ["stream me", "echo: stream me", "next"]


def test_cut_off_stream_is_not_stored(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("flaky", model="local/broken-stream", chat_history="on")
    tenant.assistant("bot", chat_history="on")
    stream = tenant.client().chat.completions.create(
        model="flaky",
        messages=[{"role": "user", "content": "will break"}],
        stream=True,
        extra_headers={"X-Conversation-Id": "cut"},
    )
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
    ask(tenant, "after", "cut")
    assert sent_messages(upstream) == [("user", "after")]


def test_disable_think_strips_and_switches_off(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", model="local/think", chat_history="disable_think")
    answer = ask(tenant, "hi", "t", extra_body={"chat_template_kwargs": {"foo": 1}}).answer
    sent = upstream.last()
    assert sent["chat_template_kwargs"] == {"foo": 1, "enable_thinking": False}
    message = answer.choices[0].message
    assert message.content == "echo: hi"
    assert "reasoning_content" not in (message.model_extra or {})

    stream = tenant.client().chat.completions.create(
        model="bot",
        messages=[{"role": "user", "content": "streamed"}],
        stream=True,
        extra_headers={"X-Conversation-Id": "t"},
    )
    chunks = list(stream)
    assert all("reasoning_content" not in (c.choices[0].delta.model_extra or {}) for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: streamed", "a think block split across chunks is still removed"
    assert upstream.last()["chat_template_kwargs"] == {"enable_thinking": False}

    ask(tenant, "third", "t")
    assert [c for _, c in sent_messages(upstream)] == [
        "hi",
        "echo: hi",
        "streamed",
        "echo: streamed",
        "third",
    ], "what is stored has no thinking either"


def test_on_keeps_thinking_and_sends_no_switch(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", model="local/think", chat_history="on")
    answer = ask(tenant, "hi", "k").answer
    assert answer.choices[0].message.content.startswith("<think>")
    assert "chat_template_kwargs" not in upstream.last()


def test_qwen3_also_gets_the_soft_switch(
    router: RouterProcess, upstream: Upstream, provider: str
) -> None:
    with router.admin() as admin:
        response = admin.post(
            "/providers",
            json={
                "name": "qwen",
                "kind": "openai",
                "base_url": upstream.url,
                "models": [{"name": "Qwen3-8B", "context_length": 32768}],
            },
        )
        assert response.status_code in (201, 409), response.text
    tenant = make_tenant(router)
    tenant.assistant("bot", model="qwen/Qwen3-8B", chat_history="disable_think", system_prompt="S")
    ask(tenant, "hi")
    assert upstream.last()["messages"][0] == {"role": "system", "content": "S\n/no_think"}


def test_admin_lists_reads_and_deletes_conversations(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot", chat_history="on")
    ask(tenant, "a1", "a")
    ask(tenant, "a2", "a")
    ask(tenant, "b1", "b")
    base = f"/workspaces/{tenant.name}/conversations"
    with router.admin() as admin:
        listed = admin.get(base).json()["data"]
        assert {c["conversation_id"]: c["turns"] for c in listed} == {"a": 2, "b": 1}
        assert all(c["key_id"] == tenant.key_id and c["tokens"] > 0 for c in listed)
        page = admin.get(base, params={"limit": 1}).json()
        assert len(page["data"]) == 1 and page["next_cursor"] == "1"
        a = next(c for c in listed if c["conversation_id"] == "a")
        detail = admin.get(f"{base}/{a['id']}").json()
        assert [m["content"] for m in detail["messages"]] == ["a1", "echo: a1", "a2", "echo: a2"]
        assert len(detail["turn_list"]) == 2
        assert admin.delete(f"{base}/{a['id']}").status_code == 204
        assert admin.get(f"{base}/{a['id']}").status_code == 404
        other = make_tenant(router)
        b = next(c for c in listed if c["conversation_id"] == "b")
        assert admin.get(f"/workspaces/{other.name}/conversations/{b['id']}").status_code == 404
        assert admin.delete(base).json() == {"deleted": 1}
        assert admin.get(base).json()["data"] == []
    ask(tenant, "fresh", "a")
    with conversations(tenant) as api:
        assert [m["content"] for m in api.get("/a").json()["messages"]] == ["fresh", "echo: fresh"]


def test_bad_conversation_ids_are_400(tenant: Tenant) -> None:
    tenant.assistant("bot", chat_history="on")
    with pytest.raises(openai.BadRequestError) as caught:
        ask(tenant, "x", metadata={"conversation_id": "a" * 300})
    assert caught.value.body["param"] == "metadata.conversation_id"  # type: ignore[index]


def test_openapi_publishes_the_new_routes(router: RouterProcess) -> None:
    paths = httpx.get(router.url + "/openapi.json").json()["paths"]
    assert set(paths["/v1/conversations/{id}"]) == {"get", "delete"}
    assert "post" in paths["/v1/responses"]
    assert "/v1/chat/completions" in paths
    assert set(paths["/admin/v1/workspaces/{ws}/conversations"]) == {"get", "delete"}
    assert set(paths["/admin/v1/workspaces/{ws}/conversations/{conversation_id}"]) == {
        "get",
        "delete",
    }
