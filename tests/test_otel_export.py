"""OpenTelemetry export: spans reach a loopback OTLP/HTTP receiver with the GenAI attributes and
the caller's trace; contents only for a workspace that logs them; nothing when export is off."""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from tests.accounting_support import USER, add_provider
from tests.conftest import RouterProcess, make_tenant
from tests.upstream import Upstream


class Receiver:
    """A small OTLP/HTTP trace receiver: decodes each protobuf POST to /v1/traces."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.paths.append(self.path)
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.take(request)
                answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def take(self, request: Any) -> None:
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "start": span.start_time_unix_nano,
                            "end": span.end_time_unix_nano,
                            "status": span.status.code,
                            "attributes": {a.key: _value(a.value) for a in span.attributes},
                            "resource": resource,
                        }
                    )

    def wait_for(self, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.spans) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.spans

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def by_request_id(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["attributes"]["junction.request_id"]: s for s in spans}


def test_each_request_is_a_span_in_the_callers_trace(
    tmp_path: Path, upstream: Upstream, receiver: Receiver
) -> None:
    router = RouterProcess(
        tmp_path,
        {
            "JUNCTION_OTEL_EXPORT": "true",
            "JUNCTION_OTEL_ENDPOINT": receiver.url,
            "JUNCTION_OTEL_HEADERS": "x-collector-token=s3cret, x-team=core",
            "JUNCTION_OTEL_SERVICE_NAME": "junction-test",
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # the SDK's batch delay, shortened for the test
        },
    ).start(timeout=60)
    try:
        add_provider(router, upstream)
        quiet = make_tenant(router)
        quiet.assistant("bot", model="local/echo")
        chatty = make_tenant(router, log_content=True)
        chatty.assistant("bot", model="local/echo")
        trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
        traceparent = {"traceparent": f"00-{trace_id}-{caller_span}-01"}
        with quiet.client() as client:
            raw = client.chat.completions.with_raw_response.create(
                model="bot", messages=USER, extra_headers=traceparent
            )
            plain = raw.headers["x-request-id"], raw.parse()
            with client.chat.completions.with_streaming_response.create(
                model="bot", messages=USER, stream=True, stream_options={"include_usage": True}
            ) as streamed_raw:
                streamed_id = streamed_raw.headers["x-request-id"]
                chunks = list(streamed_raw.parse())
            with pytest.raises(openai.NotFoundError) as missing:
                client.chat.completions.create(model="nobody", messages=USER)
        with chatty.client() as client:
            raw = client.chat.completions.with_raw_response.create(model="bot", messages=USER)
            chatty_id = raw.headers["x-request-id"]
        missing_id = missing.value.response.headers["x-request-id"]

        spans = by_request_id(receiver.wait_for(4))
        assert set(spans) >= {plain[0], streamed_id, missing_id, chatty_id}
        assert set(receiver.paths) == {"/v1/traces"}
        assert receiver.headers[0]["content-type"] == "application/x-protobuf"
        assert receiver.headers[0]["x-collector-token"] == "s3cret"
        assert receiver.headers[0]["x-team"] == "core"

        span = spans[plain[0]]
        attributes = span["attributes"]
        usage = plain[1].usage
        assert usage is not None
        assert span["trace_id"] == trace_id and span["parent_span_id"] == caller_span
        assert span["name"] == "chat bot"
        assert span["resource"]["service.name"] == "junction-test"
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.system"] == "openai"
        assert attributes["gen_ai.request.model"] == "bot"
        assert attributes["gen_ai.response.model"] == "echo"
        assert attributes["gen_ai.usage.input_tokens"] == usage.prompt_tokens
        assert attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens
        assert attributes["junction.workspace"] == quiet.name
        assert attributes["junction.assistant"] == "bot"
        assert attributes["junction.key_id"] == quiet.key_id
        assert attributes["http.response.status_code"] == 200
        assert 0 < span["end"] - span["start"] < 10e9
        assert "gen_ai.input.messages" not in attributes  # this workspace does not log content

        # Without a traceparent a span starts a trace of its own.
        streamed = spans[streamed_id]
        assert streamed["trace_id"] != trace_id and streamed["parent_span_id"] == ""
        assert streamed["attributes"]["junction.stream"] is True
        final = [c for c in chunks if c.usage is not None]
        assert final and streamed["attributes"]["gen_ai.usage.output_tokens"] == (
            final[-1].usage.completion_tokens
        )
        failed = spans[missing_id]["attributes"]
        assert failed["http.response.status_code"] == 404
        assert failed["error.type"] == "model_not_found"
        assert spans[missing_id]["status"] == 2  # STATUS_CODE_ERROR

        content = spans[chatty_id]["attributes"]
        assert "hello world" in content["gen_ai.input.messages"]
        assert content["gen_ai.output.messages"]
    finally:
        router.stop()


def test_nothing_is_exported_when_export_is_off(
    tmp_path: Path, upstream: Upstream, receiver: Receiver
) -> None:
    router = RouterProcess(
        tmp_path, {"JUNCTION_OTEL_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    ).start(timeout=60)
    try:
        add_provider(router, upstream)
        tenant = make_tenant(router)
        tenant.assistant("bot", model="local/echo")
        with tenant.client() as client:
            for _ in range(5):
                client.chat.completions.create(
                    model="bot",
                    messages=USER,
                    extra_headers={"traceparent": f"00-{secrets.token_hex(16)}-{'1' * 16}-01"},
                )
        time.sleep(1.5)  # several batch delays and export ticks
    finally:
        router.stop()
    assert receiver.spans == [] and receiver.paths == []


def test_the_sdk_is_not_imported_unless_export_is_on() -> None:
    # (redis-py imports the SDK's metrics package by itself when it is installed.)
    probe = (
        "import sys, junction.app, junction.accounting.service, junction.telemetry.otel\n"
        "print(sorted(m for m in sys.modules if m.startswith(\n"
        "    ('opentelemetry.sdk.trace', 'opentelemetry.exporter', 'opentelemetry.proto'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
