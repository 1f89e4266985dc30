"""Apply a plan, and export the current state as a document."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from junction.client import AdminClient
from junction.declarative.document import Document
from junction.declarative.files import FileChange, Files, export_files, plan_files, read_files
from junction.declarative.plan import Change, State, active_keys, manual_models, plan, read_state


@dataclass
class Applied:
    changes: list[Change]
    new_keys: dict[str, str] = field(default_factory=dict)  # "ws/name" -> key, shown once


BATCH_SIZE = 500  # operations per batch request (the router takes up to 1,000)


async def apply(
    client: AdminClient,
    doc: Document,
    prune: bool = False,
    dry_run: bool = False,
    base_dir: Path | None = None,
    batch_size: int = BATCH_SIZE,
) -> Applied:
    """Bring the router to ``doc``. Everything was validated before the first change; knowledge
    files (paths relative to ``base_dir``, the YAML file's folder) come after the assistants."""
    wanted_files = read_files(doc, base_dir or Path.cwd())
    state = await read_state(client)
    changes = plan(doc, state, prune)
    file_changes = await plan_files(client, doc, state, wanted_files, prune)
    result = Applied(changes + file_changes)
    if dry_run:
        return result
    # Providers first, one by one (assistants are checked against the providers the router
    # already serves); then workspaces, keys and assistants in batches of one transaction each;
    # deletions last, so that assistants move off a provider before it goes.
    provider = [c for c in changes if c.what.startswith("provider ")]
    rest = [c for c in changes if not c.what.startswith("provider ")]
    for group in (
        [c for c in provider if c.method != "DELETE"],
        [c for c in rest if c.method != "DELETE"],
        [c for c in rest if c.method == "DELETE"],
        [c for c in provider if c.method == "DELETE"],
    ):
        for i in range(0, len(group), batch_size):
            chunk = group[i : i + batch_size]
            answers = await _send(client, chunk)
            for change, answer in zip(chunk, answers, strict=True):
                if change.what.startswith("key ") and change.action == "create":
                    result.new_keys[change.what.removeprefix("key ")] = answer["key"]
    for change in file_changes:
        if isinstance(change, FileChange):
            await client.upload(change.path, change.filename, change.data)
        else:
            await client.request(change.method, change.path)
    return result


async def _send(client: AdminClient, changes: list[Change]) -> list[Any]:
    if len(changes) == 1:
        c = changes[0]
        return [await client.request(c.method, c.path, c.body)]
    operations = [{"method": c.method, "path": c.path, "body": c.body} for c in changes]
    answer = await client.post("/batch", {"operations": operations})
    data: list[Any] = answer["data"]
    return data


def _env_name(*parts: str) -> str:
    return "_".join(p.upper().replace("-", "_") for p in ("JUNCTION", *parts))


@dataclass
class Exported:
    document: Document
    files: Files  # the knowledge files the document names, by path relative to the YAML file


async def export(client: AdminClient, files_folder: str | None = "files") -> Exported:
    """The router's configuration as a document; secrets become ``${VAR}`` references. Each
    assistant's knowledge files are named ``<files_folder>/<ws>/<assistant>/<file name>`` and
    returned with their bytes (None: no files, and the document names none)."""
    state: State = await read_state(client)
    files: Files = {}
    providers: list[dict[str, Any]] = []
    for p in state.providers.values():
        entry: dict[str, Any] = {
            "name": p["name"],
            "kind": p["kind"],
            "base_url": p["base_url"],
            "connect_timeout": p["connect_timeout"],
            "read_timeout": p["read_timeout"],
            "tls_verify": p["tls_verify"],
            "max_concurrent": p["max_concurrent"],
            "tokenizer": p["tokenizer"],
            "headers": {
                h: "${" + _env_name(p["name"], "HEADER", h) + "}" for h in p["header_names"]
            },
            "models": manual_models(p) or None,
        }
        if p["has_api_key"]:
            entry["api_key"] = "${" + _env_name(p["name"], "API_KEY") + "}"
        providers.append(entry)
    workspaces = []
    for name, ws in state.workspaces.items():
        keys = [
            {
                "name": k["name"],
                "expires_at": k["expires_at"],
                "rpm_limit": k["rpm_limit"],
                "tpm_limit": k["tpm_limit"],
            }
            for k in active_keys(state.keys.get(name, [])).values()
        ]
        assistants: list[dict[str, Any]] = [
            {
                f: a[f]
                for f in (
                    "name",
                    "description",
                    "model",
                    "fallbacks",
                    "system_prompt",
                    "chat_history",
                    "disable_think",
                    "temperature",
                    "quality_score",
                    "max_tokens",
                    "embedding_model",
                    "context_score",
                )
            }
            for a in state.assistants.get(name, {}).values()
        ]
        if files_folder is not None:
            for assistant in assistants:
                found = await export_files(client, name, assistant["name"], files_folder)
                assistant["files"] = list(found)
                files.update(found)
        settings = {
            f: ws[f]
            for f in (
                "token_context_window",
                "max_tokens",
                "rpm_limit",
                "tpm_limit",
                "monthly_token_budget",
                "judge_assistant",
            )
        }
        workspaces.append({"name": name, **settings, "keys": keys, "assistants": assistants})
    document = Document.model_validate({"providers": providers, "workspaces": workspaces})
    return Exported(document, files)
