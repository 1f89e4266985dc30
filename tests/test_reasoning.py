"""Reasoning fields of OpenAI-compatible reasoning models (DeepSeek's ``reasoning_content``,
vLLM's reasoning parsers) reach the client untouched, streamed and not."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.conftest import RouterProcess, make_tenant
from tests.upstream_scripted import ScriptedUpstream, start_scripted


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedUpstream]:
    state, server = start_scripted()
    yield state
    server.stop()


def test_reasoning_fields_pass_through(router: RouterProcess, scripted: ScriptedUpstream) -> None:
    name, model = "r-" + secrets.token_hex(3), "thinker-" + secrets.token_hex(3)
    with router.admin() as admin:
        body = {"name": name, "base_url": scripted.url, "models": [{"name": model}]}
        assert admin.post("/providers", json=body).status_code == 201
    tenant = make_tenant(router)
    tenant.assistant("r1", model=f"{name}/{model}")
    url = router.url + "/v1/chat/completions"
    auth = {"Authorization": f"Bearer {tenant.key}"}
    request = {"model": "r1", "messages": [{"role": "user", "content": "hi"}]}
    scripted.plan(model, "reason", "reason")
    message = httpx.post(url, json=request, headers=auth).json()["choices"][0]["message"]
    assert message["reasoning_content"] == "hmm" and message["reasoning"] == "hmm"
    assert message["content"] == f"ok from {model}"
    with httpx.stream("POST", url, json={**request, "stream": True}, headers=auth) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    deltas = [orjson.loads(e)["choices"][0]["delta"] for e in events[:-1] if '"choices":[{' in e]
    assert {"reasoning_content": "hmm", "reasoning": "hmm"} in deltas
