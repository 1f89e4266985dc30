"""One data-plane request as the router saw it: the record every later stage reads or fills.

The endpoint wrapper (``http.openai_endpoint``) creates it, handlers fill it in as they go,
and when the answer is complete (for a stream: when the stream ends) it is handed to each of
``Runtime.call_observers`` — logging, accounting, metrics and limits hook in there.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from junction.config.snapshot import AssistantView, KeyView, WorkspaceView
from junction.errors import JunctionError


@dataclass
class Call:
    request_id: str
    endpoint: str
    started: float = field(default_factory=time.perf_counter)
    created_at: float = field(default_factory=time.time)
    key: KeyView | None = None
    workspace: WorkspaceView | None = None
    assistant: AssistantView | None = None
    stream: bool = False
    deployment: str | None = None  # "<provider>/<model>" that served
    attempts: int = 0
    status: int = 200
    error: str | None = None
    error_code: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_at: float | None = None  # perf_counter of the first streamed content
    finished_at: float | None = None
    cut_off: bool = False  # a stream that ended early (client gone or upstream broke)
    counted_by_router: bool = False  # usage counted by the router: the upstream's never came
    quality_score: float | None = None  # set when the assistant's quality gate scored it
    notes: dict[str, object] = field(default_factory=dict)
    # Filled only when the workspace logs content (accounting.content), capped in size.
    request_content: str | None = None
    response_content: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # sent on every answer (rate limits)
    traceparent: str | None = None  # the caller's W3C trace context (OpenTelemetry export)

    @property
    def latency_ms(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started) * 1000

    @property
    def ttft_ms(self) -> float | None:
        if self.first_token_at is None:
            return None
        return (self.first_token_at - self.started) * 1000

    def note_first_token(self, chunk: dict[str, object]) -> None:
        """Time to first token: the first streamed chunk that carries output (text, reasoning
        or a tool call) — not the role-only chunk servers send before generating."""
        if self.first_token_at is None and _carries_output(chunk):
            self.first_token_at = time.perf_counter()

    def record_error(self, error: JunctionError) -> None:
        self.error = error.operator_message  # the log is operator data: upstream detail too
        self.error_code = error.instance_code or error.code

    def record_usage(self, usage: object) -> None:
        if isinstance(usage, dict):
            prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
            if isinstance(prompt, int):
                self.prompt_tokens = prompt
            if isinstance(completion, int):
                self.completion_tokens = completion


def _carries_output(chunk: dict[str, object]) -> bool:
    choices = chunk.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict):
            continue
        if choice.get("text"):  # /v1/completions
            return True
        delta = choice.get("delta")
        if isinstance(delta, dict) and (
            delta.get("content") or delta.get("reasoning_content") or delta.get("tool_calls")
        ):
            return True
    return False


def new_request_id() -> str:
    # An identifier, not a secret: 96 random bits without a system call per request.
    return f"req_{random.getrandbits(96):024x}"


def note_failed_routing(call: Call) -> None:
    """A request that no deployment answered: its attempts and the last deployment tried."""
    failures = call.notes.get("routing_failures")
    if isinstance(failures, list) and failures and not call.attempts:
        call.attempts = sum(1 for f in failures if f.get("reason") != "quality")
        last = failures[-1].get("deployment")
        call.deployment = call.deployment or (last if isinstance(last, str) else None)
