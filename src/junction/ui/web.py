"""What every UI page shares: templates, the login check, CSRF on every POST, form parsing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from junction.runtime import Runtime
from junction.ui.api import AdminApi
from junction.ui.session import SESSION_COOKIE, Sessions, UiSession

FORM_LIMIT = 1024 * 1024
SAFE_METHODS = ("GET", "HEAD")
CSRF_HEADER = "x-csrf-token"


class Form:
    """An ``application/x-www-form-urlencoded`` body, every value kept (multi-selects)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        for key, value in self._pairs:
            if key == name:
                return value.strip()
        return default

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for k, v in self._pairs if k == name and v.strip()]

    def __contains__(self, name: str) -> bool:
        return any(k == name for k, _ in self._pairs)


async def read_form(request: Request) -> Form:
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > FORM_LIMIT:
            break
        chunks.append(chunk)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return Form(parse_qsl(text, keep_blank_values=True))


def _when(value: object) -> str:
    """An ISO timestamp from the API as a short UTC time, for tables."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _number(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    try:
        return f"{int(float(str(value))):,}"
    except ValueError:
        return str(value)


def _ms(value: object) -> str:
    """A duration in milliseconds, to the whole millisecond (tenths below 10 ms)."""
    if value is None or value == "":
        return "—"
    number = float(str(value))
    return f"{number:.1f}" if number < 10 else f"{round(number):,}"


def make_templates() -> Environment:
    env = Environment(
        loader=PackageLoader("junction.ui", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["number"] = _number
    env.filters["ms"] = _ms
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    return env


@dataclass
class Ui:
    rt: Runtime
    sessions: Sessions
    templates: Environment = field(default_factory=make_templates)
    playground_keys: dict[str, tuple[str, float]] = field(default_factory=dict)

    def render(
        self, request: Request, name: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        session: UiSession | None = context.pop("session", None)
        html = self.templates.get_template(name).render(
            request=request,
            csrf=self.sessions.csrf_token(session.nonce) if session else "",
            logged_in=session is not None,
            **context,
        )
        return HTMLResponse(html, status, headers=SECURITY_HEADERS)


SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


@dataclass
class Page:
    """One authenticated request: the session, the admin API as that admin, the form."""

    ui: Ui
    request: Request
    session: UiSession
    api: AdminApi
    form: Form

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self.ui.render(self.request, name, status, session=self.session, **context)

    @property
    def writing(self) -> bool:
        """A state-changing request (its CSRF token has been checked)."""
        return self.request.method not in SAFE_METHODS

    def param(self, name: str) -> str:
        return str(self.request.path_params.get(name, ""))

    def base_url(self) -> str:
        return str(self.request.base_url).rstrip("/") + "/v1"


PageHandler = Callable[[Page], Awaitable[Response]]


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def page(ui: Ui) -> Callable[[PageHandler], Callable[[Request], Awaitable[Response]]]:
    """Requires a login; on POST (and other writes) requires the session's CSRF token."""

    def wrap(handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            session = await ui.sessions.read(request.cookies.get(SESSION_COOKIE))
            if session is None:
                if request.method in SAFE_METHODS:
                    return see_other("/ui/login?next=" + quote(request.url.path, safe="/"))
                return ui.render(request, "error.html", 401, message=LOGGED_OUT)
            form = Form([])
            if request.method not in SAFE_METHODS:
                if request.headers.get("content-type", "").startswith("application/x-www-form"):
                    form = await read_form(request)
                token = request.headers.get(CSRF_HEADER) or form.get("csrf")
                if not ui.sessions.csrf_ok(session.nonce, token):
                    return ui.render(request, "error.html", 403, session=session, message=NO_CSRF)
            api = AdminApi(request.app, session.admin_key)
            return await handler(Page(ui, request, session, api, form))

        return endpoint

    return wrap


LOGGED_OUT = "Your session has ended. Log in again, then repeat what you were doing."
NO_CSRF = (
    "This form did not carry a valid security token (CSRF), so nothing was changed. "
    "Reload the page and try again."
)
