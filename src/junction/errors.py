"""Every error Junction answers with, mapped to its OpenAI status, type and code in one place.

    JunctionError                      500 server_error
     ├── InternalError                 500 server_error / internal_error (a bug: logged)
     ├── InvalidRequest                400 invalid_request_error
     │    └── ContextLengthExceeded    400 invalid_request_error / context_length_exceeded
     ├── AuthenticationFailed          401 invalid_request_error / invalid_api_key
     ├── PermissionDenied              403 permission_error
     ├── NotFound                      404 invalid_request_error / not_found
     │    └── ModelNotFound            404 invalid_request_error / model_not_found
     ├── Conflict                      409 invalid_request_error / conflict
     ├── PayloadTooLarge               413 invalid_request_error / payload_too_large
     ├── ValidationFailed              422 invalid_request_error / validation_error
     ├── RateLimited                   429 rate_limit_exceeded
     │    └── QuotaExceeded            429 insufficient_quota (monthly token budget spent)
     ├── DatabaseUnavailable           503 server_error / database_unavailable
     └── UpstreamError                 502 upstream_error
          ├── UpstreamRejected         the upstream's 400/404/413/422 about the request, passed on
          ├── UpstreamRefused          502 upstream_error: credentials, redirects, other 4xx
          ├── UpstreamMalformed        502 upstream_error: an answer that breaks the protocol
          ├── UpstreamUnavailable      503 upstream_unavailable
          └── UpstreamTimeout          504 upstream_timeout

Raise these anywhere; the app's exception handlers turn them into
``{"error": {"message", "type", "param", "code"}}`` with the status below.

``message`` is what the caller reads. ``detail`` is for operators only (the request log, the
admin API and UI, never a workspace caller): what an upstream said, already redacted
(``security/redact.py``). ``operator_message`` joins the two.

``health_fault`` says whether the error is the deployment's own health (connect errors,
timeouts, 5xx, 429), which may cool it down; ``retry_same`` whether trying the same deployment
again could help (a refused credential or a malformed answer will not change).
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson


class JunctionError(Exception):
    status: ClassVar[int] = 500
    type: ClassVar[str] = "server_error"
    code: ClassVar[str | None] = None
    health_fault: ClassVar[bool] = True
    retry_same: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.instance_code = code
        self.headers = headers or {}
        self.detail = detail

    @property
    def operator_message(self) -> str:
        """The message with the operator-only detail: for the request log and admin views."""
        return f"{self.message} [upstream said: {self.detail}]" if self.detail else self.message

    @property
    def status_code(self) -> int:
        return self.status

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.instance_code or self.code,
            }
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.body())


class InternalError(JunctionError):
    """The router failed (a bug): the traceback is logged, the caller gets the request id."""

    code = "internal_error"

    @classmethod
    def for_request(cls, request_id: str) -> InternalError:
        return cls(
            f"The router failed while handling this request ({request_id}); the failure was logged."
        )


class InvalidRequest(JunctionError):
    status = 400
    type = "invalid_request_error"


class ContextLengthExceeded(InvalidRequest):
    code = "context_length_exceeded"


class AuthenticationFailed(JunctionError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(JunctionError):
    status = 403
    type = "permission_error"
    code = "permission_denied"


class NotFound(JunctionError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class Conflict(JunctionError):
    status = 409
    type = "invalid_request_error"
    code = "conflict"


class PayloadTooLarge(JunctionError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class UnsupportedMediaType(JunctionError):
    status = 415
    type = "invalid_request_error"
    code = "unsupported_file_type"


class ValidationFailed(JunctionError):
    status = 422
    type = "invalid_request_error"
    code = "validation_error"


class RateLimited(JunctionError):
    status = 429
    type = "rate_limit_exceeded"
    code = "rate_limit_exceeded"


class QuotaExceeded(RateLimited):
    type = "insufficient_quota"
    code = "insufficient_quota"


class DatabaseUnavailable(JunctionError):
    status = 503
    code = "database_unavailable"


class UpstreamError(JunctionError):
    status = 502
    type = "upstream_error"
    code = "upstream_error"


class UpstreamRejected(UpstreamError):
    """The upstream refused the request itself (400/404/413/422): its status goes back to the
    client, with the upstream's message once credential-like text is removed."""

    type = "invalid_request_error"
    code = "upstream_rejected"
    health_fault = False
    retry_same = False

    def __init__(self, message: str, *, upstream_status: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.upstream_status = upstream_status

    @property
    def status_code(self) -> int:
        return self.upstream_status


class UpstreamRefused(UpstreamError):
    """The upstream refused the router, not the request: its credential (401/403), a redirect,
    another 4xx. The caller's request was fine, so it gets a 502, never the upstream's 401."""

    health_fault = False
    retry_same = False


class UpstreamMalformed(UpstreamError):
    """One answer broke the protocol (not JSON, too large, a line without end, empty)."""

    health_fault = False
    retry_same = False


class UpstreamUnavailable(UpstreamError):
    status = 503
    code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"
