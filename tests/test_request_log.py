"""The request log, usage and budgets, driven through the official ``openai`` client."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import httpx
import openai
import pytest

from tests.accounting_support import (
    CONTENT_CAP,
    INPUT_PRICE,
    OUTPUT_PRICE,
    USER,
    acct,
    logs,
    team,
    wait_for_logs,
)
from tests.conftest import RouterProcess, Tenant, make_tenant

__all__ = ["acct", "team"]


def test_every_outcome_is_one_entry_with_its_fields(acct: RouterProcess, team: Tenant) -> None:
    team.assistant("bot")
    team.assistant("failing", model="local/fail")
    client = team.client()
    raw = client.chat.completions.with_raw_response.create(model="bot", messages=USER)
    ok_id, answer = raw.headers["x-request-id"], raw.parse()
    with client.chat.completions.create(model="bot", messages=USER, stream=True) as streamed:
        stream_id = streamed.response.headers["x-request-id"]
        assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="nobody", messages=USER)
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model="failing", messages=USER)
    with (
        acct.client("jk-not-a-key") as stranger,
        pytest.raises(openai.AuthenticationError) as denied,
    ):
        stranger.chat.completions.create(model="bot", messages=USER)
    client.close()

    entries = {e["request_id"]: e for e in wait_for_logs(acct, team.name, 4)}
    assert len(entries) == 4, entries
    ok = entries[ok_id]
    assert ok["status"] == 200 and ok["error"] is None and ok["endpoint"] == "chat.completions"
    assert (ok["key_id"], ok["assistant"]) == (team.key_id, "bot")
    assert (ok["model"], ok["provider"]) == ("local/echo", "local")
    assert answer.usage is not None
    assert ok["prompt_tokens"] == answer.usage.prompt_tokens > 0
    assert ok["completion_tokens"] == answer.usage.completion_tokens > 0
    expected = (ok["prompt_tokens"] * INPUT_PRICE + ok["completion_tokens"] * OUTPUT_PRICE) / 1e6
    assert ok["cost"] == pytest.approx(expected)
    assert ok["latency_ms"] > 0 and ok["attempts"] == 1 and ok["ttft_ms"] is None
    assert ok["quality_score"] is None and ok["request_content"] is None
    datetime.fromisoformat(ok["created_at"])

    stream = entries[stream_id]
    assert stream["stream"] is True and stream["status"] == 200 and not stream["cut_off"]
    assert stream["completion_tokens"] > 0 and 0 < stream["ttft_ms"] <= stream["latency_ms"]

    not_found = entries[missing.value.response.headers["x-request-id"]]
    assert not_found["status"] == 404 and not_found["error_code"] == "model_not_found"
    assert not_found["assistant"] is None and not_found["key_id"] == team.key_id
    assert "nobody" in not_found["error"]

    upstream = entries[failed.value.response.headers["x-request-id"]]
    assert upstream["status"] == 502 and upstream["error_code"] == "upstream_error"
    assert upstream["assistant"] == "failing" and upstream["cost"] == 0

    denied_id = denied.value.response.headers["x-request-id"]
    unauthenticated = wait_for_logs(acct, None, 1, status="401")
    entry = next(e for e in unauthenticated if e["request_id"] == denied_id)
    assert entry["workspace_id"] is None and entry["key_id"] is None
    assert entry["error_code"] == "invalid_api_key"


def test_time_to_first_token_waits_for_generated_output(acct: RouterProcess, team: Tenant) -> None:
    """The paced upstream sends its role-only chunk at once and the first words 0.3 s later:
    TTFT is the words, not the role."""
    team.assistant("slow", model="local/paced")
    with (
        team.client() as client,
        client.chat.completions.create(model="slow", messages=USER, stream=True) as streamed,
    ):
        request_id = streamed.response.headers["x-request-id"]
        assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    [entry] = [e for e in wait_for_logs(acct, team.name, 1) if e["request_id"] == request_id]
    assert 280 <= entry["ttft_ms"] < entry["latency_ms"]


def test_filters_newest_first_and_cursor_paging(acct: RouterProcess, team: Tenant) -> None:
    team.assistant("one")
    team.assistant("two")
    client = team.client()
    stranger = make_tenant(acct)  # another workspace: must not show up here
    stranger.assistant("one")
    with stranger.client() as other_client:
        other_client.chat.completions.create(model="one", messages=USER)
    with acct.admin() as admin:
        other = admin.post(f"/workspaces/{team.name}/keys", json={"name": "b"}).json()
    ids = []
    with acct.client(other["key"]) as second_key_client:
        for i in range(7):
            name = "one" if i % 2 else "two"
            key_client = second_key_client if i == 6 else client
            raw = key_client.chat.completions.with_raw_response.create(model=name, messages=USER)
            ids.append(raw.headers["x-request-id"])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="three", messages=USER)
    client.close()

    everything = wait_for_logs(acct, team.name, 8)
    assert len(everything) == 8
    assert [e["request_id"] for e in everything[1:]] == ids[::-1], "newest first"
    stamps = [e["created_at"] for e in everything]
    assert stamps == sorted(stamps, reverse=True)

    pages = []
    with acct.admin() as admin:
        cursor = None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            body = admin.get(f"/workspaces/{team.name}/logs", params=params).json()
            pages.append([e["request_id"] for e in body["data"]])
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert [len(p) for p in pages] == [3, 3, 2]
        assert [i for page in pages for i in page] == [e["request_id"] for e in everything]
        bad = admin.get(f"/workspaces/{team.name}/logs", params={"cursor": "!!"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "cursor"
        assert admin.get(f"/workspaces/{team.name}/logs?status=abc").status_code == 422
        assert admin.get("/workspaces/nope/logs").status_code == 404

    assert {e["assistant"] for e in logs(acct, team.name, assistant="one")} == {"one"}
    assert len(logs(acct, team.name, assistant="one")) == 3
    assert [e["request_id"] for e in logs(acct, team.name, key=other["id"])] == [ids[6]]
    assert len(logs(acct, team.name, status="404")) == 1
    assert len(logs(acct, team.name, status="4xx")) == 1
    assert len(logs(acct, team.name, status="error")) == 1
    assert len(logs(acct, team.name, status="200")) == 7
    middle = everything[4]["created_at"]
    newer = logs(acct, team.name, since=middle)
    older = logs(acct, team.name, until=middle)
    assert len(newer) + len(older) == 8 and everything[4] in newer
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert logs(acct, team.name, since=future) == []


def test_content_logging_is_a_workspace_setting_with_a_cap(
    acct: RouterProcess, team: Tenant
) -> None:
    team.assistant("bot")
    client = team.client()
    client.chat.completions.create(model="bot", messages=USER)
    with acct.admin() as admin:
        patched = admin.patch(f"/workspaces/{team.name}", json={"log_content": True})
        assert patched.status_code == 200 and patched.json()["log_content"] is True
    client.chat.completions.create(model="bot", messages=[{"role": "user", "content": "short"}])
    list(
        client.chat.completions.create(
            model="bot", messages=[{"role": "user", "content": "streamed words"}], stream=True
        )
    )
    long_text = "many words " * 100
    client.chat.completions.create(model="bot", messages=[{"role": "user", "content": long_text}])
    client.close()
    newest_first = wait_for_logs(acct, team.name, 4)
    long_entry, streamed, short, plain = newest_first
    assert plain["request_content"] is None and plain["response_content"] is None
    assert '"content":"short"' in short["request_content"]
    assert "echo: short" in short["response_content"]
    assert streamed["response_content"] == "echo: streamed words"
    for field in ("request_content", "response_content"):
        assert "…[truncated" in long_entry[field]
        assert len(long_entry[field].split("…[truncated")[0].encode()) <= CONTENT_CAP


def test_usage_agrees_with_the_log(acct: RouterProcess, team: Tenant) -> None:
    team.assistant("a")
    team.assistant("b")
    team.assistant("failing", model="local/fail")
    with acct.admin() as admin:
        second = admin.post(f"/workspaces/{team.name}/keys", json={"name": "k2"}).json()
    clients = [team.client(), acct.client(second["key"])]
    for i in range(9):
        model = ("a", "b", "failing")[i % 3]
        text = "word " * (i + 1)
        with contextlib.suppress(openai.InternalServerError):
            clients[i % 2].chat.completions.create(
                model=model, messages=[{"role": "user", "content": text}], stream=i == 4
            )
    for c in clients:
        c.close()
    entries = wait_for_logs(acct, team.name, 9)
    assert len(entries) == 9
    with acct.admin() as admin:
        for group_by, field in (
            ("assistant", "assistant"),
            ("key", "key_id"),
            ("model", "model"),
            ("day", "day"),
        ):
            response = admin.get(f"/workspaces/{team.name}/usage", params={"group_by": group_by})
            assert response.status_code == 200, response.text
            report = response.json()
            for row in report["data"]:
                mine = [
                    e
                    for e in entries
                    if (e["created_at"][:10] if field == "day" else e[field]) == row[field]
                ]
                assert row["requests"] == len(mine), (group_by, row)
                assert row["prompt_tokens"] == sum(e["prompt_tokens"] for e in mine)
                assert row["completion_tokens"] == sum(e["completion_tokens"] for e in mine)
                assert row["cost"] == pytest.approx(sum(e["cost"] for e in mine))
            assert report["total"]["requests"] == 9
            assert report["total"]["cost"] == pytest.approx(sum(e["cost"] for e in entries))
        by_assistant = {
            r["assistant"]: r
            for r in admin.get(f"/workspaces/{team.name}/usage?group_by=assistant").json()["data"]
        }
        assert by_assistant["failing"]["requests"] == 3 and by_assistant["failing"]["cost"] == 0
        assert by_assistant["a"]["cost"] > 0
        later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        empty = admin.get(f"/workspaces/{team.name}/usage", params={"since": later}).json()
        assert empty["data"] == [] and empty["total"]["requests"] == 0
        bad = admin.get(f"/workspaces/{team.name}/usage", params={"group_by": "colour"})
        assert bad.status_code == 422 and bad.json()["error"]["param"] == "group_by"


def test_monthly_token_budget_refuses_until_raised(acct: RouterProcess, provider: None) -> None:
    tenant = make_tenant(acct, monthly_token_budget=10)
    tenant.assistant("bot")
    client = tenant.client()
    # "hello world" is 2 prompt tokens and "echo: hello world" 3 completion tokens upstream.
    client.chat.completions.create(model="bot", messages=USER)
    client.chat.completions.create(model="bot", messages=USER)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="bot", messages=USER)
    assert refused.value.status_code == 429
    assert refused.value.code == "insufficient_quota"
    assert "monthly token budget" in refused.value.message and "10 of 10" in refused.value.message
    embed = httpx.post(
        acct.url + "/v1/embeddings",
        json={"model": "bot", "input": "x"},
        headers={"Authorization": f"Bearer {tenant.key}"},
    )
    assert embed.status_code == 429 and embed.json()["error"]["type"] == "insufficient_quota"
    refusals = wait_for_logs(acct, tenant.name, 2, status="429")
    assert len(refusals) == 2 and all(e["error_code"] == "insufficient_quota" for e in refusals)
    with acct.admin() as admin:
        assert (
            admin.patch(f"/workspaces/{tenant.name}", json={"monthly_token_budget": 15})
        ).status_code == 200
    client.chat.completions.create(model="bot", messages=USER)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="bot", messages=USER)
    client.close()
    assert len(wait_for_logs(acct, tenant.name, 6)) == 6
    with acct.admin() as admin:
        usage = admin.get(f"/workspaces/{tenant.name}/usage").json()["total"]
    assert usage["prompt_tokens"] + usage["completion_tokens"] == 15


@pytest.fixture
def provider() -> None:
    """The ``acct`` router has its own ``local`` provider; the session one is not needed."""
