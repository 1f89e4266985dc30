"""Pools, retries, fallbacks, health and the quality gate, against scripted loopback upstreams
that fail on cue, through the official ``openai`` client at a real router process."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import RouterProcess, Tenant, free_port, make_tenant
from tests.upstream_scripted import ScriptedUpstream, start_scripted

USER = [{"role": "user", "content": "hello"}]
COOLDOWN = 2.0


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedUpstream]:
    state, server = start_scripted()
    yield state
    server.stop()


@pytest.fixture(scope="module")
def rrouter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterProcess]:
    env = {
        "JUNCTION_HEALTH_COOLDOWN_SECONDS": str(COOLDOWN),
        "JUNCTION_ROUTING_BACKOFF_BASE": "0.05",
    }
    proc = RouterProcess(tmp_path_factory.mktemp("routing"), env).start()
    yield proc
    proc.stop()


def add_provider(router: RouterProcess, url: str, *models: str, **fields: Any) -> str:
    name = "p-" + secrets.token_hex(4)
    with router.admin() as admin:
        body = {"name": name, "base_url": url, "models": [{"name": m} for m in models], **fields}
        response = admin.post("/providers", json=body)
    assert response.status_code == 201, response.text
    return name


@pytest.fixture
def prov(rrouter: RouterProcess, scripted: ScriptedUpstream) -> str:
    """A fresh provider on the scripted upstream, serving models a..e (unique per test)."""
    return add_provider(rrouter, scripted.url, "a", "b", "c", "d", "e", read_timeout=0.5)


@pytest.fixture
def ten(rrouter: RouterProcess, prov: str) -> Tenant:
    return make_tenant(rrouter)


class Answer:
    """A non-streamed answer's headers and parsed body (the client is closed at once)."""

    def __init__(self, headers: httpx.Headers, body: Any) -> None:
        self.headers = headers
        self.body = body

    def parse(self) -> Any:
        return self.body


def ask(tenant: Tenant, model: str = "bot", **kwargs: Any) -> Answer:
    with tenant.client() as client:
        raw = client.chat.completions.with_raw_response.create(model=model, messages=USER, **kwargs)
        return Answer(raw.headers, raw.parse())


def test_retry_then_success(ten: Tenant, prov: str, scripted: ScriptedUpstream) -> None:
    ten.assistant("bot", model=f"{prov}/a")
    # Model names reach the upstream bare, so a test's models must be its own: unique plans.
    scripted.plan("a", "500", "503", "ok")
    raw = ask(ten)
    assert raw.parse().choices[0].message.content == "ok from a"
    assert raw.headers["x-junction-attempts"] == "3"
    assert raw.headers["x-junction-model"] == f"{prov}/a"
    assert scripted.calls("a")[-3:] == ["500", "503", "ok"]
    gaps = [b - a for a, b in zip(scripted.times("a")[-3:], scripted.times("a")[-2:], strict=False)]
    assert all(g >= 0.02 for g in gaps), f"retries back off: {gaps}"


def test_429_retry_after_is_honoured(ten: Tenant, prov: str, scripted: ScriptedUpstream) -> None:
    ten.assistant("bot", model=f"{prov}/b")
    scripted.plan("b", "429:1", "ok")
    started = time.monotonic()
    raw = ask(ten)
    assert raw.headers["x-junction-attempts"] == "2"
    times = scripted.times("b")[-2:]
    assert times[1] - times[0] >= 0.95, "the retry waited for Retry-After"
    assert time.monotonic() - started < 15  # generous: a loaded machine, not a second wait


def test_long_retry_after_falls_back_at_once(
    ten: Tenant, prov: str, scripted: ScriptedUpstream
) -> None:
    ten.assistant("bot", model=f"{prov}/c", fallbacks=[f"{prov}/d"])
    scripted.plan("c", "429:120")
    started = time.monotonic()
    raw = ask(ten)
    # Generous for a loaded machine, and far below the 120 s asked for.
    assert time.monotonic() - started < 30, "a Retry-After past the limit is not waited for"
    assert raw.headers["x-junction-model"] == f"{prov}/d"
    assert raw.headers["x-junction-attempts"] == "2"
    assert raw.parse().choices[0].message.content == "ok from d"


