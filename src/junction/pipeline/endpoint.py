"""Runs the pipeline for one front door: the one place a data-plane request is assembled.

Every outcome ends here or in the stream's finish: the ``Call`` is handed to the observers
(request log, metering of limits and budgets, metrics, access log) exactly once, and every
error — a refusal, an upstream failure, or a bug in the router (500, logged with its
traceback) — becomes the front door's error response.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from junction.accounting.content import capture_request
from junction.core.call import Call, new_request_id, note_failed_routing
from junction.core.responses import add_headers
from junction.errors import InternalError, JunctionError
from junction.pipeline.admission import admit
from junction.pipeline.answer import answer
from junction.pipeline.context import build_context
from junction.pipeline.door import FrontDoor
from junction.pipeline.event_stream import EventStreamResponse
from junction.pipeline.exchange import Exchange
from junction.pipeline.request import authenticate, read_json, serving_snapshot
from junction.pipeline.shape import check_object
from junction.pipeline.stream import stream
from junction.routing.resolve import resolve_assistant
from junction.runtime import Runtime

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


def endpoint(rt: Runtime, door: FrontDoor) -> Handler:
    async def handle(request: Request) -> Response:
        call = Call(new_request_id(), door.endpoint)
        call.traceparent = request.headers.get("traceparent")
        try:
            response = await run(rt, door, call, request)
        except JunctionError as error:
            return await _refused(rt, door, call, error)
        except Exception:
            log.exception("data-plane request %s failed", call.request_id)
            return await _refused(rt, door, call, InternalError.for_request(call.request_id))
        if not call.headers:  # an admitted call has its rate-limit headers already
            await rt.rate_limits.describe(call)
        add_headers(response, {"x-request-id": call.request_id, **call.headers})
        if not isinstance(response, EventStreamResponse):  # a stream finishes when it ends
            call.status = response.status_code
            rt.finish(call)
        return response

    return handle


async def run(rt: Runtime, door: FrontDoor, call: Call, request: Request) -> Response:
    """The steps, in order (the package docstring draws them)."""
    token = door.credential(request)
    snapshot = await serving_snapshot(request, rt.catalog, rt.box, token)
    call.key, call.workspace = authenticate(request, snapshot, rt.box, token)
    ex = Exchange(rt, door, call, request, snapshot)
    raw = check_object(await read_json(request, rt.settings.max_body_bytes), rt.settings)
    door.parse(ex, raw)
    call.assistant = resolve_assistant(snapshot, call.workspace.id, ex.body["model"])
    if call.workspace.log_content:
        capture_request(call, ex.wire, rt.settings.log_content_max_bytes)
    await admit(ex)
    await build_context(ex)
    if call.stream:
        return await stream(ex)
    return await answer(ex)


async def _refused(rt: Runtime, door: FrontDoor, call: Call, error: JunctionError) -> Response:
    call.status = error.status_code
    call.record_error(error)
    note_failed_routing(call)
    rt.finish(call)
    response = door.error_response(error, call.request_id)
    await rt.rate_limits.describe(call)
    add_headers(response, call.headers)
    return response
