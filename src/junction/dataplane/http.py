"""The wrapper of the data-plane routes that call no upstream (models, conversations); the
endpoints that do go through the request pipeline (``junction.pipeline``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from junction.core.call import Call, new_request_id
from junction.core.responses import error_response
from junction.errors import InternalError, JunctionError
from junction.runtime import Runtime

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


CallHandler = Callable[[Request, Call], Awaitable[Response]]


def openai_endpoint(rt: Runtime, name: str) -> Callable[[CallHandler], Handler]:
    """Gives the handler a fresh ``Call``, turns every ``JunctionError`` (and every bug: a
    logged 500) into its JSON answer, and finishes the call."""

    def wrap(handler: CallHandler) -> Handler:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            call = Call(new_request_id(), name)
            call.traceparent = request.headers.get("traceparent")
            try:
                response = await handler(request, call)
            except Exception as exc:
                if isinstance(exc, JunctionError):
                    error = exc
                else:
                    log.exception("data-plane request %s failed", call.request_id)
                    error = InternalError.for_request(call.request_id)
                call.status = error.status_code
                call.record_error(error)
                rt.finish(call)
                response = error_response(error, call.request_id)
                await rt.rate_limits.describe(call)
                response.headers.update(call.headers)
                return response
            response.headers["x-request-id"] = call.request_id
            await rt.rate_limits.describe(call)
            response.headers.update(call.headers)
            call.status = response.status_code
            rt.finish(call)
            return response

        return endpoint

    return wrap


__all__ = ["Handler", "openai_endpoint"]
