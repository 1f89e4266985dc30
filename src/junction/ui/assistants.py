"""AI → Assistants: list, New, edit, delete, and on its page the knowledge files (``knowledge``).
The API validates; its errors sit by their field."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from junction.knowledge.kinds import KINDS
from junction.ui.api import AdminApi, ApiResult, path
from junction.ui.paging import list_page
from junction.ui.web import Form, Page, Ui, page, see_other

CHAT_HISTORY = [
    ("on", "On", "Keep the conversation and send it with each request."),
    ("off", "Off", "Every request stands alone; nothing is stored."),
]
DISABLE_THINK_HELP = (
    "Switch the model's thinking off and strip reasoning from answers, with chat history on or off."
)
EMPTY = {
    "name": "",
    "description": "",
    "model": [],
    "fallbacks": [],
    "system_prompt": "",
    "chat_history": "off",
    "disable_think": False,
    "temperature": "",
    "quality_score": 0,
    "max_tokens": "",
    "embedding_model": "",
    "context_score": 65,
}


async def model_choices(api: AdminApi, *keep: str) -> list[dict[str, Any]]:
    """The discovered models, plus any the assistant names that the catalog no longer lists."""
    models = (await api.get(path("models"))).items()
    known = {m["id"] for m in models}
    missing = [{"id": ref, "provider": ref.partition("/")[0], "missing": True} for ref in keep]
    return models + [m for m in missing if m["id"] not in known]


def body_from(form: Form, *, update: bool) -> dict[str, Any]:
    """The form as an API body; empty optional fields become null (update) or are left out."""
    model = [m for m in [form.get("model"), *form.getlist("pool")] if m]
    body: dict[str, Any] = {
        "name": form.get("name"),
        "description": form.get("description"),
        "model": model,
        "fallbacks": form.getlist("fallbacks"),
        "system_prompt": form.get("system_prompt"),
        "chat_history": form.get("chat_history") or "off",
        "disable_think": form.get("disable_think") == "on",
        "quality_score": form.get("quality_score") or "0",
        "context_score": form.get("context_score") or "65",
    }
    if form.get("embedding_model") or update:
        body["embedding_model"] = form.get("embedding_model") or None
    for name in ("temperature", "max_tokens"):
        value = form.get(name)
        if value or update:
            body[name] = value or None
    return body


def _values(form: Form) -> dict[str, Any]:
    body = body_from(form, update=True)
    return {
        **body,
        "temperature": form.get("temperature"),
        "max_tokens": form.get("max_tokens"),
        "embedding_model": form.get("embedding_model") or "",
    }


def assistant_routes(ui: Ui) -> dict[str, object]:
    async def editor(
        p: Page,
        values: dict[str, Any],
        *,
        original: str | None,
        error: ApiResult | None = None,
    ) -> Response:
        keep = [*values.get("model", []), *values.get("fallbacks", [])]
        if values.get("embedding_model"):
            keep.append(values["embedding_model"])
        errors = {(error.field or "form"): error.message} if error else {}
        files: list[dict[str, Any]] = []
        if original:
            url = path("workspaces", p.param("ws"), "assistants", original, "files")
            files = (await p.api.get(url)).items()
        return p.render(
            "assistant_form.html",
            error.status if error else 200,
            ws=p.param("ws"),
            a=values,
            original=original,
            models=await model_choices(p.api, *keep),
            chat_history=CHAT_HISTORY,
            disable_think_help=DISABLE_THINK_HELP,
            errors=errors,
            files=files,
            accept=",".join(sorted(KINDS)),
        )

    @page(ui)
    async def listing(p: Page) -> Response:
        ws = p.param("ws")
        if p.writing:
            result = await p.api.post(
                path("workspaces", ws, "assistants"), body_from(p.form, update=False)
            )
            if not result.ok:
                return await editor(p, _values(p.form), original=None, error=result)
            return see_other(f"/ui/w/{ws}/assistants?saved={result.data['name']}")
        found = await list_page(p, path("workspaces", ws, "assistants"))
        if not found.result.ok:
            return p.render("error.html", found.result.status, message=found.result.message)
        return p.render(
            "assistants.html",
            ws=ws,
            assistants=found.items,
            listing=found,
            saved=p.request.query_params.get("saved", ""),
            deleted=p.request.query_params.get("deleted", ""),
        )

    @page(ui)
    async def new(p: Page) -> Response:
        return await editor(p, dict(EMPTY), original=None)

    @page(ui)
    async def edit(p: Page) -> Response:
        ws, name = p.param("ws"), p.param("name")
        url = path("workspaces", ws, "assistants", name)
        if p.writing:
            result = await p.api.patch(url, body_from(p.form, update=True))
            if not result.ok:
                return await editor(p, _values(p.form), original=name, error=result)
            return see_other(f"/ui/w/{ws}/assistants?saved={result.data['name']}")
        found = await p.api.get(url)
        if not found.ok:
            return p.render("error.html", found.status, message=found.message)
        values = {**found.data}
        for field in ("temperature", "max_tokens", "embedding_model"):
            values[field] = "" if values.get(field) is None else values[field]
        return await editor(p, values, original=name)

    @page(ui)
    async def delete(p: Page) -> Response:
        ws, name = p.param("ws"), p.param("name")
        if not p.writing:
            return p.render(
                "confirm.html",
                title=f"Delete assistant {name}?",
                lines=[
                    f"Clients that call model '{name}' in workspace {ws} will get "
                    "404 model_not_found from now on.",
                    "Its settings (model, fallbacks, system prompt, limits) are removed; "
                    "logs of past requests stay.",
                ],
                action=f"/ui/w/{ws}/assistants/{name}/delete",
                button=f"Delete assistant {name}",
                back=f"/ui/w/{ws}/assistants",
            )
        result = await p.api.delete(path("workspaces", ws, "assistants", name))
        if not result.ok:
            return p.render("error.html", result.status, message=result.message)
        return see_other(f"/ui/w/{ws}/assistants?deleted={name}")

    return {
        "assistants": listing,
        "assistant_new": new,
        "assistant_edit": edit,
        "assistant_delete": delete,
    }
