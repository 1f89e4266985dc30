"""``POST /v1/completions``: legacy text completions, passed through to providers that have
them (kind ``openai`` as is, ``ollama`` through ``/api/generate``; ``anthropic`` answers 400).

The assistant's temperature applies when the request sets none, and ``max_tokens`` is
clamped to the assistant's (else the workspace's) cap; a system prompt does not apply (there
are no messages). ``prompt`` and every other field pass through untouched. Answers carry the
assistant's name as ``model``.
"""

from __future__ import annotations

import time

from junction.core.types import Json
from junction.errors import UpstreamError
from junction.pipeline.door import FrontDoor
from junction.pipeline.exchange import Exchange
from junction.pipeline.shape import check_completion


def _normalize(data: object, model: str, request_id: str) -> Json:
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise UpstreamError("The upstream answered a completion without a 'choices' list.")
    if not isinstance(data.get("id"), str) or not data["id"]:
        data["id"] = "cmpl-" + request_id.removeprefix("req_")
    data["object"] = "text_completion"
    if isinstance(data.get("created"), bool) or not isinstance(data.get("created"), int):
        data["created"] = int(time.time())
    data["model"] = model
    return data


class CompletionsDoor(FrontDoor):
    endpoint = "completions"
    operation = "completion"

    def parse(self, ex: Exchange, raw: Json) -> None:
        check_completion(raw)
        ex.wire = raw
        ex.body = dict(raw)
        ex.call.stream = raw.get("stream") is True

    def normalize(self, ex: Exchange, data: object) -> Json:
        return _normalize(data, ex.assistant.name, ex.call.request_id)

    def normalize_chunk(self, ex: Exchange, chunk: Json) -> Json:
        return _normalize(chunk, ex.assistant.name, ex.call.request_id)
