"""The quality gate as the data plane uses it.

Non-streamed: ``QualityGate.check`` is the router's answer check; below the assistant's
``quality_score`` the router tries the next fallback and finally returns the best answer.
Streamed: ``StreamTranscript`` collects the answer as it passes (only when the gate is on)
and it is scored once the stream has ended; the score is recorded on the ``Call``.

Score = the deterministic score (``scorer.py``); if that is 100 and the workspace names a
``judge_assistant``, the judge's grade replaces it (a judge is not paid for an answer the
checks already failed).
"""

from __future__ import annotations

import logging
from typing import Any

from junction.core.call import Call
from junction.quality.judge import judge
from junction.quality.scorer import score_answer
from junction.runtime import Runtime

Json = dict[str, Any]

log = logging.getLogger(__name__)

HEADER = "x-junction-quality-score"


class QualityGate:
    def __init__(self, rt: Runtime, call: Call, request: Json) -> None:
        self.rt = rt
        self.call = call
        self.request = request
        self.scores: list[dict[str, Any]] = []

    async def check(self, answer: Json) -> float:
        verdict = score_answer(answer, self.request)
        score = verdict.score
        judged = None
        if score == 100:
            judged = await judge(self.rt, self.call, self.request, _text(answer))
            if judged is not None:
                score = judged
        failed = list(verdict.failed)
        self.scores.append(
            {"score": score, "failed": failed, "detail": verdict.detail, "judge": judged}
        )
        self.call.notes["quality"] = self.scores
        return score

    def record(self, score: float | None) -> dict[str, str]:
        """Put the final score on the call; the response header that carries it."""
        if score is None:
            return {}
        self.call.quality_score = score
        return {HEADER: f"{score:g}"}


def _text(answer: Json) -> str:
    try:
        content = answer["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    return content if isinstance(content, str) else ""


class StreamTranscript:
    """The answer of a stream, rebuilt from its chunks for scoring after the fact."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.tool_calls: dict[int, Json] = {}
        self.finish_reason: str | None = None
        self.refusal: str | None = None

    def feed(self, chunk: Json) -> None:
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self.content.append(delta["content"])
            if isinstance(delta.get("refusal"), str):
                self.refusal = (self.refusal or "") + delta["refusal"]
            for call in delta.get("tool_calls") or ():
                if not isinstance(call, dict):
                    continue
                entry = self.tool_calls.setdefault(
                    int(call.get("index", 0)), {"name": "", "arguments": ""}
                )
                function = call.get("function") or {}
                entry["name"] += function.get("name") or ""
                entry["arguments"] += function.get("arguments") or ""

    def answer(self) -> Json:
        message: Json = {"role": "assistant", "content": "".join(self.content)}
        if self.refusal:
            message["refusal"] = self.refusal
        if self.tool_calls:
            message["tool_calls"] = [
                {"type": "function", "function": self.tool_calls[i]}
                for i in sorted(self.tool_calls)
            ]
        return {"choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}]}


async def score_stream(
    rt: Runtime, call: Call, request: Json, transcript: StreamTranscript
) -> None:
    """Score a finished stream (after the fact: the client has its answer) onto the call.
    Never raises: the call must still be finished and recorded."""
    gate = QualityGate(rt, call, request)
    try:
        gate.record(await gate.check(transcript.answer()))
    except Exception:
        log.exception("scoring a streamed answer failed (request %s)", call.request_id)
