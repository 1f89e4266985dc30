"""The last line of defence: an unexpected exception still gets an OpenAI-shaped answer.

A database that is unreachable or locked past its timeout is a 503 the client may retry;
anything else a 500. Starlette would answer a bare ``Internal Server Error`` in plain text;
clients expect JSON. A crash is still logged with its traceback (Starlette re-raises it).
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from junction.core.responses import error_response
from junction.errors import DatabaseUnavailable, JunctionError
from junction.store.errors import from_database

log = logging.getLogger(__name__)


def _unavailable(exc: BaseException) -> Response:
    log.warning("database error: %s", exc)
    return error_response(
        DatabaseUnavailable("The database is unavailable; try again in a moment.")
    )


class DatabaseErrors:
    """A database error that reached the top, answered as the 503 it is, without a traceback.
    Outermost, as a middleware of its own: an exception handler needs the error's class, and
    that would import SQLAlchemy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if scope["type"] != "http" or not from_database(exc):
                raise
            try:
                await _unavailable(exc)(scope, receive, send)
            except Exception:  # the response had started: the connection just ends
                raise exc from None


def install_crash_handler(app: Starlette) -> None:
    async def on_database_error(_request: Request, exc: Exception) -> Response:
        return _unavailable(exc)

    async def on_crash(_request: Request, _exc: Exception) -> Response:
        return error_response(JunctionError("The server failed to handle this request."))

    app.add_exception_handler(OSError, on_database_error)  # e.g. a refused connection
    app.add_exception_handler(Exception, on_crash)
    app.add_middleware(DatabaseErrors)
