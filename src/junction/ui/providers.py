"""Providers: add an endpoint, refresh its models, see health, delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from junction.providers.registry import provider_kinds
from junction.ui.api import ApiResult, path
from junction.ui.web import Page, Ui, page, see_other

KIND_LABELS = {
    "openai": "OpenAI-compatible (vLLM, llama.cpp, LM Studio, DeepSeek, OpenAI…)",
    "ollama": "Ollama (native API)",
    "anthropic": "Anthropic (Messages API)",
}
TOKENIZER_LABELS = {
    "tiktoken": "tiktoken, in the router",
    "vllm": "vLLM's /tokenize",
    "llama.cpp": "llama.cpp's /tokenize",
}
BASE_URL_HINTS = {
    "openai": "http://127.0.0.1:8000/v1",
    "ollama": "http://127.0.0.1:11434",
    "anthropic": "https://api.anthropic.com",
}


def kinds() -> list[tuple[str, str]]:
    """The spec's three kinds first, then any other kind this router has a module for."""
    names = list(KIND_LABELS) + sorted(set(provider_kinds()) - set(KIND_LABELS))
    return [(n, KIND_LABELS.get(n, n)) for n in names]


def _time(value: object) -> str | None:
    """A health timestamp (unix seconds or ISO text) as UTC text."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def health_view(provider: dict[str, Any]) -> dict[str, Any] | None:
    """The provider's ``health`` as the API reports it (absent on routers without it)."""
    health = provider.get("health")
    if not isinstance(health, dict):
        return None
    deployments = [d for d in health.get("deployments") or [] if isinstance(d, dict)]
    return {
        "status": str(health.get("status") or "unknown"),
        "latency_ms": health.get("latency_ms"),
        "last_error": health.get("last_error"),
        "last_error_at": _time(health.get("last_error_at")),
        "deployments": [{**d, "last_error_at": _time(d.get("last_error_at"))} for d in deployments],
    }


def provider_routes(ui: Ui) -> dict[str, object]:
    async def listing(
        p: Page, status: int = 200, *, error: ApiResult | None = None, **extra: Any
    ) -> Response:
        found = await p.api.get(path("providers"))
        providers = [{**pr, "health_view": health_view(pr)} for pr in found.items()]
        return p.render(
            "providers.html",
            status,
            providers=providers,
            kinds=kinds(),
            hints=BASE_URL_HINTS,
            tokenizers=TOKENIZER_LABELS,
            errors={(error.field or "form"): error.message} if error else {},
            values=extra.pop("values", {"kind": "openai"}),
            notice=extra.pop("notice", ""),
        )

    @page(ui)
    async def index(p: Page) -> Response:
        if not p.writing:
            return await listing(p, notice=p.request.query_params.get("notice", ""))
        f = p.form
        values = {k: f.get(k) for k in ("name", "kind", "base_url")}
        values["tokenizer"] = f.get("tokenizer") or "tiktoken"
        body: dict[str, Any] = dict(values)
        if f.get("api_key"):
            body["api_key"] = f.get("api_key")
        result = await p.api.post(path("providers"), body)
        if not result.ok:
            return await listing(p, result.status, error=result, values=values)
        created = result.data
        notice = f"Provider {created['name']} added with {len(created['models'])} models."
        if created.get("discovery_error"):
            notice = (
                f"Provider {created['name']} added, but its models could not be listed: "
                f"{created['discovery_error']}"
            )
        return await listing(p, 201, notice=notice)

    @page(ui)
    async def refresh(p: Page) -> Response:
        name = p.param("name")
        result = await p.api.post(path("providers", name, "refresh"))
        if not result.ok:
            return await listing(p, result.status, notice="Refresh failed: " + result.message)
        error = result.data.get("discovery_error")
        count = len(result.data.get("models", []))
        notice = f"{name}: {count} models." + (f" Last error: {error}" if error else "")
        return await listing(p, notice=notice)

    @page(ui)
    async def delete(p: Page) -> Response:
        name = p.param("name")
        if not p.writing:
            return p.render(
                "confirm.html",
                title=f"Delete provider {name}?",
                lines=[
                    f"Its models leave the catalog: assistants can no longer name '{name}/…'.",
                    "The router refuses while an assistant still uses it.",
                ],
                action=f"/ui/providers/{name}/delete",
                button=f"Delete provider {name}",
                back="/ui/providers",
            )
        result = await p.api.delete(path("providers", name))
        if not result.ok:
            return await listing(p, result.status, notice=result.message)
        return see_other("/ui/providers?notice=" + quote(f"Provider {name} deleted."))

    return {"providers": index, "provider_refresh": refresh, "provider_delete": delete}
