"""The last line of defence: an unexpected exception still gets an OpenAI-shaped answer.

A database that is unreachable or locked past its timeout is a 503 the client may retry;
anything else a 500. Starlette would answer a bare ``Internal Server Error`` in plain text;
clients expect JSON. A crash is still logged with its traceback (Starlette re-raises it).
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from junction.core.responses import error_response
from junction.errors import DatabaseUnavailable, JunctionError

log = logging.getLogger(__name__)


def install_crash_handler(app: Starlette) -> None:
    async def on_crash(_request: Request, _exc: Exception) -> Response:
        return error_response(JunctionError("The server failed to handle this request."))

    async def on_database_error(_request: Request, exc: Exception) -> Response:
        log.warning("database error: %s", exc)
        return error_response(
            DatabaseUnavailable("The database is unavailable; try again in a moment.")
        )

    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(OSError, on_database_error)  # e.g. a refused connection
    app.add_exception_handler(Exception, on_crash)
