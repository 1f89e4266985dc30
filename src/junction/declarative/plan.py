"""What ``apply`` would change: the document compared with the router's current state.

Each resource the document names is brought to exactly what the document says (fields left out
take their defaults). Resources the document does not name are left alone unless ``prune``.
Secrets cannot be compared (the API never returns them): a provider's ``api_key`` and
``headers`` are sent when the provider is created or when whether they are set changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from junction.client import AdminClient
from junction.declarative.document import Document, WorkspaceSpec
from junction.schemas.providers import ProviderCreate

_PROVIDER_FIELDS = (
    "kind",
    "base_url",
    "connect_timeout",
    "read_timeout",
    "tls_verify",
    "max_concurrent",
    "tokenizer",
)
_WORKSPACE_FIELDS = (
    "token_context_window",
    "max_tokens",
    "rpm_limit",
    "tpm_limit",
    "monthly_token_budget",
    "judge_assistant",
)
_KEY_FIELDS = ("expires_at", "rpm_limit", "tpm_limit")
_MODEL_FIELDS = ("name", "context_length", "input_price", "output_price")


@dataclass
class Change:
    action: str  # create | update | delete | revoke
    what: str  # e.g. "assistant team/helper"
    method: str
    path: str
    body: dict[str, Any] | None = None
    diff: list[str] = field(default_factory=list)

    def describe(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-", "revoke": "-"}[self.action]
        head = f"{sign} {self.action} {self.what}"
        return "\n".join([head, *(f"    {line}" for line in self.diff)])


@dataclass
class State:
    providers: dict[str, dict[str, Any]]
    workspaces: dict[str, dict[str, Any]]
    keys: dict[str, list[dict[str, Any]]]
    assistants: dict[str, dict[str, dict[str, Any]]]


async def read_state(client: AdminClient) -> State:
    """Everything, in pages of a thousand across workspaces (not one request per workspace)."""
    providers = {p["name"]: p for p in await client.list("/providers")}
    workspaces = {w["name"]: w for w in await client.list("/workspaces")}
    keys: dict[str, list[dict[str, Any]]] = {ws: [] for ws in workspaces}
    for key in await client.list("/keys"):
        keys.setdefault(key.pop("workspace"), []).append(key)
    assistants: dict[str, dict[str, dict[str, Any]]] = {ws: {} for ws in workspaces}
    for assistant in await client.list("/assistants"):
        assistants.setdefault(assistant.pop("workspace"), {})[assistant["name"]] = assistant
    return State(providers, workspaces, keys, assistants)


def active_keys(keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest unrevoked key of each name (a rotated key's successor shares its name)."""
    found: dict[str, dict[str, Any]] = {}
    for key in sorted(keys, key=lambda k: str(k["created_at"])):
        if key.get("revoked_at") is None:
            found[key["name"]] = key
    return found


def _diff(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return [
        f"{name}: {current.get(name)!r} -> {value!r}"
        for name, value in wanted.items()
        if current.get(name) != value
    ]


def manual_models(provider: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: m.get(k) for k in _MODEL_FIELDS}
        for m in provider.get("models", [])
        if m.get("source") == "manual"
    ]


def _provider_body(spec: ProviderCreate) -> dict[str, Any]:
    body = spec.model_dump(mode="json", exclude={"api_key", "models"})
    body["models"] = [m.model_dump(mode="json") for m in spec.models] if spec.models else None
    if spec.api_key is not None:
        body["api_key"] = spec.api_key.get_secret_value()
    return body


def plan(doc: Document, state: State, prune: bool = False) -> list[Change]:
    changes: list[Change] = []
    for spec in doc.providers:
        changes += _plan_provider(spec, state.providers.get(spec.name))
    for ws in doc.workspaces:
        changes += _plan_workspace(ws, state)
    if prune:
        changes += _prune(doc, state)
    return changes


