"""The quick start's first answer without a model server: ``junction demo`` on a running router
sets up the built-in ``demo`` provider (a scripted echo), a workspace, an assistant and a key."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RouterProcess
from tests.openai_schema import validate
from tests.test_cli import junction


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterProcess]:
    proc = RouterProcess(tmp_path_factory.mktemp("demo"), {}).start()
    yield proc
    proc.stop()


def test_demo_gives_a_first_answer(fresh: RouterProcess) -> None:
    made = junction(fresh, "demo")
    assert "DEMO" in made.stdout and "no language model runs" in made.stdout
    key = next(w for w in made.stdout.split() if w.startswith("jk-"))
    assert made.stdout.count(key) == 2, "printed once, and once in the ready-made request"

    client = fresh.client(key)
    answer = client.chat.completions.create(
        model="helper", messages=[{"role": "user", "content": "Hi there"}]
    )
    assert answer.choices[0].message.content == "[demo: no model ran] You said: Hi there"
    assert answer.model == "helper"
    assert answer.usage is not None and answer.usage.completion_tokens > 0
    validate("CreateChatCompletionResponse", answer.model_dump(exclude_unset=True))

    stream = client.chat.completions.create(
        model="helper",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "[demo: no model ran] You said: one two three"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    for chunk in chunks:
        validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))


def test_demo_again_reuses_what_exists_and_makes_a_new_key(fresh: RouterProcess) -> None:
    first = json.loads(junction(fresh, "demo", "--json").stdout)
    second = json.loads(junction(fresh, "demo", "--json").stdout)
    assert first["key"] != second["key"]
    assert second["model"] == "demo/echo" and second["assistant"] == "helper"
    with fresh.admin() as admin:
        providers = admin.get("/providers").json()["data"]
        assert [(p["name"], p["kind"]) for p in providers] == [("demo", "demo")]
        assert [m["name"] for m in providers[0]["models"]] == ["echo"]
        assistants = admin.get("/workspaces/demo/assistants").json()["data"]
        assert [a["name"] for a in assistants] == ["helper"]
    for key in (first["key"], second["key"]):
        response = httpx.post(
            fresh.url + "/v1/chat/completions",
            json={"model": "helper", "messages": [{"role": "user", "content": "x"}]},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200, response.text


def test_demo_without_the_admin_key_says_what_to_do() -> None:
    refused = junction(None, "demo", env={"JUNCTION_ADMIN_KEY": ""}, check=False)
    assert refused.returncode == 2
    assert "JUNCTION_ADMIN_KEY" in refused.stderr
