"""Knowledge's embedding calls are logged and metered like ``/v1/embeddings`` calls: the
request log shows each ingestion batch and each question's embedding with its tokens, under
the assistant's workspace (the question's with the caller's key), and the tokens count toward
the workspace's monthly budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openai
import pytest

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.knowledge_support import add_file, upload

PENGUINS = "# Penguins\n\nEmperor penguins breed on Antarctic sea ice and eat krill and squid."
QUESTION = "What do emperor penguins eat?"

Entry = dict[str, Any]


def _logged(
    router: RouterProcess, ws: str, wanted: Callable[[list[Entry]], bool], timeout: float = 10.0
) -> list[Entry]:
    """The workspace's log entries once ``wanted`` holds of them (the log is written behind)."""
    deadline = time.monotonic() + timeout
    with router.admin() as admin:
        while True:
            entries: list[Entry] = admin.get(f"/workspaces/{ws}/logs?limit=200").json()["data"]
            if wanted(entries) or time.monotonic() > deadline:
                return entries
            time.sleep(0.2)


def _knowledge(entries: list[Entry], kind: str) -> list[Entry]:
    return [
        e
        for e in entries
        if e["endpoint"] == "knowledge" and e["details"]["knowledge"]["embedding"] == kind
    ]


def test_ingestion_and_question_embeddings_are_logged_with_their_tokens(
    router: RouterProcess, tenant: Tenant
) -> None:
    tenant.assistant("logged", embedding_model="local/bow", context_score=20)
    done = add_file(router, tenant.name, "logged", "penguins.md", PENGUINS.encode())
    assert done["status"] == "ready"
    entries = _logged(router, tenant.name, lambda es: bool(_knowledge(es, "ingestion")))
    (batch,) = _knowledge(entries, "ingestion")
    assert batch["status"] == 200 and batch["model"] == "local/bow"
    assert batch["assistant"] == "logged" and batch["key_id"] is None  # an operator's upload
    assert batch["prompt_tokens"] == done["chunks"]  # the test embedder's usage: one per text
    assert batch["completion_tokens"] == 0
    note = batch["details"]["knowledge"]
    assert note["file"] == "penguins.md" and note["file_id"] == done["id"]
    assert (note["batch"], note["batches"]) == (1, 1)

    raw = tenant.client().chat.completions.with_raw_response.create(
        model="logged", messages=[{"role": "user", "content": QUESTION}]
    )
    assert raw.http_response.headers["x-junction-context"] == "1"
    request_id = raw.http_response.headers["x-request-id"]
    entries = _logged(router, tenant.name, lambda es: bool(_knowledge(es, "question")))
    (question,) = _knowledge(entries, "question")
    assert question["details"]["knowledge"]["for"] == request_id
    assert question["key_id"] == tenant.key_id and question["status"] == 200
    assert question["prompt_tokens"] == 1 and question["model"] == "local/bow"
    assert question["request_id"] != request_id

    # Usage adds them up with the rest of the workspace's calls.
    with router.admin() as admin:
        usage = admin.get(f"/workspaces/{tenant.name}/usage?group_by=key").json()
    by_key = {g["key_id"]: g for g in usage["data"]}
    assert by_key[None]["requests"] == 1 and by_key[None]["prompt_tokens"] == done["chunks"]
    assert by_key[tenant.key_id]["requests"] == 2  # the question and its embedding


def test_ingestion_tokens_count_toward_the_monthly_budget(router: RouterProcess) -> None:
    tenant = make_tenant(router, monthly_token_budget=1)
    tenant.assistant("thrifty", embedding_model="local/bow", context_score=20)
    assert add_file(router, tenant.name, "thrifty", "p.md", PENGUINS.encode())["status"] == "ready"
    with pytest.raises(openai.RateLimitError) as refused:
        tenant.client().chat.completions.create(
            model="thrifty", messages=[{"role": "user", "content": QUESTION}]
        )
    assert refused.value.code == "insufficient_quota"
    # With the budget spent, a further file is not embedded: its batch is refused and logged.
    response = upload(router, tenant.name, "thrifty", "q.md", PENGUINS.encode())
    assert response.status_code == 201, response.text
    entries = _logged(
        router, tenant.name, lambda es: any(e["status"] == 429 for e in _knowledge(es, "ingestion"))
    )
    refused_batch = next(e for e in _knowledge(entries, "ingestion") if e["status"] == 429)
    assert refused_batch["error_code"] == "insufficient_quota"
    assert refused_batch["details"]["knowledge"]["file"] == "q.md"
    with router.admin() as admin:
        url = f"/workspaces/{tenant.name}/assistants/thrifty/files/{response.json()['id']}"
        shown = admin.get(url).json()
    assert shown["status"] == "processing" and "monthly token budget" in shown["error"]