def _plan_provider(spec: ProviderCreate, current: dict[str, Any] | None) -> list[Change]:
    body = _provider_body(spec)
    if current is None:
        return [Change("create", f"provider {spec.name}", "POST", "/providers", body)]
    wanted = {k: body[k] for k in _PROVIDER_FIELDS}
    wanted_models = body["models"] or []
    patch = {k: v for k, v in wanted.items() if current.get(k) != v}
    diff = _diff(current, wanted)
    if manual_models(current) != wanted_models:
        patch["models"] = wanted_models
        diff.append(
            f"models (listed by hand): {len(manual_models(current))} -> "
            f"{len(wanted_models)} entries"
        )
    if (spec.api_key is not None) != current["has_api_key"]:
        patch["api_key"] = body.get("api_key")
        diff.append("api_key: " + ("set" if spec.api_key is not None else "removed"))
    if sorted(spec.headers) != sorted(current.get("header_names", [])):
        patch["headers"] = spec.headers
        diff.append(f"headers: {sorted(current.get('header_names', []))} -> {sorted(spec.headers)}")
    if not patch:
        return []
    return [
        Change("update", f"provider {spec.name}", "PATCH", f"/providers/{spec.name}", patch, diff)
    ]


def _plan_workspace(ws: WorkspaceSpec, state: State) -> list[Change]:
    changes: list[Change] = []
    settings = ws.model_dump(mode="json", include=set(_WORKSPACE_FIELDS))
    current = state.workspaces.get(ws.name)
    base = f"/workspaces/{ws.name}"
    if current is None:
        changes.append(
            Change(
                "create",
                f"workspace {ws.name}",
                "POST",
                "/workspaces",
                {"name": ws.name, **settings},
            )
        )
    elif diff := _diff(current, settings):
        patch = {k: v for k, v in settings.items() if current.get(k) != v}
        changes.append(Change("update", f"workspace {ws.name}", "PATCH", base, patch, diff))

    keys = active_keys(state.keys.get(ws.name, []))
    for key in ws.keys:
        wanted = key.model_dump(mode="json", include=set(_KEY_FIELDS))
        existing = keys.get(key.name)
        if existing is None:
            changes.append(
                Change(
                    "create",
                    f"key {ws.name}/{key.name}",
                    "POST",
                    f"{base}/keys",
                    key.model_dump(mode="json"),
                )
            )
            continue
        normalized = {**existing, "expires_at": _iso(existing.get("expires_at"))}
        if diff := _diff(normalized, {**wanted, "expires_at": _iso(wanted["expires_at"])}):
            changes.append(
                Change(
                    "update",
                    f"key {ws.name}/{key.name}",
                    "PATCH",
                    f"{base}/keys/{existing['id']}",
                    wanted,
                    diff,
                )
            )

    assistants = state.assistants.get(ws.name, {})
    for assistant in ws.assistants:
        wanted = assistant.model_dump(mode="json", exclude={"files"})
        existing = assistants.get(assistant.name)
        if existing is None:
            changes.append(
                Change(
                    "create",
                    f"assistant {ws.name}/{assistant.name}",
                    "POST",
                    f"{base}/assistants",
                    wanted,
                )
            )
        elif diff := _diff(existing, wanted):
            patch = {k: v for k, v in wanted.items() if existing.get(k) != v}
            changes.append(
                Change(
                    "update",
                    f"assistant {ws.name}/{assistant.name}",
                    "PATCH",
                    f"{base}/assistants/{assistant.name}",
                    patch,
                    diff,
                )
            )
    return changes


def _iso(value: object) -> str | None:
    """Timestamps compared as instants, whatever their textual form."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).isoformat()


def _prune(doc: Document, state: State) -> list[Change]:
    changes: list[Change] = []
    named = {w.name: w for w in doc.workspaces}
    for name in state.workspaces:
        if name not in named:
            changes.append(Change("delete", f"workspace {name}", "DELETE", f"/workspaces/{name}"))
            continue
        wanted_assistants = {a.name for a in named[name].assistants}
        for assistant in state.assistants.get(name, {}):
            if assistant not in wanted_assistants:
                changes.append(
                    Change(
                        "delete",
                        f"assistant {name}/{assistant}",
                        "DELETE",
                        f"/workspaces/{name}/assistants/{assistant}",
                    )
                )
        wanted_keys = {k.name for k in named[name].keys}
        for key in state.keys.get(name, []):
            if key.get("revoked_at") is None and key["name"] not in wanted_keys:
                changes.append(
                    Change(
                        "revoke",
                        f"key {name}/{key['name']} ({key['id']})",
                        "DELETE",
                        f"/workspaces/{name}/keys/{key['id']}",
                    )
                )
    wanted_providers = {p.name for p in doc.providers}
    for provider in state.providers:
        if provider not in wanted_providers:
            changes.append(
                Change("delete", f"provider {provider}", "DELETE", f"/providers/{provider}")
            )
    return changes
