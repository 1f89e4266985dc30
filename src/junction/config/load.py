"""Configuration rows into snapshot views: all of them at start-up (one query per table, only
the columns the views hold, views built by unpacking rows), or only the rows that the change
feed names (``apply_changes``: copy-on-write of the dictionaries those rows live in).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from junction.config.feed import Entry
from junction.config.snapshot import (
    DEFAULT_TERMS,
    DEFAULT_WORKSPACE,
    AssistantSettings,
    AssistantView,
    KeyTerms,
    KeyView,
    ProviderRuntime,
    Snapshot,
    WorkspaceSettings,
    WorkspaceView,
)
from junction.store.serving_db import Conn, Database, Sql


@dataclass(frozen=True, slots=True)
class ProviderRow:
    """A ``providers`` row, as the catalog turns it into a provider runtime."""

    name: str
    kind: str
    base_url: str
    api_key_encrypted: str | None
    connect_timeout: float | None
    read_timeout: float | None
    headers: dict[str, str] | None
    tls_verify: bool | None
    max_concurrent: int | None
    tokenizer: str
    models: list[dict[str, Any]] | None


RuntimeFor = Callable[[ProviderRow], ProviderRuntime]

# Column order = the view's field order. Values come as the driver gives them (JSON as text;
# a timestamp as a datetime on PostgreSQL, as text on SQLite): converted below in one step.
_PROVIDER = (
    "SELECT name, kind, base_url, api_key_encrypted, connect_timeout, read_timeout, headers, "
    "tls_verify, max_concurrent, tokenizer, models FROM providers"
)
_WORKSPACE = (
    "SELECT id, name, token_context_window, max_tokens, rpm_limit, tpm_limit, "
    "monthly_token_budget, judge_assistant, log_content FROM workspaces"
)
_KEY = (
    "SELECT key_hash, id, workspace_id, expires_at, revoked_at, rpm_limit, tpm_limit, "
    "rotated_from FROM api_keys"
)
_ASSISTANT = (
    "SELECT id, workspace_id, name, description, model, fallbacks, system_prompt, chat_history, "
    "temperature, quality_score, max_tokens, created_at, embedding_model, context_score, "
    "knowledge_version, disable_think FROM assistants"
)
_ALL_PROVIDERS = Sql(_PROVIDER)
_ALL_WORKSPACES = Sql(_WORKSPACE)
_ALL_KEYS = Sql(_KEY)
_ALL_ASSISTANTS_BY_WORKSPACE = Sql(f"{_ASSISTANT} ORDER BY workspace_id, name")
_PROVIDERS_NAMED = Sql(f"{_PROVIDER} WHERE name = ANY($1)")
_WORKSPACES_WITH_ID = Sql(f"{_WORKSPACE} WHERE id = ANY($1)")
_KEYS_WITH_HASH = Sql(f"{_KEY} WHERE key_hash = ANY($1)")
_ASSISTANTS_WITH_ID = Sql(f"{_ASSISTANT} WHERE id = ANY($1)")
_KEY_PARENTS = Sql("SELECT id, rotated_from FROM api_keys WHERE id = ANY($1)")
_WORKSPACE_OF_KEY = Sql("SELECT workspace_id FROM api_keys WHERE key_hash = $1")
_ASSISTANTS_OF_WORKSPACE = Sql("SELECT id FROM assistants WHERE workspace_id = $1")
_CHUNK = 5000  # values in one list parameter: statements of a bounded size
# Rows turned into views between two awaits of the full load: it runs while the router
# serves, so a part must cost the event loop a few milliseconds, not hundreds.
_PART = 1000


def _chunks(values: Collection[str]) -> Iterator[list[str]]:
    items = list(values)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _root(key_id: str, parents: dict[str, str]) -> str:
    """The first key of a rotation chain (``parents``: key id -> the key it was rotated from)."""
    seen = {key_id}
    while (parent := parents.get(key_id)) is not None and parent not in seen:
        seen.add(parent)
        key_id = parent
    return key_id


def _keys(
    rows: Any, workspace_ids: dict[str, str], same: dict[Any, Any] | None = None
) -> tuple[dict[bytes, KeyView], dict[bytes, tuple[str, str]]]:
    """Views by key digest, and the rotated ones: digest -> (id, rotated_from). ``same``: as
    for ``_assistant`` (terms repeat across keys)."""
    keys: dict[bytes, KeyView] = {}
    rotated: dict[bytes, tuple[str, str]] = {}
    if same is None:
        same = {}
    for key_hash, kid, ws, expires, revoked, rpm, tpm, parent in rows:
        digest = bytes.fromhex(key_hash)
        terms = DEFAULT_TERMS  # most keys: made (and compared) only for the others
        if expires is not None or revoked is not None or rpm is not None or tpm is not None:
            terms = KeyTerms(
                _timestamp(expires) if expires is not None else None, revoked is not None, rpm, tpm
            )
            terms = same.setdefault(terms, terms)
        keys[digest] = KeyView(kid, workspace_ids.get(ws, ws), terms)
        if parent is not None:
            rotated[digest] = (kid, parent)
    return keys, rotated


def _owned(view: KeyView, owner: str) -> KeyView:
    """A rotated key's view with the first key of its chain as owner."""
    if owner == view.id:
        return view
    terms = dataclasses.replace(view.terms, owner_id=owner)
    return KeyView(view.id, view.workspace_id, terms)