def test_fallbacks_in_order_and_attempts_are_bounded(
    rrouter: RouterProcess, scripted: ScriptedUpstream
) -> None:
    prov = add_provider(rrouter, scripted.url, "f1", "f2", "f3", "f4")
    ten = make_tenant(rrouter)
    ten.assistant("bot", model=f"{prov}/f1", fallbacks=[f"{prov}/f2", f"{prov}/f3"])
    scripted.plan("f1", "500", "500", "500")
    scripted.plan("f2", "502", "502", "502")
    raw = ask(ten)
    assert raw.headers["x-junction-model"] == f"{prov}/f3"
    assert raw.headers["x-junction-attempts"] == "7"
    order = [m for m, *_ in scripted.hits if m in ("f1", "f2", "f3")]
    assert order == ["f1"] * 3 + ["f2"] * 3 + ["f3"]

    # Four candidates that all fail: 8 upstream requests at most (JUNCTION_ROUTING_MAX_ATTEMPTS).
    prov2 = add_provider(rrouter, scripted.url, "g1", "g2", "g3", "g4")
    ten.assistant("doomed", model=f"{prov2}/g1", fallbacks=[f"{prov2}/g{i}" for i in (2, 3, 4)])
    for m in ("g1", "g2", "g3", "g4"):
        scripted.plan(m, *["500"] * 3)
    with pytest.raises(openai.InternalServerError) as failed:
        ask(ten, "doomed")
    assert failed.value.status_code == 502
    assert "after 8 attempts" in failed.value.message
    assert len([m for m, *_ in scripted.hits if m.startswith("g")]) == 8


def test_timeout_and_refused_connection_are_retried(
    rrouter: RouterProcess, ten: Tenant, prov: str, scripted: ScriptedUpstream
) -> None:
    ten.assistant("bot", model=f"{prov}/e")
    scripted.plan("e", "hang", "ok")
    raw = ask(ten)
    assert raw.headers["x-junction-attempts"] == "2"
    assert raw.parse().choices[0].message.content == "ok from e"

    dead = add_provider(rrouter, f"http://127.0.0.1:{free_port()}/v1", "m")
    live = add_provider(rrouter, scripted.url, "pool-live")
    ten.assistant("pooled", model=[f"{dead}/m", f"{live}/pool-live"])
    for _ in range(4):
        raw = ask(ten, "pooled")
        assert raw.headers["x-junction-model"] == f"{live}/pool-live"


def test_pool_balances_by_least_outstanding(
    rrouter: RouterProcess, scripted: ScriptedUpstream
) -> None:
    prov = add_provider(rrouter, scripted.url, "bal1", "bal2")
    ten = make_tenant(rrouter)
    ten.assistant("pool", model=[f"{prov}/bal1", f"{prov}/bal2"])
    # Sequential requests: ties take turns.
    served = [ask(ten, "pool").headers["x-junction-model"] for _ in range(6)]
    assert served.count(f"{prov}/bal1") == 3, served
    # Concurrent slow requests: each goes to the deployment with fewer in flight.
    for m in ("bal1", "bal2"):
        scripted.plan(m, *["paced"] * 4)
    before = len(scripted.hits)
    results: list[str] = []

    def one() -> None:
        results.append(ask(ten, "pool").headers["x-junction-model"])

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert sorted(results) == sorted([f"{prov}/bal1", f"{prov}/bal2"] * 2), results
    assert {a for m, _, a, _ in scripted.hits[before:]} == {"paced"}


def test_cooldown_probe_and_recovery(
    rrouter: RouterProcess, ten: Tenant, prov: str, scripted: ScriptedUpstream
) -> None:
    model = "cool-" + secrets.token_hex(3)
    prov = add_provider(rrouter, scripted.url, model)
    ten.assistant("bot", model=f"{prov}/{model}")
    scripted.plan(model, "500", "500", "500")
    with pytest.raises(openai.InternalServerError):
        ask(ten)
    with rrouter.admin() as admin:
        health = admin.get(f"/providers/{prov}").json()["health"]
    assert health["status"] == "cooldown"
    assert "scripted 500" in health["last_error"]
    assert health["deployments"][0]["failures"] == 3
    auth = {"Authorization": f"Bearer {rrouter.admin_key}"}
    ready = httpx.get(rrouter.url + "/readyz", headers=auth).json()
    assert ready["providers"][prov]["status"] == "cooldown"

    # While cooling down the deployment is skipped: a fast 503, the upstream is not asked.
    hits = len(scripted.calls(model))
    with pytest.raises(openai.InternalServerError) as cooling:
        ask(ten)
    assert cooling.value.status_code == 503
    assert cooling.value.response.headers["retry-after"] in ("1", "2")
    assert len(scripted.calls(model)) == hits

    # After the cooldown a probe (GET /models) runs first, then the request goes through.
    time.sleep(COOLDOWN + 0.2)
    probes = scripted.model_lists
    raw = ask(ten)
    assert raw.parse().choices[0].message.content == f"ok from {model}"
    assert scripted.model_lists == probes + 1
    with rrouter.admin() as admin:
        health = admin.get("/providers").json()["data"]
    mine = next(p for p in health if p["name"] == prov)["health"]
    assert mine["status"] == "healthy"
    assert mine["latency_ms"] is not None


