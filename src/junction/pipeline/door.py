"""What a front door (one data-plane endpoint's wire format) supplies to the pipeline.

The pipeline owns the steps and their order; a door owns only its translation: reading its
body into the internal form (``parse``), the parts of the context step that depend on it
(``open_history``), turning the upstream's answer into its own (``normalize``, ``answer``),
its stream framing (``encoder``) and the shape of its errors (``error_response``).

The internal form is OpenAI's chat-completions body (or the completions / embeddings body for
those operations): the form every provider kind already speaks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response

from junction.core.responses import error_response
from junction.core.types import Json
from junction.errors import JunctionError
from junction.history.flow import ChatTurn
from junction.pipeline.request import bearer_token

if TYPE_CHECKING:
    from junction.pipeline.accumulator import StreamAccumulator
    from junction.pipeline.exchange import Exchange

Operation = Literal["chat", "completion", "embedding"]


class StreamEncoder:
    """Frames a stream for one front door. The default is OpenAI's: one ``data:`` event per
    chunk, ``data: [DONE]`` at the end, and an event carrying ``error`` if the upstream breaks
    off (headers are gone by then; OpenAI clients raise on it)."""

    def __init__(self, wants_usage: bool) -> None:
        self.wants_usage = wants_usage

    def start(self) -> list[bytes]:
        return []

    def chunk(self, chunk: Json) -> bytes | None:
        """The bytes for one internal chunk as the client is to see it; None sends nothing."""
        if "usage" in chunk and not self.wants_usage:
            if not chunk.get("choices"):
                return None  # the usage-only chunk: asked of the upstream, not by the client
            del chunk["usage"]
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def end(self, acc: StreamAccumulator) -> list[bytes]:
        return [b"data: [DONE]\n\n"]

    def error(self, error: JunctionError) -> bytes:
        return b"data: " + error.to_json() + b"\n\n"


class FrontDoor:
    endpoint: ClassVar[str]  # the request log's ``endpoint``: which door a request came through
    operation: ClassVar[Operation] = "chat"

    def credential(self, request: Request) -> str | None:
        return bearer_token(request)

    def parse(self, ex: Exchange, raw: dict[str, object]) -> None:
        """The shape step for this door: check ``raw`` (already known to be a JSON object of
        bounded depth), set ``ex.wire``, ``ex.body`` (with ``model``) and ``ex.call.stream``."""
        raise NotImplementedError

    async def open_history(self, ex: Exchange) -> ChatTurn | None:
        """The context step's history part (after settings and knowledge): prepend stored
        history and fit the window. Doors without history return None."""
        return None

    def normalize(self, ex: Exchange, data: object) -> Json:
        """The upstream's answer in the internal form, with every required field."""
        raise NotImplementedError

    def normalize_chunk(self, ex: Exchange, chunk: Json) -> Json:
        raise NotImplementedError

    def answer(self, ex: Exchange, answer: Json) -> Json:
        """The internal answer in this door's wire format."""
        return answer

    def encoder(self, ex: Exchange) -> StreamEncoder:
        options = ex.wire.get("stream_options")
        return StreamEncoder(isinstance(options, dict) and options.get("include_usage") is True)

    def error_response(self, error: JunctionError, request_id: str) -> Response:
        return error_response(error, request_id)
