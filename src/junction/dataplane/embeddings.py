"""``POST /v1/embeddings``: the assistant's model embeds; the body passes through."""

from __future__ import annotations

from junction.core.types import Json
from junction.dataplane.wire import normalize_embeddings
from junction.pipeline.door import FrontDoor
from junction.pipeline.exchange import Exchange
from junction.pipeline.shape import check_embedding


class EmbeddingsDoor(FrontDoor):
    endpoint = "embeddings"
    operation = "embedding"

    def parse(self, ex: Exchange, raw: Json) -> None:
        check_embedding(raw)
        ex.wire = raw
        ex.body = dict(raw)

    def normalize(self, ex: Exchange, data: object) -> Json:
        given = data.get("usage") if isinstance(data, dict) else None
        answer = normalize_embeddings(data, ex.assistant.name)
        if isinstance(given, dict):
            ex.call.record_usage({**answer["usage"], "completion_tokens": 0})
        else:  # no usage: metering counts the input; the answer's zeros are replaced
            del answer["usage"]
        return answer
