"""``POST /v1/completions`` passed through to an OpenAI-compatible upstream, and refused for
kinds without it (``anthropic``; ``ollama``'s is in test_ollama.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import RouterProcess, make_tenant
from tests.upstream_scripted import ScriptedUpstream, start_scripted


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedUpstream]:
    state, server = start_scripted()
    yield state
    server.stop()


def test_completions_pass_through(router: RouterProcess, scripted: ScriptedUpstream) -> None:
    name = "cmp-" + secrets.token_hex(3)
    with router.admin() as admin:
        body = {"name": name, "base_url": scripted.url, "models": [{"name": "base"}]}
        assert admin.post("/providers", json=body).status_code == 201
        body = {
            "name": name + "-o",
            "kind": "anthropic",
            "base_url": scripted.url,
            "models": [{"name": "x"}],
        }
        assert admin.post("/providers", json=body).status_code == 201
    tenant = make_tenant(router, max_tokens=64)
    tenant.assistant("writer", model=f"{name}/base", temperature=0.4)
    tenant.assistant("native", model=f"{name}-o/x")
    with tenant.client() as client:
        raw = client.completions.with_raw_response.create(
            model="writer", prompt="Once upon", max_tokens=500, extra_body={"suffix": "end"}
        )
        answer = raw.parse()
        sent = scripted.completion_requests[-1]
        assert sent == {
            "model": "base",
            "prompt": "Once upon",
            "max_tokens": 64,
            "suffix": "end",
            "temperature": 0.4,
        }
        assert answer.model == "writer"
        assert answer.choices[0].text == "ok: Once upon"
        assert raw.headers["x-junction-model"] == f"{name}/base"
        assert answer.usage is not None and answer.usage.total_tokens == 4

        scripted.plan("base", "503")
        chunks = list(
            client.completions.create(
                model="writer", prompt="Hi", stream=True, stream_options={"include_usage": True}
            )
        )
        assert "".join(c.choices[0].text for c in chunks if c.choices) == "ok: Hi"
        assert all(c.model == "writer" for c in chunks)
        assert [c.usage.total_tokens for c in chunks if c.usage] == [4]
        assert scripted.calls("base")[-2:] == ["503", "ok"], "retried before the first byte"

        with pytest.raises(openai.BadRequestError) as refused:
            client.completions.create(model="native", prompt="Hi")
        assert "does not serve /v1/completions" in refused.value.message
        with pytest.raises(openai.BadRequestError):
            client.completions.create(model="writer", prompt="Hi", max_tokens=0)
