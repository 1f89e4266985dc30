"""The stream step: route to a stream, pass it through chunk by chunk, then finish it.

Each upstream chunk is normalized and fed to the ``StreamAccumulator`` (the one record of the
answer that history, scoring, the content log, Responses and metering read), stripped of
reasoning if the assistant says so, and framed by the front door's encoder. Nothing is
buffered. However the stream ends — completed, client gone, upstream broken off — ``finish``
meters it (the router counts what the upstream did not), stores the turn if it completed,
scores it, and hands the call to the observers exactly once.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator

from starlette.responses import Response

from junction.accounting.content import clip
from junction.accounting.metering import meter
from junction.core.types import Json
from junction.errors import InternalError, JunctionError
from junction.history import thinking
from junction.pipeline.accumulator import StreamAccumulator
from junction.pipeline.event_stream import EventStreamResponse
from junction.pipeline.exchange import Exchange
from junction.pipeline.route import open_stream, routed
from junction.quality.gate import score_stream
from junction.routing.resolve import Deployment

log = logging.getLogger(__name__)


async def stream(ex: Exchange) -> Response:
    rt, call, door = ex.rt, ex.call, ex.door
    if door.operation in ("chat", "completion"):
        # Usage is always asked of the upstream (metering needs it); the encoder shows it only
        # to a client that asked.
        given = ex.body.get("stream_options")
        ex.body["stream_options"] = {
            **(given if isinstance(given, dict) else {}),
            "include_usage": True,
        }

    async def attempt(target: Deployment) -> AsyncIterator[Json]:
        return await open_stream(ex, target)

    chunks, outcome = await rt.router.call(ex.snapshot, ex.assistant, attempt, notes=call.notes)
    headers = {**ex.headers, **routed(ex, outcome), "x-request-id": call.request_id}
    ref = outcome.deployment.ref
    rt.router.enter(ref)
    acc = StreamAccumulator()
    encoder = door.encoder(ex)
    turn = ex.turn

    async def events() -> AsyncIterator[bytes]:
        try:
            for event in encoder.start():
                yield event
            async for chunk in chunks:
                door.normalize_chunk(ex, chunk)
                acc.feed(chunk)
                if turn is not None and not turn.chunk(chunk):
                    continue
                call.note_first_token(chunk)
                framed = encoder.chunk(chunk)
                if framed is not None:
                    yield framed
            for event in encoder.end(acc):
                yield event
        except JunctionError as error:
            call.record_error(error)
            if error.health_fault:  # a broken connection; a malformed event cools nothing
                rt.router.health.failure(ref, error.operator_message)
            else:
                rt.router.health.note_error(ref, error.operator_message)
            yield encoder.error(error)
        except Exception:  # a bug must still end the stream cleanly and be on record
            log.exception("streaming request %s failed", call.request_id)
            internal = InternalError.for_request(call.request_id)
            call.record_error(internal)
            yield encoder.error(internal)

    async def done(completed: bool) -> None:
        try:
            rt.router.leave(ref)
            await chunks.aclose()  # type: ignore[attr-defined]
            call.cut_off = not completed or call.error is not None
            await _finish(ex, acc)
        finally:
            rt.finish(call)

    return EventStreamResponse(events(), headers, done)


async def _finish(ex: Exchange, acc: StreamAccumulator) -> None:
    rt, call, turn = ex.rt, ex.call, ex.turn
    call.record_usage(acc.usage)
    await meter(rt.tokens, call, ex.door.operation, ex.body, acc.generated_text(), ex.prompt_tokens)
    message = shown = acc.message()
    if turn is not None and turn.strip:  # what the client saw
        shown = copy.deepcopy(message)
        thinking.strip_message(shown)
    if ex.workspace.log_content and isinstance(shown.get("content"), str):
        call.response_content = clip(shown["content"], rt.settings.log_content_max_bytes)
    if call.cut_off:
        return
    if turn is not None:
        turn.stream_ended(True, message)
    if ex.door.operation == "chat" and ex.assistant.quality_score > 0:
        await score_stream(rt, call, ex.body, acc.answer(shown))
