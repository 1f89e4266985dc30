"""The admin API as a FastAPI application of its own, built on its first request.

The router itself is a plain Starlette application: FastAPI and the admin API's pydantic
schemas are imported only when someone opens ``/admin/v1`` (or the published API document,
which lists it). The router passes every request under ``/admin/v1`` here with its scope
unchanged (``lazy_routes``), so the routes keep their whole path, in the API document too.
The admin API answers its own errors, with the router's handlers and a validation handler
that turns FastAPI's error list into one OpenAI-shaped 422.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import Response

from junction import __version__
from junction.admin.router import router
from junction.core.responses import error_response
from junction.error_handlers import install_error_handlers
from junction.errors import ValidationFailed
from junction.runtime import Runtime
from junction.validation_words import error_in_words

TITLE = "Junction"
SUMMARY = "OpenAI-compatible router for self-hosted language models"


def admin_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title=TITLE,
        version=__version__,
        summary=SUMMARY,
        openapi_url=None,  # the router publishes the whole document (admin and data plane)
        docs_url=None,
        redoc_url=None,
        # Junction has its own metrics; FastAPI's OpenTelemetry hook would otherwise look up
        # the providers (environment reads) on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        strict_content_type=False,  # curl users often leave out Content-Type: accept JSON anyway
    )
    app.state.runtime = rt
    app.include_router(router)
    install_error_handlers(app)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    return app


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(validation_error(exc.errors()))


def validation_error(errors: Any) -> ValidationFailed:
    """FastAPI's error list as one OpenAI-shaped 422 whose ``param`` is the first bad field,
    each error said in words (what the field allows, never a regular expression)."""
    parts = []
    first: str | None = None
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        first = first or field
        parts.append(f"{field}: {error_in_words(error)}")
    return ValidationFailed("; ".join(parts) or "Invalid request.", param=first)
