"""``POST /v1/chat/completions``: the front door whose wire format is the internal form."""

from __future__ import annotations

from junction.core.types import Json
from junction.dataplane.wire import completion_id, normalize_chunk, normalize_completion
from junction.history.flow import ChatTurn
from junction.pipeline.door import FrontDoor
from junction.pipeline.exchange import Exchange
from junction.pipeline.shape import check_chat


class ChatDoor(FrontDoor):
    endpoint = "chat.completions"
    operation = "chat"

    def parse(self, ex: Exchange, raw: Json) -> None:
        check_chat(raw, ex.rt.settings)
        ex.wire = raw
        ex.body = dict(raw)
        ex.call.stream = raw.get("stream") is True

    async def open_history(self, ex: Exchange) -> ChatTurn | None:
        rt = ex.rt
        conversation = ex.request.headers.get("x-conversation-id")
        return await ChatTurn.open(
            rt.history, rt.tokens, ex.snapshot, ex.call, ex.body, conversation
        )

    def normalize(self, ex: Exchange, data: object) -> Json:
        return normalize_completion(data, ex.assistant.name, completion_id(ex.call.request_id))

    def normalize_chunk(self, ex: Exchange, chunk: Json) -> Json:
        return normalize_chunk(chunk, ex.assistant.name, completion_id(ex.call.request_id))
