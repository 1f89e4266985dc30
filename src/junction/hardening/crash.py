"""The last line of defence: an unexpected exception still gets an OpenAI-shaped 500.

Starlette would answer a bare ``Internal Server Error`` in plain text; clients expect JSON.
The exception is still logged with its traceback (Starlette re-raises it after answering).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from junction.dataplane.http import error_response
from junction.errors import JunctionError


def install_crash_handler(app: FastAPI) -> None:
    async def on_crash(_request: Request, _exc: Exception) -> Response:
        return error_response(JunctionError("The server failed to handle this request."))

    app.add_exception_handler(Exception, on_crash)
