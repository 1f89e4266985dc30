"""LLM-as-judge: the workspace's ``judge_assistant`` grades an answer with a number 0-100.

The judge is an ordinary assistant of the same workspace (its own model, pool, fallbacks and
system prompt apply). It is asked once per answer, with temperature 0 and 8 tokens; the first
integer in its reply, clamped to 0-100, is the grade. Its call is a ``Call`` of its own
(endpoint ``quality.judge``) handed to the call observers, so its tokens are logged and
accounted to the workspace like any other request (metered by the router when the judge's
upstream sends no usage). It is part of the request it grades, which was admitted already, so it
is not admitted again. A judge that is missing, fails or answers no number gives no grade (the
deterministic score stands).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from junction.accounting.metering import answer_texts, meter
from junction.core.call import Call
from junction.errors import JunctionError, UpstreamError
from junction.routing.prepare import prepare_chat
from junction.routing.resolve import Deployment
from junction.runtime import Runtime

log = logging.getLogger(__name__)

Json = dict[str, Any]

JUDGE_INSTRUCTIONS = (
    "You grade the answer an AI assistant gave to a user. Judge correctness, relevance, "
    "completeness and clarity. Reply with one integer from 0 (useless) to 100 (excellent) "
    "and nothing else."
)
_NUMBER = re.compile(r"\d{1,3}")
_MAX_SHOWN = 8000  # characters of question and of answer shown to the judge


def question_text(request: Json) -> str:
    """The conversation as the judge sees it: each message as ``role: text``."""
    lines = []
    for message in request.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(
                str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p
            )
        lines.append(f"{message.get('role')}: {content if isinstance(content, str) else ''}")
    return "\n".join(lines)[-_MAX_SHOWN:]


async def judge(rt: Runtime, parent: Call, request: Json, answer_text: str) -> int | None:
    workspace = parent.workspace
    if workspace is None or not workspace.judge_assistant:
        return None
    snapshot = rt.catalog.snapshot
    assistant = snapshot.roster(workspace.id).get(workspace.judge_assistant)
    if assistant is None:
        parent.notes["judge_error"] = f"judge assistant '{workspace.judge_assistant}' not found"
        return None
    body: Json = {
        "model": assistant.name,
        "messages": [
            {"role": "system", "content": JUDGE_INSTRUCTIONS},
            {
                "role": "user",
                "content": f"Conversation:\n{question_text(request)}\n\n"
                f"Answer to grade:\n{answer_text[:_MAX_SHOWN]}",
            },
        ],
        "temperature": 0,
        "max_tokens": 8,
    }
    prepare_chat(body, assistant, workspace)
    call = Call(parent.request_id + "-judge", "quality.judge")
    call.key, call.workspace, call.assistant = parent.key, workspace, assistant

    async def attempt(target: Deployment) -> Json:
        return await target.provider.client.chat({**body, "model": target.model})

    try:
        data, outcome = await rt.router.call(snapshot, assistant, attempt)
        if not isinstance(data, dict):
            raise UpstreamError("the judge answered something other than a JSON object")
    except JunctionError as error:
        call.status, call.error = error.status_code, error.message
        parent.notes["judge_error"] = error.message
        rt.finish(call)
        return None
    call.deployment, call.attempts = outcome.deployment.ref, outcome.attempts
    call.record_usage(data.get("usage"))
    await meter(rt.tokens, call, "chat", body, answer_texts(data))
    rt.finish(call)
    try:
        reply = data["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        reply = ""
    found = _NUMBER.search(reply) if isinstance(reply, str) else None
    if found is None:
        parent.notes["judge_error"] = f"the judge answered no number: {str(reply)[:100]!r}"
        return None
    return min(100, int(found.group()))
