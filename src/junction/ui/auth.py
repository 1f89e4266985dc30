"""Log in with the admin key, log out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from junction.ui.session import (
    LOGIN_COOKIE,
    LOGIN_FORM_SECONDS,
    SESSION_COOKIE,
    new_login_nonce,
)
from junction.ui.web import NO_CSRF, SAFE_METHODS, Page, Ui, page, read_form, see_other

COOKIE_PATH = "/ui"


def _safe_next(value: str) -> str:
    """Only a path of this UI: never an absolute URL (no open redirect)."""
    if value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/workspaces"


def _set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def login_routes(ui: Ui) -> dict[str, object]:
    throttle = ui.rt.login_failures  # shared with the admin API's bearer check

    def login_form(request: Request, status: int = 200, error: str = "") -> Response:
        nonce = request.cookies.get(LOGIN_COOKIE) or new_login_nonce()
        response = ui.render(
            request,
            "login.html",
            status,
            login_csrf=ui.sessions.csrf_token(nonce, "login"),
            next=_safe_next(request.query_params.get("next", "")),
            error=error,
        )
        _set_cookie(request, response, LOGIN_COOKIE, nonce, LOGIN_FORM_SECONDS)
        return response

    async def login(request: Request) -> Response:
        if request.method in SAFE_METHODS:
            if await ui.sessions.read(request.cookies.get(SESSION_COOKIE)) is not None:
                return see_other(_safe_next(request.query_params.get("next", "")))
            return login_form(request)
        address = request.client.host if request.client else "unknown"
        wait = throttle.retry_after(address)
        if wait is not None:
            response = login_form(
                request, 429, f"Too many failed logins from your address. Try again in {wait} s."
            )
            response.headers["Retry-After"] = str(wait)
            return response
        form = await read_form(request)
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not ui.sessions.csrf_ok(nonce, form.get("csrf"), "login"):
            return login_form(request, 403, NO_CSRF)
        key = form.get("admin_key")
        if not ui.sessions.is_admin_key(key):
            if key:
                throttle.failed(address)
            message = (
                "That is not the admin key of this router. Use the key printed when the "
                "router first started, or the value of JUNCTION_ADMIN_KEY."
            )
            if not key:
                message = "Enter the admin key."
            elif ui.rt.box.key_digest(key) in ui.rt.catalog.snapshot.keys:
                message = "That is a workspace API key; the admin UI needs the admin key."
            return login_form(request, 401, message)
        cookie, _session = await ui.sessions.issue(key)
        response = see_other(_safe_next(form.get("next")))
        _set_cookie(request, response, SESSION_COOKIE, cookie, int(ui.sessions.seconds))
        response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
        return response

    @page(ui)
    async def logout(p: Page) -> Response:
        await ui.sessions.end(p.session)
        response = see_other("/ui/login?bye=1")
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
        return response

    return {"login": login, "logout": logout}
