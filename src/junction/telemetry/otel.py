"""OpenTelemetry export (opt-in): every data-plane request as one span, GenAI conventions.

Off unless ``JUNCTION_OTEL_EXPORT`` is true; then the official SDK (imported only then: it
costs startup time and memory) sends spans over OTLP/HTTP (protobuf) to
``JUNCTION_OTEL_ENDPOINT`` through a ``BatchSpanProcessor``, whose own thread does the I/O.

The call observer only appends the finished ``Call`` to a bounded deque (well under a
microsecond; a full deque sheds, counted in ``dropped``). A task turns the queued calls into
spans every ``FLUSH_SECONDS``, in slices, with the call's own start and end times, so the
request path never builds a span. A caller's W3C ``traceparent`` header makes the span a child
of the caller's span (same trace id).

Attributes follow the GenAI semantic conventions: ``gen_ai.operation.name``, ``gen_ai.system``
(and its newer name ``gen_ai.provider.name``), ``gen_ai.request.model`` (the assistant the
client asked for), ``gen_ai.response.model`` (the upstream model that answered),
``gen_ai.usage.input_tokens`` / ``output_tokens``, ``gen_ai.response.finish_reasons`` when the
call noted them; plus ``junction.workspace``, ``junction.assistant``, ``junction.key_id``,
``junction.deployment``, ``http.response.status_code`` and ``error.type``. Message contents
(``gen_ai.input.messages`` / ``gen_ai.output.messages``) are sent only for workspaces that log
content — they are on the call only then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from junction.config.snapshot import Snapshot
from junction.core.call import Call

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
SLICE = 100  # spans built per event-loop turn
OPERATIONS = {
    "chat.completions": "chat",
    "responses.create": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "knowledge": "embeddings",  # an assistant's knowledge embedding (knowledge.calls)
}


def parse_headers(text: str) -> dict[str, str]:
    """``name=value,name=value`` (the OTEL_EXPORTER_OTLP_HEADERS form) as a dict."""
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip():
            out[name.strip()] = value.strip()
    return out


class SpanExport:
    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        endpoint: str,
        headers: dict[str, str],
        service_name: str,
        capacity: int = 20_000,
    ) -> None:
        self._snapshot = snapshot
        self._endpoint = endpoint
        self._headers = headers
        self._service_name = service_name
        self._capacity = capacity
        self._queue: deque[Call] = deque()
        self._task: asyncio.Task[None] | None = None
        self._provider: Any = None
        self._tracer: Any = None
        self._propagator: Any = None
        self._otel: Any = None
        self.dropped = 0
        self.exported = 0

    def observe(self, call: Call) -> None:
        """Call observer: queue the call (its span is built off the request path)."""
        if len(self._queue) < self._capacity:
            self._queue.append(call)
        else:
            self.dropped += 1

    def start(self) -> None:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        provider = TracerProvider(resource=Resource.create({"service.name": self._service_name}))
        exporter = OTLPSpanExporter(endpoint=self._endpoint, headers=self._headers)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        self._provider = provider
        self._tracer = provider.get_tracer("junction")
        self._propagator = TraceContextTextMapPropagator()
        self._otel = trace
        self._task = asyncio.get_running_loop().create_task(self._run(), name="otel-export")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._provider is not None:
            self._emit(len(self._queue))
            # Sends what is still batched (bounded by the exporter's own timeout).
            await asyncio.to_thread(self._provider.shutdown)
            self._provider = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            while self._queue:
                self._emit(SLICE)
                await asyncio.sleep(0)

    def _emit(self, count: int) -> None:
        snapshot = self._snapshot()
        for _ in range(min(count, len(self._queue))):
            call = self._queue.popleft()
            try:
                self._span(call, snapshot)
            except Exception:  # one odd call must not stop the export
                log.exception("OpenTelemetry: no span for call %s", call.request_id)
            else:
                self.exported += 1

    def _span(self, call: Call, snapshot: Snapshot) -> None:
        parent = None
        if call.traceparent:
            parent = self._propagator.extract({"traceparent": call.traceparent})
        operation = OPERATIONS.get(call.endpoint, call.endpoint)
        assistant = call.assistant.name if call.assistant else None
        attributes = span_attributes(call, snapshot, operation, assistant)
        start = int(call.created_at * 1e9)
        latency = call.latency_ms
        end = start + int(latency * 1e6) if latency is not None else start
        span = self._tracer.start_span(
            f"{operation} {assistant}" if assistant else operation,
            context=parent,
            kind=self._otel.SpanKind.SERVER,
            attributes=attributes,
            start_time=start,
        )
        if call.status >= 500 or call.error_code:
            span.set_status(self._otel.Status(self._otel.StatusCode.ERROR, call.error_code))
        span.end(end_time=end)


def span_attributes(
    call: Call, snapshot: Snapshot, operation: str, assistant: str | None
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "http.response.status_code": call.status,
        "junction.request_id": call.request_id,
        "junction.endpoint": call.endpoint,
        "junction.stream": call.stream,
        "junction.attempts": call.attempts,
    }
    if call.workspace is not None:
        attributes["junction.workspace"] = call.workspace.name
    if call.key is not None:
        attributes["junction.key_id"] = call.key.id
    if assistant is not None:
        attributes["junction.assistant"] = assistant
        attributes["gen_ai.request.model"] = assistant
    if call.deployment:
        provider_name, _, model = call.deployment.partition("/")
        provider = snapshot.providers.get(provider_name)
        system = provider.config.kind if provider is not None else provider_name
        attributes["gen_ai.system"] = system
        attributes["gen_ai.provider.name"] = system
        attributes["gen_ai.response.model"] = model
        attributes["junction.deployment"] = call.deployment
    if call.prompt_tokens is not None:
        attributes["gen_ai.usage.input_tokens"] = call.prompt_tokens
    if call.completion_tokens is not None:
        attributes["gen_ai.usage.output_tokens"] = call.completion_tokens
    reasons = call.notes.get("finish_reasons")
    if isinstance(reasons, list | tuple) and reasons:
        attributes["gen_ai.response.finish_reasons"] = [str(r) for r in reasons]
    if call.ttft_ms is not None:
        attributes["junction.ttft_ms"] = round(call.ttft_ms, 3)
    if call.error_code:
        attributes["error.type"] = call.error_code
    if call.request_content is not None:
        attributes["gen_ai.input.messages"] = _input_messages(call.request_content)
    if call.response_content is not None:
        attributes["gen_ai.output.messages"] = call.response_content
    return attributes


def _input_messages(body: str) -> str:
    """The request's messages (chat), input (responses) or prompt, as JSON; else the body."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if isinstance(parsed, dict):
        for name in ("messages", "input", "prompt"):
            if name in parsed:
                return orjson.dumps(parsed[name]).decode()
    return body