def test_streams_retry_before_the_first_byte_only(
    ten: Tenant, prov: str, scripted: ScriptedUpstream, rrouter: RouterProcess
) -> None:
    model = "s-" + secrets.token_hex(3)
    prov = add_provider(rrouter, scripted.url, model)
    ten.assistant("bot", model=f"{prov}/{model}")
    scripted.plan(model, "503", "ok")
    with ten.client() as client:
        raw = client.chat.completions.with_raw_response.create(
            model="bot", messages=USER, stream=True
        )
        assert raw.headers["x-junction-attempts"] == "2"
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == f"ok from {model}"

    scripted.plan(model, "die")
    before = len(scripted.calls(model))
    with (
        ten.client() as client,
        client.chat.completions.create(model="bot", messages=USER, stream=True) as stream,
        pytest.raises(openai.APIError),
    ):
        for _ in stream:
            pass
    assert scripted.calls(model)[before:] == ["die"], "no retry once the stream has started"
    with rrouter.admin() as admin:
        deployment = admin.get(f"/providers/{prov}").json()["health"]["deployments"][0]
    assert deployment["consecutive_failures"] == 1, "a stream that died counts against health"
    assert deployment["last_error"]


def test_quality_gate_falls_back_and_scores(
    ten: Tenant, prov: str, scripted: ScriptedUpstream, rrouter: RouterProcess
) -> None:
    q1, q2, q3 = (f"q{i}-" + secrets.token_hex(3) for i in (1, 2, 3))
    prov = add_provider(rrouter, scripted.url, q1, q2, q3)
    ten.assistant("gated", model=f"{prov}/{q1}", fallbacks=[f"{prov}/{q2}"], quality_score=60)
    scripted.plan(q1, "text=   ")
    raw = ask(ten, "gated")
    assert raw.headers["x-junction-model"] == f"{prov}/{q2}"
    assert raw.headers["x-junction-quality-score"] == "100"
    assert raw.parse().choices[0].message.content == f"ok from {q2}"

    # Nothing passes: the best answer comes back (cut off: 40 beats a refusal: 30).
    scripted.plan(q1, "length")
    scripted.plan(q2, "text=I'm sorry, but I can't help with that.")
    raw = ask(ten, "gated")
    assert raw.headers["x-junction-model"] == f"{prov}/{q1}"
    assert raw.headers["x-junction-quality-score"] == "40"
    assert raw.parse().choices[0].finish_reason == "length"

    # Invalid tool arguments fail the gate; JSON output is checked against the schema.
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    ten.assistant("tooly", model=f"{prov}/{q3}", fallbacks=[f"{prov}/{q2}"], quality_score=50)
    scripted.plan(q3, 'tool={"town": "Oslo"}')
    scripted.plan(q2, 'tool={"city": "Oslo"}')
    raw = ask(ten, "tooly", tools=tools)
    assert raw.headers["x-junction-model"] == f"{prov}/{q2}"
    assert raw.parse().choices[0].message.tool_calls[0].function.arguments == '{"city": "Oslo"}'

    # An assistant without a threshold is not scored.
    ten.assistant("plain", model=f"{prov}/{q3}")
    assert "x-junction-quality-score" not in ask(ten, "plain").headers


def test_judge_grades_passing_answers(
    ten: Tenant, scripted: ScriptedUpstream, rrouter: RouterProcess
) -> None:
    ans, grade = "ans-" + secrets.token_hex(3), "judge-" + secrets.token_hex(3)
    prov = add_provider(rrouter, scripted.url, ans, grade)
    ten.assistant("judge", model=f"{prov}/{grade}")
    ten.assistant("graded", model=f"{prov}/{ans}", quality_score=50)
    with rrouter.admin() as admin:
        response = admin.patch(f"/workspaces/{ten.name}", json={"judge_assistant": "judge"})
        assert response.status_code == 200, response.text
    scripted.plan(grade, "text=73")
    raw = ask(ten, "graded")
    assert raw.headers["x-junction-quality-score"] == "73"
    assert scripted.calls(grade) == ["text=73"]


def test_silent_upstream_hits_the_total_time_bound(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    env = {"JUNCTION_ROUTING_TOTAL_TIMEOUT": "1.0"}
    proc = RouterProcess(tmp_path_factory.mktemp("bounded"), env).start()
    try:
        port = listener.getsockname()[1]
        prov = add_provider(proc, f"http://127.0.0.1:{port}/v1", "m", read_timeout=30)
        ten = make_tenant(proc)
        ten.assistant("bot", model=f"{prov}/m")
        started = time.monotonic()
        with pytest.raises(openai.InternalServerError) as timed_out:
            ask(ten)
        assert timed_out.value.status_code == 504
        # The 1 s total limit, not the 30 s read timeout (generous for a loaded machine).
        assert 0.9 < time.monotonic() - started < 15
    finally:
        proc.stop()
        listener.close()
