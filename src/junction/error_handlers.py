"""OpenAI-shaped answers for every error a request can end in: Junction's own errors,
Starlette's HTTP errors (an unknown URL is a ``not_found``, a wrong method a 405) and crashes.

Installed on the router and on the admin API's own application (``admin/app.py``), which
answers its errors itself.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from junction.core.responses import error_response
from junction.errors import InvalidRequest, JunctionError, NotFound
from junction.hardening.crash import install_crash_handler


async def _on_junction_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JunctionError)
    return error_response(exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error: JunctionError = NotFound(f"Unknown URL: {request.method} {request.url.path}")
    else:
        error = InvalidRequest(str(exc.detail))
    response = error_response(error)
    response.status_code = exc.status_code
    return response


def install_error_handlers(app: Starlette) -> None:
    app.add_exception_handler(JunctionError, _on_junction_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    install_crash_handler(app)