def _workspace(
    row: Any, same: dict[Any, Any] | None = None, was: WorkspaceView | None = None
) -> WorkspaceView:
    """``was``: the view it replaces, whose assistants it keeps."""
    wid, name, window, max_tokens, rpm, tpm, budget, judge, log_content = row
    settings = DEFAULT_WORKSPACE  # most workspaces: made (and compared) only for the others
    if log_content or any(v is not None for v in (window, max_tokens, rpm, tpm, budget, judge)):
        settings = WorkspaceSettings(window, max_tokens, rpm, tpm, budget, judge, bool(log_content))
        if same is not None:
            settings = same.setdefault(settings, settings)
    if was is None:
        return WorkspaceView(wid, name, settings)
    return WorkspaceView(wid, name, settings, was.roster_at, was.roster_rows)


def _timestamp(value: datetime | str) -> float:
    """Unix time of a stored UTC timestamp (naive ones, as SQLite keeps them, are UTC)."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _created(raw: datetime | str, same: dict[Any, Any]) -> int:
    """Unix seconds of a creation time, parsed once per distinct stored value."""
    value: int | None = same.get(("created", raw))
    if value is None:
        value = same[("created", raw)] = int(_timestamp(raw))
    return value


def _refs(value: Any) -> tuple[str, ...]:
    if value is None or value == "[]":
        return ()
    return tuple((orjson.loads(value) if isinstance(value, str | bytes) else value) or ())


def _assistant(
    row: Any, workspace_ids: dict[str, str], same: dict[Any, Any] | None = None
) -> AssistantView:
    """``same``: values seen before while loading, so that assistants sharing a name, a model
    list, a system prompt, a history mode or a creation second share one object (a catalog
    often repeats them; a timestamp is parsed once per distinct value)."""
    aid, ws, name, desc, model, fallbacks, prompt, history, temp, score, max_tokens, created = row[
        :12
    ]
    embedding_model, context_score, knowledge_version, disable_think = row[12:]
    if same is None:
        same = {}
    settings = AssistantSettings(
        same.setdefault(desc, desc),
        same.setdefault(("model", model), _refs(model)) if isinstance(model, str) else _refs(model),
        _refs(fallbacks),
        same.setdefault(prompt, prompt),
        same.setdefault(history, history),
        temp,
        score,
        max_tokens,
        embedding_model,
        context_score,
        knowledge_version or "",
        bool(disable_think) or history == "disable_think",
    )
    return AssistantView(
        aid,
        workspace_ids.get(ws, ws),
        same.setdefault(name, name),
        _created(created, same),
        same.setdefault(settings, settings),
    )


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _provider(row: Sequence[Any]) -> ProviderRow:
    name, kind, url, key, connect, read, headers, tls, concurrent, tokenizer, models = row
    tls_verify = None if tls is None else bool(tls)  # SQLite gives 0 and 1
    return ProviderRow(
        name, kind, url, key, connect, read, _json(headers), tls_verify, concurrent, tokenizer,
        _json(models),
    )  # fmt: skip


async def load_providers(conn: Conn, runtime_for: RuntimeFor) -> dict[str, ProviderRuntime]:
    return {row[0]: runtime_for(_provider(row)) for row in await conn.fetch(_ALL_PROVIDERS)}


async def load_all(db: Database, runtime_for: RuntimeFor) -> Snapshot:
    """Everything, each table read in parts of ``_PART`` as they are used: a large table is
    never held whole in memory besides the views made from it."""
    providers = await load_providers(db, runtime_for)
    same: dict[Any, Any] = {}
    workspaces: dict[str, WorkspaceView] = {}
    async for part in db.parts(_ALL_WORKSPACES, size=_PART):
        workspaces.update((row[0], _workspace(row, same)) for row in part)
    # One string per workspace id, shared by its keys and assistants.
    ids = {w: w for w in workspaces}
    keys: dict[bytes, KeyView] = {}
    rotated: dict[bytes, tuple[str, str]] = {}
    async for part in db.parts(_ALL_KEYS, size=_PART):
        found, moved = _keys(part, ids, same)
        keys.update(found)
        rotated.update(moved)
    if rotated:
        parents = dict(rotated.values())
        for digest, (kid, _) in rotated.items():
            keys[digest] = _owned(keys[digest], _root(kid, parents))
    # A workspace's assistants one after the other: each workspace takes them as soon as its
    # last row is in, from a few views at a time.
    names: dict[tuple[str, ...], dict[str, int]] = {}
    group: list[AssistantView] = []
    async for part in db.parts(_ALL_ASSISTANTS_BY_WORKSPACE, size=_PART):
        for row in part:
            view = _assistant(row, ids, same)
            if group and group[0].workspace_id != view.workspace_id:
                _hold(workspaces, group, names)
                group = []
            group.append(view)
    if group:
        _hold(workspaces, group, names)
    return Snapshot(providers, workspaces, keys)


def _hold(
    workspaces: dict[str, WorkspaceView],
    views: list[AssistantView],
    names: dict[tuple[str, ...], dict[str, int]] | None = None,
) -> None:
    """The workspace of ``views`` (all of one) replaced by one holding them."""
    owner = workspaces.get(views[0].workspace_id)
    if owner is not None:
        workspaces[owner.id] = owner.with_assistants(views, names)


async def workspace_of_key(
    conn: Conn,
    providers: dict[str, ProviderRuntime],
    digest: bytes,
    runtime_for: RuntimeFor,
) -> Snapshot | None:
    """A snapshot of only the workspace that the key with this digest belongs to (that key,
    the workspace, its assistants), read with indexed point reads; None when there is no such
    key. What serves a request while the full load is still running."""
    key_hash = digest.hex()
    workspace_id = await conn.value(_WORKSPACE_OF_KEY, key_hash)
    if workspace_id is None:
        return None
    found = await conn.fetch(_ASSISTANTS_OF_WORKSPACE, workspace_id)
    entries = [
        Entry(0, "workspace", workspace_id, None),
        Entry(0, "key", key_hash, workspace_id),
        *(Entry(0, "assistant", row[0], workspace_id) for row in found),
    ]
    part = await apply_changes(conn, Snapshot(providers=providers), entries, runtime_for)
    return part if digest in part.keys else None


async def _owners(conn: Conn, rotated: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Each rotated key's owner: its chain followed through the database, one query a link."""
    parents = dict(rotated)
    frontier = set(parents.values()) - parents.keys()
    while frontier:
        found: set[str] = set()
        for chunk in _chunks(frontier):
            for kid, parent in await conn.fetch(_KEY_PARENTS, chunk):
                if parent is not None and kid not in parents:
                    parents[kid] = parent
                    found.add(parent)
        frontier = found - parents.keys()
    return {kid: _root(kid, parents) for kid, _ in rotated}


