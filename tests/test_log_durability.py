"""Nothing logged is lost: SIGTERM flushes the queue, hundreds of parallel requests are each
logged and counted once, a full queue sheds visibly without blocking, budgets survive restarts."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import openai
import pytest

from tests.accounting_support import (
    USER,
    acct,
    add_provider,
    logs,
    metric_sum,
    metrics,
    start_router,
    wait_for_logs,
)
from tests.conftest import RouterProcess, make_tenant
from tests.upstream import Upstream

__all__ = ["acct"]

HOLD_THE_QUEUE = {"JUNCTION_LOG_FLUSH_INTERVAL": "3600", "JUNCTION_LOG_BATCH_SIZE": "100000"}


def test_sigterm_stores_every_queued_entry(tmp_path: Path, upstream: Upstream) -> None:
    first = start_router(tmp_path, upstream, **HOLD_THE_QUEUE)
    restarted: RouterProcess | None = None
    try:
        tenant = make_tenant(first, monthly_token_budget=1000)
        tenant.assistant("bot")
        tenant.assistant("slow", model="local/paced")
        sent: list[str] = []
        with tenant.client() as client, first.client("jk-wrong") as stranger:
            for i in range(20):
                raw = client.chat.completions.with_raw_response.create(
                    model="bot", messages=USER, stream=i % 4 == 0
                )
                sent.append(raw.headers["x-request-id"])
                if i % 4 == 0:
                    list(raw.parse())
            with pytest.raises(openai.NotFoundError) as missing:
                client.chat.completions.create(model="nobody", messages=USER)
            sent.append(missing.value.response.headers["x-request-id"])
            with pytest.raises(openai.AuthenticationError) as denied:
                stranger.chat.completions.create(model="bot", messages=USER)
            sent.append(denied.value.response.headers["x-request-id"])

            samples = metrics(first)
            assert metric_sum(samples, "junction_request_log_queue_depth") == len(sent)
            assert metric_sum(samples, "junction_request_log_written_total") == 0

            # A stream still running when SIGTERM arrives: graceful shutdown lets it finish.
            streamed: list[str] = []

            def slow_stream() -> None:
                with client.chat.completions.create(
                    model="slow", messages=USER, stream=True
                ) as stream:
                    streamed.append(stream.response.headers["x-request-id"])
                    for _ in stream:
                        pass

            runner = threading.Thread(target=slow_stream)
            runner.start()
            deadline = time.monotonic() + 20
            while not streamed and time.monotonic() < deadline:
                time.sleep(0.01)
            assert first.stop() in (0, -15)
            runner.join(10)
        sent += streamed
        assert "could not be stored" not in first.log()

        restarted = RouterProcess(tmp_path, {}, admin_key=first.admin_key)
        restarted.start()
        stored = logs(restarted, limit=1000)
        assert len(stored) == len(sent) == 23
        assert sorted(e["request_id"] for e in stored) == sorted(sent)
        slow = next(e for e in stored if e["request_id"] == streamed[0])
        assert slow["status"] == 200 and slow["completion_tokens"] > 0 and not slow["cut_off"]
    finally:
        first.stop()
        if restarted is not None:
            restarted.stop()


def test_budget_spend_is_seeded_from_the_log_after_restart(
    tmp_path: Path, upstream: Upstream
) -> None:
    first = start_router(tmp_path, upstream)
    second: RouterProcess | None = None
    try:
        tenant = make_tenant(first, monthly_token_budget=15)  # three answers of 5 tokens
        tenant.assistant("bot")
        with tenant.client() as client:
            for _ in range(3):
                client.chat.completions.create(model="bot", messages=USER)
        first.stop()
        second = RouterProcess(tmp_path, {}, admin_key=first.admin_key).start()
        with second.client(tenant.key) as client, pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model="bot", messages=USER)
        assert refused.value.code == "insufficient_quota"
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_hundreds_of_parallel_requests_are_each_logged_and_counted_once(
    acct: RouterProcess,
) -> None:
    tenant = make_tenant(acct)
    tenant.assistant("bot")
    total = 300

    async def fire() -> list[str]:
        async with openai.AsyncOpenAI(
            base_url=acct.url + "/v1", api_key=tenant.key, max_retries=0, timeout=60
        ) as client:

            async def one(i: int) -> str:
                raw = await client.chat.completions.with_raw_response.create(
                    model="bot", messages=[{"role": "user", "content": f"n {i}"}]
                )
                return str(raw.headers["x-request-id"])

            return await asyncio.gather(*(one(i) for i in range(total)))

    before = metrics(acct)
    ids = asyncio.run(fire())
    assert len(set(ids)) == total
    entries = wait_for_logs(acct, tenant.name, total, timeout=30)
    assert sorted(e["request_id"] for e in entries) == sorted(ids)
    with acct.admin() as admin:
        usage = admin.get(f"/workspaces/{tenant.name}/usage").json()["total"]
    assert usage["requests"] == total
    assert usage["prompt_tokens"] == sum(e["prompt_tokens"] for e in entries) == 2 * total
    after = metrics(acct)
    ws = {"workspace": tenant.name}
    assert metric_sum(after, "junction_requests_total", **ws) == total
    assert metric_sum(before, "junction_requests_total", **ws) == 0
    assert metric_sum(after, "junction_request_duration_seconds_count", **ws) == total
    assert (
        metric_sum(after, "junction_tokens_total", direction="prompt", **ws)
        == usage["prompt_tokens"]
    )
    assert metric_sum(after, "junction_request_log_dropped_total") == 0


def test_a_full_queue_sheds_visibly_and_never_blocks(tmp_path: Path, upstream: Upstream) -> None:
    proc = RouterProcess(tmp_path, {**HOLD_THE_QUEUE, "JUNCTION_LOG_QUEUE_SIZE": "5"}).start()
    try:
        add_provider(proc, upstream)
        tenant = make_tenant(proc)
        tenant.assistant("bot")
        with tenant.client() as client:
            for _ in range(8):
                answer = client.chat.completions.create(model="bot", messages=USER)
                assert answer.choices[0].message.content == "echo: hello world"
        samples = metrics(proc)
        assert metric_sum(samples, "junction_request_log_queue_depth") == 5
        assert metric_sum(samples, "junction_request_log_dropped_total") == 3
        assert "request log queue is full" in proc.log()
    finally:
        proc.stop()
