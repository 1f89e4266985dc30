"""``/admin/v1/providers`` and ``/admin/v1/models``: upstreams and the models they serve."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select

from junction.admin.deps import Admin, Session, provider_by_name, save
from junction.admin.paging import MAX_LIMIT, Limit, Search, decode, encode, name_like, page
from junction.config.catalog import Catalog
from junction.errors import Conflict, JunctionError, ValidationFailed
from junction.providers.base import DiscoveredModel
from junction.providers.registry import provider_class, provider_kinds
from junction.runtime import Runtime
from junction.schemas.common import ListOf
from junction.schemas.providers import (
    CatalogModel,
    ModelSpec,
    ProviderCreate,
    ProviderModelPublic,
    ProviderPublic,
    ProviderUpdate,
)
from junction.security.secrets import new_id
from junction.store import models as m
from junction.store.models import utcnow

router = APIRouter(tags=["providers"])


def _check_kind(kind: str) -> None:
    if kind not in provider_kinds():
        known = ", ".join(sorted(provider_kinds()))
        raise ValidationFailed(
            f"kind: unknown provider kind '{kind}' (known: {known})", param="kind"
        )


def public(row: m.Provider) -> ProviderPublic:
    return ProviderPublic(
        name=row.name,
        kind=row.kind,
        base_url=row.base_url,
        has_api_key=row.api_key_encrypted is not None,
        connect_timeout=row.connect_timeout,
        read_timeout=row.read_timeout,
        header_names=sorted(row.headers or {}),
        tls_verify=row.tls_verify is not False,
        max_concurrent=row.max_concurrent,
        tokenizer=row.tokenizer,
        models=[ProviderModelPublic(**entry) for entry in row.models or []],
        discovered_at=row.discovered_at,
        discovery_error=row.discovery_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _with_health(rt: Runtime, provider: ProviderPublic) -> ProviderPublic:
    """This process's view of the provider: status, mean latency, last error, per deployment."""
    provider.health = rt.router.health.provider_health(provider.name)
    return provider


def _manual(models: list[ModelSpec]) -> list[dict[str, Any]]:
    return [{**spec.model_dump(), "source": "manual"} for spec in models]


def merge_models(
    current: list[dict[str, Any]], discovered: list[DiscoveredModel]
) -> list[dict[str, Any]]:
    """Hand-listed models stay (gaining a context length they lack); discovered ones refresh."""
    manual = {e["name"]: dict(e) for e in current if e.get("source") == "manual"}
    merged = list(manual.values())
    for model in discovered:
        if model.name in manual:
            entry = manual[model.name]
            if entry.get("context_length") is None:
                entry["context_length"] = model.context_length
            continue
        merged.append(
            {
                "name": model.name,
                "context_length": model.context_length,
                "input_price": None,
                "output_price": None,
                "source": "discovered",
            }
        )
    return merged


async def discover(catalog: Catalog, row: m.Provider, seconds: float) -> None:
    """Ask the upstream for its models; a failure is recorded on the row, not raised."""
    client = provider_class(row.kind)(catalog.provider_config(row))
    try:
        async with asyncio.timeout(seconds):
            found = await client.list_models()
    except (JunctionError, TimeoutError) as exc:
        message = exc.operator_message if isinstance(exc, JunctionError) else "timed out"
        row.discovery_error = message
    else:
        row.models = merge_models(row.models or [], found)
        row.discovery_error = None
        row.discovered_at = utcnow()
    finally:
        await client.close()


