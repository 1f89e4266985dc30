"""A workspace's "Generic OpenAI Settings": base URL and examples, API keys, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from junction.ui.api import ApiResult, path
from junction.ui.paging import list_page
from junction.ui.web import Page, Ui, page, see_other

CREATED = "Workspace created. Next: generate an API key, then add an assistant."
GRACE_CHOICES = [
    (0, "none: the old key stops now"),
    (3600, "1 hour"),
    (86400, "1 day"),
    (7 * 86400, "7 days"),
]


def window_parts(value: object) -> tuple[str, str]:
    """The stored window as the form's (mode, number): ``"40%"`` -> ``("percent", "40")``."""
    if value is None or value == "":
        return "none", ""
    text = str(value)
    if text.endswith("%"):
        return "percent", text[:-1]
    return "tokens", text


def window_value(mode: str, number: str) -> str | None:
    """The form's window as the API wants it; the API judges whether it is valid."""
    if mode == "none" or not number:
        return None
    return f"{number}%" if mode == "percent" else number


def _or_none(value: str) -> str | None:
    return value or None


def settings_routes(ui: Ui) -> dict[str, object]:
    async def show(
        p: Page,
        status: int = 200,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        new_key: dict[str, Any] | None = None,
        notice: str = "",
    ) -> Response:
        ws = p.param("ws")
        found = await p.api.get(path("workspaces", ws))
        if not found.ok:
            return p.render("error.html", found.status, message=found.message)
        keys = await list_page(p, path("workspaces", ws, "keys"), prefix="key_")
        # the judge is typed, with a page of the names matching a search as suggestions:
        # a workspace may hold thousands of assistants
        judges = await list_page(p, path("workspaces", ws, "assistants"), prefix="judge_")
        workspace = found.data
        mode, number = window_parts(workspace.get("token_context_window"))
        form = {
            "window_mode": mode,
            "window_number": number,
            **{
                k: "" if workspace.get(k) is None else workspace[k]
                for k in (
                    "max_tokens",
                    "rpm_limit",
                    "tpm_limit",
                    "monthly_token_budget",
                    "judge_assistant",
                )
            },
            **(values or {}),
        }
        names = [a["name"] for a in judges.items]
        return p.render(
            "settings.html",
            status,
            ws=workspace,
            keys=keys.items,
            key_listing=keys,
            judges=judges,
            example_model=names[0] if names else "your-assistant",
            base_url=p.base_url(),
            form=form,
            errors=errors or {},
            new_key=new_key,
            notice=notice
            or ("Workspace created." if p.request.query_params.get("created") else ""),
            grace_choices=GRACE_CHOICES,
            now=datetime.now(UTC).isoformat(),
        )

    @page(ui)
    async def settings(p: Page) -> Response:
        if not p.writing:
            return await show(p)
        f = p.form
        values = {
            k: f.get(k)
            for k in (
                "window_mode",
                "window_number",
                "max_tokens",
                "rpm_limit",
                "tpm_limit",
                "monthly_token_budget",
                "judge_assistant",
            )
        }
        body = {
            "token_context_window": window_value(values["window_mode"], values["window_number"]),
            "max_tokens": _or_none(values["max_tokens"]),
            "rpm_limit": _or_none(values["rpm_limit"]),
            "tpm_limit": _or_none(values["tpm_limit"]),
            "monthly_token_budget": _or_none(values["monthly_token_budget"]),
            "judge_assistant": _or_none(values["judge_assistant"]),
        }
        ws = p.param("ws")
        judge = body["judge_assistant"]
        if judge and not (await p.api.get(path("workspaces", ws, "assistants", judge))).ok:
            errors = {"judge_assistant": f"This workspace has no assistant named “{judge}”."}
            return await show(p, 422, errors=errors, values=values)
        result = await p.api.patch(path("workspaces", ws), body)
        if not result.ok:
            return await show(p, result.status, errors=_field_error(result), values=values)
        return await show(p, notice="Settings saved.")

    @page(ui)
    async def create_key(p: Page) -> Response:
        f = p.form
        body: dict[str, Any] = {"name": f.get("name") or "default"}
        days = f.get("expires_days")
        if days:
            if not days.isdigit() or not 0 < int(days) <= 3650:
                errors = {"expires_days": "Give a whole number of days from 1 to 3650."}
                return await show(p, 422, errors=errors)
            body["expires_at"] = (datetime.now(UTC) + timedelta(days=int(days))).isoformat()
        for limit in ("rpm_limit", "tpm_limit"):
            if f.get(limit):
                body[limit] = f.get(limit)
        result = await p.api.post(path("workspaces", p.param("ws"), "keys"), body)
        if not result.ok:
            errors = {("key_" + (result.field or "name")): result.message}
            return await show(p, result.status, errors=errors)
        return await show(p, 201, new_key=result.data)

    @page(ui)
    async def rotate_key(p: Page) -> Response:
        grace = p.form.get("grace_seconds") or "0"
        url = path("workspaces", p.param("ws"), "keys", p.param("key_id"), "rotate")
        result = await p.api.post(url, {"grace_seconds": grace})
        if not result.ok:
            return await show(p, result.status, notice="Rotation failed: " + result.message)
        return await show(p, 201, new_key={**result.data, "rotated": True})

    @page(ui)
    async def revoke_key(p: Page) -> Response:
        result = await p.api.delete(path("workspaces", p.param("ws"), "keys", p.param("key_id")))
        if not result.ok:
            return await show(p, result.status, notice="Revoking failed: " + result.message)
        return see_other(f"/ui/w/{p.param('ws')}/settings#keys")

    return {
        "settings": settings,
        "key_create": create_key,
        "key_rotate": rotate_key,
        "key_revoke": revoke_key,
    }


def _field_error(result: ApiResult) -> dict[str, str]:
    field = result.field or "form"
    if field == "token_context_window":
        field = "window"
    return {field: result.message}
