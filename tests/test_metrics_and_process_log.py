"""``/metrics`` moves with traffic and parses; process logs are JSON lines without secrets."""

from __future__ import annotations

import io
import logging
import time
from datetime import datetime
from pathlib import Path

import openai
import orjson
import pytest

from junction.core.call import Call
from junction.telemetry.access_log import AccessLog
from junction.telemetry.metrics import LabelGuard
from junction.telemetry.process_log import HumanReadable, JsonLines, configure_logging
from tests.accounting_support import (
    UPSTREAM_SECRET,
    USER,
    acct,
    add_provider,
    metric_sum,
    metrics,
)
from tests.conftest import RouterProcess, make_tenant
from tests.upstream import Upstream

__all__ = ["acct"]


def test_metrics_move_with_traffic(acct: RouterProcess) -> None:
    tenant = make_tenant(acct)
    tenant.assistant("bot")
    tenant.assistant("failing", model="local/fail")
    ws = {"workspace": tenant.name}
    before = metrics(acct)
    assert metric_sum(before, "junction_requests_total", **ws) == 0
    with tenant.client() as client:
        for _ in range(3):
            client.chat.completions.create(model="bot", messages=USER)
        with client.chat.completions.create(model="bot", messages=USER, stream=True) as stream:
            list(stream)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="failing", messages=USER)
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="nobody", messages=USER)
    after = metrics(acct)
    bot = {"assistant": "bot", "provider": "local", **ws}
    assert metric_sum(after, "junction_requests_total", code="200", **bot) == 4
    assert metric_sum(after, "junction_requests_total", code="502", **ws) == 1
    assert metric_sum(after, "junction_requests_total", code="404", assistant="none", **ws) == 1
    assert metric_sum(after, "junction_errors_total", error="upstream_error", **ws) == 1
    assert metric_sum(after, "junction_errors_total", error="model_not_found", **ws) == 1
    assert metric_sum(after, "junction_request_duration_seconds_count", **bot) == 4
    assert metric_sum(after, "junction_request_duration_seconds_sum", **bot) > 0
    assert metric_sum(after, "junction_time_to_first_token_seconds_count", **bot) == 1
    assert metric_sum(after, "junction_tokens_total", direction="prompt", **bot) == 8
    assert metric_sum(after, "junction_tokens_total", direction="completion", **bot) == 12
    assert metric_sum(after, "junction_upstream_attempts_total", **bot) == 4
    assert ("junction_request_log_queue_depth", frozenset()) in after
    assert metric_sum(after, "junction_request_log_written_total") > metric_sum(
        before, "junction_request_log_written_total"
    )


def test_upstream_health_is_published(tmp_path: Path, upstream: Upstream) -> None:
    router = RouterProcess(tmp_path, {"JUNCTION_ROUTING_RETRIES": "0"}).start(timeout=60)
    try:
        add_provider(router, upstream)
        tenant = make_tenant(router)
        tenant.assistant("bot")
        tenant.assistant("failing", model="local/fail")
        with tenant.client() as client:
            client.chat.completions.create(model="bot", messages=USER)
            with pytest.raises(openai.InternalServerError):
                client.chat.completions.create(model="failing", messages=USER)
        samples = metrics(router)
        fail = {"provider": "local", "deployment": "local/fail"}
        echo = {"provider": "local", "deployment": "local/echo"}
        assert metric_sum(samples, "junction_upstream_consecutive_failures", **fail) == 1
        assert metric_sum(samples, "junction_upstream_cooldown", **fail) == 0
        assert metric_sum(samples, "junction_upstream_in_flight", **echo) == 0
        with tenant.client() as client:
            for _ in range(2):  # the third failure in a row: cooldown
                with pytest.raises(openai.InternalServerError):
                    client.chat.completions.create(model="failing", messages=USER)
        samples = metrics(router)
        assert metric_sum(samples, "junction_upstream_cooldown", **fail) == 1
        assert metric_sum(samples, "junction_upstream_cooldown_remaining_seconds", **fail) > 0
        assert metric_sum(samples, "junction_upstream_consecutive_failures", **fail) == 3
        assert metric_sum(samples, "junction_upstream_cooldown", **echo) == 0
    finally:
        router.stop()


def test_label_values_are_bounded() -> None:
    guard = LabelGuard(limit=2)
    assert [guard("assistant", n) for n in ("a", "b", "c", "a", None)] == [
        "a",
        "b",
        "other",
        "a",
        "none",
    ]
    assert guard("workspace", "c") == "c", "each label has its own budget"


def test_process_log_is_json_lines_without_secrets(acct: RouterProcess) -> None:
    tenant = make_tenant(acct)
    tenant.assistant("bot")
    secret_text = "the-secret-prompt-words"
    with tenant.client() as client:
        raw = client.chat.completions.with_raw_response.create(
            model="bot", messages=[{"role": "user", "content": secret_text}]
        )
    request_id = raw.headers["x-request-id"]
    deadline = time.monotonic() + 20  # access lines are written out every 0.2 s
    while request_id not in acct.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = acct.log()
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = [orjson.loads(line) for line in lines]  # every line is one JSON object
    access = [p for p in parsed if p.get("request_id") == request_id]
    assert len(access) == 1
    line = access[0]
    assert line["logger"] == "junction.access" and line["status"] == 200
    assert line["workspace"] == tenant.name and line["assistant"] == "bot"
    assert line["model"] == "local/echo" and line["latency_ms"] > 0
    for secret in (tenant.key, acct.admin_key, UPSTREAM_SECRET, secret_text, "echo: the-secret"):
        assert secret not in text


def test_formats_json_for_machines_and_text_for_terminals() -> None:
    record = logging.makeLogRecord(
        {"name": "junction.access", "levelname": "INFO", "msg": "access", "levelno": 20}
    )
    record.fields = {"request_id": "req_1", "status": 200, "ttft_ms": None}
    as_json = orjson.loads(JsonLines().format(record))
    assert as_json["request_id"] == "req_1" and as_json["msg"] == "access"
    human = HumanReadable().format(record)
    assert "request_id=req_1 status=200" in human and "ttft_ms" not in human and "{" not in human

    call = Call("req_2", "chat.completions")
    call.finished_at = call.started + 0.0125
    for as_json in (True, False):
        out = io.StringIO()
        access = AccessLog(out, as_json)
        access.observe(call)
        assert out.getvalue() == "", "buffered until the next flush"
        access.stop()
        line = out.getvalue()
        assert line.endswith("\n") and line.count("\n") == 1
        if as_json:
            parsed = orjson.loads(line)
            assert parsed["request_id"] == "req_2" and parsed["latency_ms"] == 12.5
            datetime.fromisoformat(parsed["time"])
        else:
            assert "access  request_id=req_2 endpoint=chat.completions status=200" in line

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        screen, pipe = Terminal(), io.StringIO()
        configure_logging("auto", "info", screen)
        logging.getLogger("junction.test").info("hello %s", "there")
        configure_logging("auto", "info", pipe)
        logging.getLogger("junction.test").info("hello %s", "there")
        assert screen.getvalue().rstrip().endswith("junction.test  hello there")
        assert orjson.loads(pipe.getvalue())["msg"] == "hello there"
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