@router.get("/providers")
async def list_providers(
    rt: Admin,
    s: Session,
    search: Search = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> ListOf[ProviderPublic]:
    """By name; ``search`` keeps names containing it; ``next_cursor`` pages on."""
    query = select(m.Provider)
    if search:
        query = query.where(name_like(m.Provider.name, search))
    rows, next_cursor = await page(s, query, [m.Provider.name], limit, cursor, lambda r: [r.name])
    return ListOf[ProviderPublic](
        data=[_with_health(rt, public(r)) for r in rows], next_cursor=next_cursor
    )


@router.post("/providers", status_code=201)
async def create_provider(body: ProviderCreate, rt: Admin, s: Session) -> ProviderPublic:
    _check_kind(body.kind)
    row = m.Provider(
        id=new_id("prov"),
        name=body.name,
        kind=body.kind,
        base_url=body.base_url,
        api_key_encrypted=rt.box.encrypt(body.api_key.get_secret_value()) if body.api_key else None,
        connect_timeout=body.connect_timeout,
        read_timeout=body.read_timeout,
        headers=body.headers,
        tls_verify=body.tls_verify,
        max_concurrent=body.max_concurrent,
        tokenizer=body.tokenizer,
        models=_manual(body.models or []),
    )
    if body.models is None:
        await discover(rt.catalog, row, rt.settings.discovery_timeout)
    s.add(row)
    await save(rt, s)
    return public(row)


@router.get("/providers/{name}")
async def get_provider(name: str, rt: Admin, s: Session) -> ProviderPublic:
    return _with_health(rt, public(await provider_by_name(s, name)))


@router.patch("/providers/{name}")
async def update_provider(name: str, body: ProviderUpdate, rt: Admin, s: Session) -> ProviderPublic:
    row = await provider_by_name(s, name)
    changes = body.model_dump(exclude_unset=True)
    if "kind" in changes:
        _check_kind(body.kind or "")
    if "api_key" in changes:
        secret = body.api_key.get_secret_value() if body.api_key else None
        row.api_key_encrypted = rt.box.encrypt(secret) if secret else None
    nullable = ("connect_timeout", "read_timeout", "max_concurrent")
    for field in ("kind", "base_url", "headers", "tls_verify", "tokenizer", *nullable):
        if field in changes and (changes[field] is not None or field in nullable):
            setattr(row, field, changes[field])
    if body.models is not None:
        discovered = [e for e in row.models or [] if e.get("source") == "discovered"]
        row.models = _manual(body.models) + [
            e for e in discovered if e["name"] not in {s.name for s in body.models}
        ]
    await save(rt, s)
    rt.router.health.forget(name)  # new settings: old failures (and cooldowns) do not apply
    return _with_health(rt, public(row))


@router.post("/providers/{name}/refresh")
async def refresh_provider(name: str, rt: Admin, s: Session) -> ProviderPublic:
    """Discover the provider's models again (the admin UI's "refresh" button)."""
    row = await provider_by_name(s, name)
    await discover(rt.catalog, row, rt.settings.discovery_timeout)
    await save(rt, s)
    return public(row)


@router.delete("/providers/{name}", status_code=204)
async def delete_provider(name: str, rt: Admin, s: Session) -> Response:
    row = await provider_by_name(s, name)
    users = [
        a.name
        for a in (await s.scalars(select(m.Assistant))).all()
        if any(ref.partition("/")[0] == name for ref in [*a.model, *a.fallbacks])
    ]
    if users:
        raise Conflict(
            f"Provider '{name}' is used by assistants: {', '.join(sorted(users)[:20])}. "
            "Point them at another model first.",
            param="name",
        )
    await s.delete(row)
    await save(rt, s)
    rt.router.health.forget(name)
    return Response(status_code=204)


@router.get("/models")
async def list_catalog_models(
    rt: Admin, search: Search = None, limit: Limit = MAX_LIMIT, cursor: str | None = None
) -> ListOf[CatalogModel]:
    """Every ``<provider>/<model>`` with its context length: the assistant form's dropdown.
    ``search`` keeps ids containing it; ``next_cursor`` pages on."""
    found = [
        CatalogModel(
            id=f"{name}/{model.name}",
            provider=name,
            kind=runtime.config.kind,
            name=model.name,
            context_length=model.context_length,
            input_price=model.input_price,
            output_price=model.output_price,
        )
        for name, runtime in sorted(rt.catalog.snapshot.providers.items())
        for model in runtime.models.values()
        if not search or search.lower() in f"{name}/{model.name}".lower()
    ]
    start = 0
    if cursor:
        last = decode(cursor, [m.Provider.name])[0]
        start = next((i + 1 for i, item in enumerate(found) if item.id == last), len(found))
    data = found[start : start + limit]
    more = start + limit < len(found)
    return ListOf[CatalogModel](data=data, next_cursor=encode([data[-1].id]) if more else None)
