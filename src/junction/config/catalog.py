"""Loads the configuration snapshot (``snapshot.py``) from the database.

The data plane never touches the database: it reads an immutable ``Snapshot``, which an admin
write replaces as a whole (``Catalog.reload``) once its transaction has committed. Provider
runtimes (and their pooled HTTP sessions) survive a reload when their settings did not change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from junction.config.snapshot import (
    AssistantView,
    KeyView,
    ModelInfo,
    ProviderRuntime,
    Snapshot,
    WorkspaceView,
)
from junction.providers.base import Provider, ProviderConfig, UpstreamLimits
from junction.providers.registry import provider_class
from junction.security.secrets import SecretBox
from junction.settings import Settings
from junction.store import models as m

log = logging.getLogger(__name__)

RETIRED_PROVIDER_GRACE_SECONDS = 900.0


class Catalog:
    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], box: SecretBox
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._box = box
        self._lock = asyncio.Lock()
        self._retired: list[tuple[float, Provider]] = []
        self._closing: set[asyncio.Task[None]] = set()
        self.snapshot = Snapshot()
        self._limits = UpstreamLimits(
            settings.upstream_max_body_bytes,
            settings.upstream_max_error_bytes,
            settings.upstream_max_line_bytes,
        )

    async def reload(self) -> None:
        async with self._lock, self._sessions() as session:
            snapshot = await self._load(session)
            self._retire_replaced(snapshot)
            self.snapshot = snapshot

    async def close(self) -> None:
        clients = [p.client for p in self.snapshot.providers.values()]
        clients += [p for _, p in self._retired]
        self.snapshot = Snapshot()
        self._retired = []
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

    def provider_config(self, row: m.Provider) -> ProviderConfig:
        return ProviderConfig(
            name=row.name,
            kind=row.kind,
            base_url=row.base_url,
            api_key=self._box.decrypt(row.api_key_encrypted) if row.api_key_encrypted else None,
            connect_timeout=row.connect_timeout or self._settings.default_connect_timeout,
            read_timeout=row.read_timeout or self._settings.default_read_timeout,
            headers=dict(row.headers or {}),
            tls_verify=row.tls_verify is not False,
            max_concurrent=row.max_concurrent,
            tokenizer=row.tokenizer,
            limits=self._limits,
        )

    async def _load(self, session: AsyncSession) -> Snapshot:
        old = self.snapshot.providers
        providers: dict[str, ProviderRuntime] = {}
        for row in (await session.scalars(select(m.Provider))).all():
            config = self.provider_config(row)
            previous = old.get(row.name)
            if previous is not None and previous.config.fingerprint() == config.fingerprint():
                client = previous.client
            else:
                client = provider_class(config.kind)(config)
            providers[row.name] = ProviderRuntime(config, client, _models(row.models))

        workspaces = {
            w.id: WorkspaceView(
                w.id,
                w.name,
                w.token_context_window,
                w.max_tokens,
                w.rpm_limit,
                w.tpm_limit,
                w.monthly_token_budget,
                w.judge_assistant,
                log_content=w.log_content,
            )
            for w in (await session.scalars(select(m.Workspace))).all()
        }
        key_rows = (await session.scalars(select(m.ApiKey))).all()
        keys = {
            k.key_hash: KeyView(
                k.id,
                k.workspace_id,
                k.name,
                k.expires_at.timestamp() if k.expires_at else None,
                k.revoked_at is not None,
                k.rpm_limit,
                k.tpm_limit,
            )
            for k in key_rows
        }
        keys = _with_owners(keys, {k.id: k.rotated_from for k in key_rows})
        assistants: dict[str, dict[str, AssistantView]] = {ws: {} for ws in workspaces}
        for a in (await session.scalars(select(m.Assistant))).all():
            assistants.setdefault(a.workspace_id, {})[a.name] = AssistantView(
                a.id,
                a.workspace_id,
                a.name,
                a.description,
                tuple(a.model),
                tuple(a.fallbacks or ()),
                a.system_prompt,
                a.chat_history,
                a.temperature,
                a.quality_score,
                a.max_tokens,
                int(a.created_at.timestamp()),
            )
        return Snapshot(providers, workspaces, keys, assistants)

    def _retire_replaced(self, new: Snapshot) -> None:
        """Close replaced sessions later, once requests still using them have finished."""
        now = time.monotonic()
        kept = {id(p.client) for p in new.providers.values()}
        for runtime in self.snapshot.providers.values():
            if id(runtime.client) not in kept:
                self._retired.append((now, runtime.client))
        due = [p for t, p in self._retired if now - t > RETIRED_PROVIDER_GRACE_SECONDS]
        self._retired = [
            (t, p) for t, p in self._retired if now - t <= RETIRED_PROVIDER_GRACE_SECONDS
        ]
        for client in due:
            task = asyncio.get_running_loop().create_task(client.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


def _with_owners(keys: dict[str, KeyView], parents: dict[str, str | None]) -> dict[str, KeyView]:
    """Each key's ``owner_id``: the key its rotation chain started from."""

    def root(key_id: str) -> str:
        seen = {key_id}
        while (parent := parents.get(key_id)) and parent in parents and parent not in seen:
            seen.add(parent)
            key_id = parent
        return key_id

    return {h: dataclasses.replace(k, owner_id=root(k.id)) for h, k in keys.items()}


def _models(entries: list[dict[str, Any]] | None) -> dict[str, ModelInfo]:
    return {
        e["name"]: ModelInfo(
            e["name"], e.get("context_length"), e.get("input_price"), e.get("output_price")
        )
        for e in entries or []
        if isinstance(e, dict) and isinstance(e.get("name"), str)
    }
