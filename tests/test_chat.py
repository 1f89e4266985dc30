"""The data plane driven by the official ``openai`` client against a real router and upstream."""

from __future__ import annotations

import itertools
import time

import httpx
import openai
import pytest

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.upstream import Upstream

USER = [{"role": "user", "content": "hello world"}]


def test_assistant_settings_are_applied(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot", system_prompt="You are terse.", temperature=0.25, max_tokens=50)
    answer = tenant.client().chat.completions.create(
        model="bot",
        messages=[{"role": "system", "content": "client rules"}, *USER],
        max_tokens=500,
        extra_body={"top_k": 7, "repetition_penalty": 1.1},
    )
    sent = upstream.last()
    assert sent["model"] == "echo"
    assert sent["messages"][0] == {"role": "system", "content": "You are terse."}
    assert sent["messages"][1] == {"role": "system", "content": "client rules"}
    assert sent["messages"][2] == USER[0]
    assert sent["temperature"] == 0.25
    assert sent["max_tokens"] == 50, "clamped to the assistant's cap"
    assert sent["top_k"] == 7 and sent["repetition_penalty"] == 1.1, "unknown fields pass"
    assert answer.model == "bot"
    assert answer.choices[0].message.content == "echo: hello world"


def test_request_temperature_wins_and_small_max_tokens_stay(
    tenant: Tenant, upstream: Upstream
) -> None:
    tenant.assistant("bot", temperature=1.5, max_tokens=50)
    tenant.client().chat.completions.create(
        model="bot", messages=USER, temperature=0.0, max_completion_tokens=20
    )
    sent = upstream.last()
    assert sent["temperature"] == 0.0
    assert sent["max_completion_tokens"] == 20
    assert "max_tokens" not in sent


def test_workspace_cap_applies_when_assistant_has_none(
    router: RouterProcess, provider: str, upstream: Upstream
) -> None:
    tenant = make_tenant(router, max_tokens=64)
    tenant.assistant("bot")
    client = tenant.client()
    client.chat.completions.create(model="bot", messages=USER)
    assert upstream.last()["max_tokens"] == 64, "requests that do not ask get the cap"
    client.chat.completions.create(model="bot", messages=USER, max_completion_tokens=1000)
    assert upstream.last()["max_completion_tokens"] == 64
    assert "system" not in [m["role"] for m in upstream.last()["messages"]]


def test_models_list_is_per_workspace(router: RouterProcess, provider: str) -> None:
    a, b = make_tenant(router), make_tenant(router)
    a.assistant("alpha")
    a.assistant("Alpha-2")
    b.assistant("beta")
    assert sorted(m.id for m in a.client().models.list()) == ["Alpha-2", "alpha"]
    assert [m.id for m in b.client().models.list()] == ["beta"]
    assert a.client().models.retrieve("alpha").owned_by == a.name
    with pytest.raises(openai.NotFoundError):
        a.client().models.retrieve("beta")


def test_workspace_isolation(router: RouterProcess, provider: str) -> None:
    a, b = make_tenant(router), make_tenant(router)
    b.assistant("secret-bot")
    with pytest.raises(openai.NotFoundError) as caught:
        a.client().chat.completions.create(model="secret-bot", messages=USER)
    assert caught.value.code == "model_not_found"
    assert "secret-bot" not in str(caught.value.message).split("exist")[1]


def test_workspace_key_is_refused_by_admin_api(router: RouterProcess, tenant: Tenant) -> None:
    response = httpx.get(
        router.url + "/admin/v1/workspaces", headers={"Authorization": f"Bearer {tenant.key}"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"
    response = httpx.get(router.url + "/admin/v1/workspaces")
    assert response.status_code == 401


def test_streaming_arrives_incrementally(tenant: Tenant) -> None:
    tenant.assistant("slow", model="local/paced")
    arrivals: list[float] = []
    text = ""
    stream = tenant.client().chat.completions.create(model="slow", messages=USER, stream=True)
    for chunk in stream:
        assert chunk.model == "slow"
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
            text += chunk.choices[0].delta.content
    assert text == "echo: hello world"
    # The upstream paces its chunks 0.3 s apart (3 carry text): each is passed on as it comes,
    # so the client sees them apart too (a router that buffered would hand them over together).
    # Pauses only grow on a loaded machine, so this holds there as well.
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(arrivals) >= 3 and sum(gap > 0.2 for gap in gaps) >= 2, (arrivals, gaps)


def test_stream_usage_only_when_asked(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("bot")
    client = tenant.client()
    chunks = list(client.chat.completions.create(model="bot", messages=USER, stream=True))
    assert upstream.last()["stream_options"] == {"include_usage": True}
    assert all(c.usage is None for c in chunks)
    chunks = list(
        client.chat.completions.create(
            model="bot", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and usage[0].completion_tokens == 3


def test_client_disconnect_cancels_upstream(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("slow", model="local/paced")
    cancelled = upstream.cancelled_streams
    stream = tenant.client().chat.completions.create(model="slow", messages=USER, stream=True)
    next(iter(stream))
    stream.close()
    deadline = time.monotonic() + 20
    while upstream.cancelled_streams == cancelled and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.cancelled_streams == cancelled + 1


def test_embeddings(tenant: Tenant, upstream: Upstream) -> None:
    tenant.assistant("embedder", model="local/embed")
    result = tenant.client().embeddings.create(model="embedder", input=["a", "bcd"])
    assert result.model == "embedder"
    assert [d.embedding[2] for d in result.data] == [1.0, 3.0]
    assert upstream.last()["model"] == "embed"


def test_error_classes_raise_matching_openai_exceptions(
    router: RouterProcess, tenant: Tenant, upstream: Upstream
) -> None:
    # A provider of its own on the shared upstream: other tests on this router send "local/fail"
    # failures too, and three of them put that deployment in cooldown (a 503, not this 502).
    provider = "errors-" + tenant.name
    with router.admin() as admin:
        body = {"name": provider, "kind": "openai", "base_url": upstream.url}
        assert admin.post("/providers", json=body).status_code == 201
    tenant.assistant("bot")
    tenant.assistant("failing", model=f"{provider}/fail")
    tenant.assistant("picky", model="local/reject")
    with pytest.raises(openai.AuthenticationError) as auth:
        router.client("jk-wrong").chat.completions.create(model="bot", messages=USER)
    assert auth.value.code == "invalid_api_key"
    with pytest.raises(openai.NotFoundError) as missing:
        tenant.client().chat.completions.create(model="bto", messages=USER)
    assert missing.value.code == "model_not_found"
    assert "Did you mean: bot" in missing.value.message
    with pytest.raises(openai.BadRequestError):
        tenant.client().chat.completions.create(model="bot", messages=[])
    with pytest.raises(openai.InternalServerError) as upstream_failed:
        tenant.client().chat.completions.create(model="failing", messages=USER)
    assert upstream_failed.value.status_code == 502
    with pytest.raises(openai.BadRequestError) as rejected:
        tenant.client().chat.completions.create(model="picky", messages=USER)
    assert "bad parameter" in rejected.value.message


def test_unreachable_and_slow_upstreams(router: RouterProcess, tenant: Tenant) -> None:
    import socket
    import threading

    from tests.conftest import free_port

    dead = free_port()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    stop = threading.Event()
    with router.admin() as admin:
        assert (
            admin.post(
                "/providers",
                json={
                    "name": f"dead-{dead}",
                    "base_url": f"http://127.0.0.1:{dead}/v1",
                    "models": [{"name": "m"}],
                },
            ).status_code
            == 201
        )
        port = silent.getsockname()[1]
        assert (
            admin.post(
                "/providers",
                json={
                    "name": f"silent-{port}",
                    "base_url": f"http://127.0.0.1:{port}/v1",
                    "read_timeout": 0.5,
                    "models": [{"name": "m"}],
                },
            ).status_code
            == 201
        )
    tenant.assistant("gone", model=f"dead-{dead}/m")
    tenant.assistant("mute", model=f"silent-{port}/m")
    try:
        with pytest.raises(openai.InternalServerError) as refused:
            tenant.client().chat.completions.create(model="gone", messages=USER)
        assert refused.value.status_code == 502
        assert "unreachable" in refused.value.message
        with pytest.raises(openai.InternalServerError) as timed_out:
            tenant.client().chat.completions.create(model="mute", messages=USER)
        assert timed_out.value.status_code == 504
    finally:
        stop.set()
        silent.close()


def test_broken_stream_ends_with_an_error_event(tenant: Tenant) -> None:
    tenant.assistant("flaky", model="local/broken-stream")
    stream = tenant.client().chat.completions.create(model="flaky", messages=USER, stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


MALFORMED: list[tuple[bytes, int]] = [
    (b"", 400),
    (b"{", 400),
    (b"[]", 400),
    (b"null", 400),
    (b'"text"', 400),
    (b"\xff\xfe\x00", 400),
    (b'{"messages": []}', 400),
    (b'{"model": "bot"}', 400),
    (b'{"model": 12, "messages": [{"role": "user", "content": "x"}]}', 400),
    (b'{"model": "bot", "messages": "hi"}', 400),
    (b'{"model": "bot", "messages": [1, 2]}', 400),
    (b'{"model": "bot", "messages": [{"content": "no role"}]}', 400),
    (b'{"model": "bot", "messages": [{"role": "user"}], "stream": "yes"}', 400),
    (b'{"model": "bot", "messages": [{"role": "user"}], "max_tokens": "many"}', 400),
    (b'{"model": "bot", "messages": [{"role": "user"}], "max_tokens": -5}', 400),
    (b'{"model": "bot", "messages": [{"role": "user"}], "temperature": "hot"}', 400),
    (b'{"model": "nope", "messages": [{"role": "user", "content": "x"}]}', 404),
    (b'{"model": "bot", "messages": [{"role": "user"}]}' + b" " * 10, 200),
]


def test_malformed_bodies_get_json_errors_and_server_keeps_serving(tenant: Tenant) -> None:
    tenant.assistant("bot")
    url = tenant.router.url + "/v1/chat/completions"
    headers = {"Authorization": f"Bearer {tenant.key}", "Content-Type": "application/json"}
    for body, status in MALFORMED:
        response = httpx.post(url, content=body, headers=headers, timeout=10)
        assert response.status_code == status, (body, response.text)
        if status >= 400:
            error = response.json()["error"]
            assert set(error) == {"message", "type", "param", "code"}, body
            assert response.headers["x-request-id"].startswith("req_")
    deep = b"[" * 100_000 + b"]" * 100_000
    assert httpx.post(url, content=deep, headers=headers).status_code == 400
    answer = tenant.client().chat.completions.create(model="bot", messages=USER)
    assert answer.choices[0].message.content == "echo: hello world"


def test_oversized_body_is_413(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("bot")
    big = "x" * (17 * 1024 * 1024)
    with pytest.raises(openai.APIStatusError) as caught:
        tenant.client().chat.completions.create(
            model="bot", messages=[{"role": "user", "content": big}]
        )
    assert caught.value.status_code == 413

    def chunked() -> object:
        yield b'{"model": "bot", "messages": [{"role": "user", "content": "'
        for _ in range(17):
            yield b"y" * (1024 * 1024)
        yield b'"}]}'

    response = httpx.post(
        router.url + "/v1/chat/completions",
        content=chunked(),  # type: ignore[arg-type]
        headers={"Authorization": f"Bearer {tenant.key}"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
