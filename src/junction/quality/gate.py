"""The quality gate as the data plane uses it.

Non-streamed: ``QualityGate.check`` is the router's answer check; below the assistant's
``quality_score`` the router tries the next fallback and finally returns the best answer.
Streamed: the answer the pipeline's stream accumulator rebuilt is scored once the stream has
ended; the score is recorded on the ``Call``.

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


async def score_stream(rt: Runtime, call: Call, request: Json, answer: Json) -> None:
    """Score a finished stream's ``answer`` (rebuilt by the stream accumulator; after the fact:
    the client has it) onto the call. Never raises: the call must still be recorded."""
    gate = QualityGate(rt, call, request)
    try:
        gate.record(await gate.check(answer))
    except Exception:
        log.exception("scoring a streamed answer failed (request %s)", call.request_id)
