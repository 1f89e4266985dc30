"""Knowledge files in the YAML document: an assistant's ``files`` are paths relative to the
YAML file. ``apply`` uploads a file that the assistant lacks or whose content changed (by
SHA-256; the old version is then deleted), and with ``--prune`` deletes the files the document
does not name. ``export`` downloads each assistant's files and names them
``<folder>/<workspace>/<assistant>/<file name>``, for the caller to write beside the YAML."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from junction.client import AdminClient
from junction.declarative.document import Document, DocumentError
from junction.declarative.plan import Change, State

Files = dict[str, bytes]  # a path relative to the YAML file -> the file's bytes


@dataclass
class FileChange(Change):
    filename: str = ""
    data: bytes = b""


def read_files(doc: Document, base_dir: Path) -> dict[tuple[str, str], dict[str, bytes]]:
    """Every named file's bytes by (workspace, assistant) and file name; a missing or
    unreadable file, or two of one name, stops everything before the first change."""
    found: dict[tuple[str, str], dict[str, bytes]] = {}
    for ws in doc.workspaces:
        for assistant in ws.assistants:
            files: dict[str, bytes] = {}
            for entry in assistant.files:
                path = (base_dir / entry).resolve()
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    raise DocumentError(
                        f"workspaces.{ws.name}.assistants.{assistant.name}.files: cannot read "
                        f"{entry} ({path}): {exc.strerror}"
                    ) from None
                if path.name in files:
                    raise DocumentError(
                        f"workspaces.{ws.name}.assistants.{assistant.name}.files: two files are "
                        f"named {path.name}"
                    )
                files[path.name] = data
            found[(ws.name, assistant.name)] = files
    return found


async def plan_files(
    client: AdminClient,
    doc: Document,
    state: State,
    wanted: dict[tuple[str, str], dict[str, bytes]],
    prune: bool,
) -> list[Change]:
    changes: list[Change] = []
    for ws in doc.workspaces:
        for assistant in ws.assistants:
            files = wanted.get((ws.name, assistant.name), {})
            base = f"/workspaces/{ws.name}/assistants/{assistant.name}/files"
            exists = assistant.name in state.assistants.get(ws.name, {})
            current = await client.list(base) if exists else []
            by_name: dict[str, list[dict[str, str]]] = {}
            for f in current:
                by_name.setdefault(f["filename"], []).append(f)
            what = f"file {ws.name}/{assistant.name}/"
            for name, data in files.items():
                digest = hashlib.sha256(data).hexdigest()
                same = [f for f in by_name.get(name, []) if f.get("sha256") == digest]
                stale = [f for f in by_name.get(name, []) if f.get("sha256") != digest]
                if not same:
                    action = "update" if stale else "create"
                    diff = [f"sha256: {stale[0].get('sha256')} -> {digest}"] if stale else []
                    changes.append(
                        FileChange(action, what + name, "UPLOAD", base, None, diff, name, data)
                    )
                for f in stale:
                    changes.append(Change("delete", what + name, "DELETE", f"{base}/{f['id']}"))
            if prune:
                for name, entries in by_name.items():
                    if name not in files:
                        changes += [
                            Change("delete", what + name, "DELETE", f"{base}/{f['id']}")
                            for f in entries
                        ]
    return changes


async def export_files(client: AdminClient, ws: str, assistant: str, folder: str) -> Files:
    """The assistant's files by the path the document names them with. Of two files of one
    name (uploaded twice through the API), the newest: ``apply`` keeps one file per name."""
    base = f"/workspaces/{ws}/assistants/{assistant}/files"
    newest: dict[str, dict[str, str]] = {}
    for f in await client.list(base):
        seen = newest.get(f["filename"])
        if seen is None or f["created_at"] > seen["created_at"]:
            newest[f["filename"]] = f
    return {
        f"{folder}/{ws}/{assistant}/{name}": await client.download(f"{base}/{f['id']}/content")
        for name, f in sorted(newest.items())
    }