async def apply_changes(
    conn: Conn, old: Snapshot, entries: Sequence[Entry], runtime_for: RuntimeFor
) -> Snapshot:
    """``old`` with the rows ``entries`` name re-read: a new snapshot sharing everything else."""
    refs: dict[str, dict[str, str | None]] = {}
    for e in entries:
        refs.setdefault(e.kind, {})[e.ref] = e.workspace_id
    providers, workspaces, keys = old.providers, old.workspaces, old.keys

    if names := refs.get("provider"):
        providers = dict(providers)
        for chunk in _chunks(names):
            rows = {r[0]: _provider(r) for r in await conn.fetch(_PROVIDERS_NAMED, chunk)}
            for name in chunk:
                if name in rows:
                    providers[name] = runtime_for(rows[name])
                else:
                    providers.pop(name, None)

    gone: set[str] = set()
    if ws_refs := refs.get("workspace"):
        workspaces = dict(workspaces)
        for chunk in _chunks(ws_refs):
            found_w = {
                row[0]: _workspace(row, was=workspaces.get(row[0]))
                for row in await conn.fetch(_WORKSPACES_WITH_ID, chunk)
            }
            for wid in chunk:
                if wid in found_w:
                    workspaces[wid] = found_w[wid]
                else:
                    gone.add(wid)
                    workspaces.pop(wid, None)
        if gone:  # their keys went with them (a workspace's deletion is the only such scan)
            keys = {h: k for h, k in keys.items() if k.workspace_id not in gone}

    # The workspace's own id string, shared by its keys and assistants (as at start-up).
    ids = {
        e.workspace_id: workspaces[e.workspace_id].id
        for e in entries
        if e.workspace_id in workspaces
    }
    if key_refs := refs.get("key"):
        keys = dict(keys) if keys is old.keys else keys
        for chunk in _chunks(key_refs):
            found, rotated = _keys(await conn.fetch(_KEYS_WITH_HASH, chunk), ids)
            owners = await _owners(conn, list(rotated.values())) if rotated else {}
            for key_hash in chunk:
                digest = bytes.fromhex(key_hash)
                view = found.get(digest)
                if view is None or view.workspace_id not in workspaces:
                    keys.pop(digest, None)
                elif digest in rotated:
                    keys[digest] = _owned(view, owners[view.id])
                else:
                    keys[digest] = view

    if asst_refs := refs.get("assistant"):
        workspaces = dict(workspaces) if workspaces is old.workspaces else workspaces
        found_a: dict[str, AssistantView] = {}
        for chunk in _chunks(asst_refs):
            rows_a = await conn.fetch(_ASSISTANTS_WITH_ID, chunk)
            found_a.update((row[0], _assistant(row, ids)) for row in rows_a)
        changed: dict[str, set[str]] = {}  # workspace id -> its assistants named
        for aid, ws in asst_refs.items():
            owner = ws or (found_a[aid].workspace_id if aid in found_a else None)
            if owner is not None and owner in workspaces:
                changed.setdefault(owner, set()).add(aid)
        for owner, aids in changed.items():
            # renamed or gone: out by id; then the rows as they are now
            views = [a for a in workspaces[owner].assistants.values() if a.id not in aids]
            views += (found_a[aid] for aid in aids if aid in found_a)
            views.sort(key=lambda a: a.name)
            workspaces[owner] = workspaces[owner].with_assistants(views)
    return Snapshot(providers, workspaces, keys)
