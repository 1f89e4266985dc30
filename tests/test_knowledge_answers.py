"""Knowledge in answers, through the ``openai`` client: the upstream sees the relevant file's
text in the system prompt, and only that; the test upstream's ``bow`` model embeds texts as
hashed bags of words, so relevance follows the words a question shares with a chunk."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.knowledge_support import add_file
from tests.upstream import Upstream

PENGUINS = (
    "# Penguins\n\nEmperor penguins breed on Antarctic sea ice and eat krill, squid and "
    "fish. Colonies huddle through the polar winter."
)
VOLCANOES = (
    "# Volcanoes\n\nMagma rises through vents; eruptions throw basalt, pumice and lava "
    "bombs. Geologists monitor tremors near calderas."
)
PENGUIN_QUESTION = "What do emperor penguins eat on the Antarctic sea ice?"


def _system_prompt(upstream: Upstream) -> str:
    first = upstream.last()["messages"][0]
    return str(first["content"]) if first["role"] == "system" else ""


def _ask(tenant: Tenant, assistant: str, question: str, **kwargs: Any) -> httpx.Response:
    raw = tenant.client().chat.completions.with_raw_response.create(
        model=assistant, messages=[{"role": "user", "content": question}], **kwargs
    )
    return raw.http_response


def test_a_question_brings_its_file_and_not_the_others(
    router: RouterProcess, tenant: Tenant, upstream: Upstream
) -> None:
    tenant.assistant(
        "zoo", embedding_model="local/bow", context_score=20, system_prompt="Be brief."
    )
    assert add_file(router, tenant.name, "zoo", "penguins.md", PENGUINS.encode())["status"] == (
        "ready"
    )
    assert add_file(router, tenant.name, "zoo", "volcanoes.md", VOLCANOES.encode())["status"] == (
        "ready"
    )
    response = _ask(tenant, "zoo", PENGUIN_QUESTION)
    assert response.headers["x-junction-context"] == "1"
    system = _system_prompt(upstream)
    assert system.startswith("Be brief.")  # the assistant's prompt first, the context after
    assert "krill" in system and '"penguins.md"' in system
    assert "basalt" not in system and "volcanoes.md" not in system

    response = _ask(tenant, "zoo", "Which eruptions throw basalt and pumice from vents?")
    assert response.headers["x-junction-context"] == "1"
    system = _system_prompt(upstream)
    assert "basalt" in system and "krill" not in system

    # Streaming gets the same context.
    stream = tenant.client().chat.completions.create(
        model="zoo", messages=[{"role": "user", "content": PENGUIN_QUESTION}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "krill" in _system_prompt(upstream)


def test_context_score_100_admits_only_a_perfect_match(
    router: RouterProcess, tenant: Tenant, upstream: Upstream
) -> None:
    tenant.assistant("exact", embedding_model="local/bow", context_score=100)
    text = "Quarterly revenue grew eleven percent in northern regions"
    add_file(router, tenant.name, "exact", "report.txt", text.encode())
    response = _ask(tenant, "exact", "Quarterly revenue grew eleven percent in northern regions")
    assert response.headers["x-junction-context"] == "1"
    assert "eleven percent" in _system_prompt(upstream)
    response = _ask(tenant, "exact", "Quarterly revenue grew eleven percent in southern regions")
    assert response.headers["x-junction-context"] == "0"
    assert _system_prompt(upstream) == ""


def test_a_deleted_file_is_no_longer_used(
    router: RouterProcess, tenant: Tenant, upstream: Upstream
) -> None:
    tenant.assistant("forget", embedding_model="local/bow", context_score=20)
    done = add_file(router, tenant.name, "forget", "penguins.md", PENGUINS.encode())
    assert _ask(tenant, "forget", PENGUIN_QUESTION).headers["x-junction-context"] == "1"
    with router.admin() as admin:
        url = f"/workspaces/{tenant.name}/assistants/forget/files/{done['id']}"
        assert admin.delete(url).status_code == 204
        assert admin.get(url).status_code == 404
    assert _ask(tenant, "forget", PENGUIN_QUESTION).headers["x-junction-context"] == "0"
    assert "krill" not in str(upstream.last()["messages"])


def test_an_assistant_without_knowledge_answers_as_before(
    router: RouterProcess, tenant: Tenant, upstream: Upstream
) -> None:
    tenant.assistant("plain", system_prompt="Plain.")
    response = _ask(tenant, "plain", PENGUIN_QUESTION)
    assert "x-junction-context" not in response.headers
    assert _system_prompt(upstream) == "Plain."


def test_two_replicas_on_postgresql_share_the_knowledge(
    tmp_path: Path, pg_url: str, upstream: Upstream
) -> None:
    env = {
        "JUNCTION_DATABASE_URL": pg_url,
        "JUNCTION_REDIS_URL": "redis://127.0.0.1:6379/0",
        "JUNCTION_SECRET_KEY": "shared-knowledge-secret",
    }
    a = RouterProcess(tmp_path / "a", env)
    b = RouterProcess(tmp_path / "b", env, admin_key=a.admin_key)
    for proc in (a, b):
        proc.data_dir.mkdir()
        proc.start(timeout=40)
    try:
        # Its own provider name: the PostgreSQL database is shared by the tests of this worker.
        provider = "kn-" + secrets.token_hex(3)
        with a.admin() as admin:
            response = admin.post(
                "/providers", json={"name": provider, "kind": "openai", "base_url": upstream.url}
            )
            assert response.status_code == 201, response.text
        tenant = make_tenant(a)
        tenant.assistant(
            "shared",
            model=f"{provider}/echo",
            embedding_model=f"{provider}/bow",
            context_score=20,
        )
        assert add_file(a, tenant.name, "shared", "penguins.md", PENGUINS.encode())["status"] == (
            "ready"
        )
        on_b = Tenant(b, tenant.name, tenant.key, tenant.key_id)
        deadline = time.monotonic() + 10
        while _ask(on_b, "shared", PENGUIN_QUESTION).headers["x-junction-context"] != "1":
            assert time.monotonic() < deadline, "replica b never saw the knowledge"
            time.sleep(0.1)
        assert "krill" in _system_prompt(upstream)
        # A file deleted through b is gone from a's answers too.
        with b.admin() as admin:
            files = admin.get(f"/workspaces/{tenant.name}/assistants/shared/files").json()
            file_id = files["data"][0]["id"]
            url = f"/workspaces/{tenant.name}/assistants/shared/files/{file_id}"
            assert admin.delete(url).status_code == 204
        deadline = time.monotonic() + 10
        while _ask(tenant, "shared", PENGUIN_QUESTION).headers["x-junction-context"] != "0":
            assert time.monotonic() < deadline, "replica a kept a deleted file"
            time.sleep(0.1)
    finally:
        a.stop()
        b.stop()


def test_responses_get_the_context_and_the_log_names_files_and_scores(
    router: RouterProcess, tenant: Tenant, upstream: Upstream
) -> None:
    tenant.assistant("desk", embedding_model="local/bow", context_score=20)
    add_file(router, tenant.name, "desk", "penguins.md", PENGUINS.encode())
    raw = tenant.client().responses.with_raw_response.create(model="desk", input=PENGUIN_QUESTION)
    assert raw.http_response.headers["x-junction-context"] == "1"
    assert "krill" in _system_prompt(upstream)
    request_id = raw.http_response.headers["x-request-id"]
    deadline = time.monotonic() + 10
    with router.admin() as admin:
        while True:
            entries = admin.get(f"/workspaces/{tenant.name}/logs").json()["data"]
            entry = next((e for e in entries if e["request_id"] == request_id), None)
            if entry is not None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert entry is not None, "the request was never logged"
    (used,) = entry["details"]["knowledge"]["chunks"]
    assert used["file"] == "penguins.md"
    assert 20 <= used["score"] <= 100
    note = entry["details"]["knowledge"]
    assert note["scanned"] == 1 and note["scan_ms"] >= 0 and note["embed_ms"] > 0


def test_with_history_each_turn_gets_its_own_context_and_none_is_stored(
    router: RouterProcess, tenant: Tenant, upstream: Upstream
) -> None:
    tenant.assistant(
        "talk",
        embedding_model="local/bow",
        context_score=20,
        chat_history="on",
        system_prompt="Be brief.",
    )
    add_file(router, tenant.name, "talk", "penguins.md", PENGUINS.encode())
    add_file(router, tenant.name, "talk", "volcanoes.md", VOLCANOES.encode())
    client = tenant.client()
    headers = {"X-Conversation-Id": "kb-history"}
    client.chat.completions.create(
        model="talk",
        messages=[{"role": "user", "content": PENGUIN_QUESTION}],
        extra_headers=headers,
    )
    client.chat.completions.create(
        model="talk",
        messages=[{"role": "user", "content": "Which eruptions throw basalt and pumice?"}],
        extra_headers=headers,
    )
    sent = upstream.last()["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"].startswith("Be brief.")
    assert "basalt" in sent[0]["content"] and "krill" not in sent[0]["content"]
    assert sent[1]["content"] == PENGUIN_QUESTION  # history holds the turn, not its context
