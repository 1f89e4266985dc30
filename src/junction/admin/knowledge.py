"""``/admin/v1/workspaces/{ws}/assistants/{name}/files``: an assistant's knowledge files.

An upload is checked (type, size, the assistant's limits) and stored at once with status
``processing``; the background worker (``knowledge.ingest``) reads, chunks and embeds it.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePath, PureWindowsPath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Response, UploadFile
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from junction.admin.deps import Admin, Session, save, workspace_by_name
from junction.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from junction.knowledge.files import bump, reembed_all
from junction.knowledge.kinds import accepted, kind_of
from junction.schemas.common import ListOf
from junction.schemas.knowledge import KnowledgeFilePublic
from junction.security.secrets import new_id
from junction.store import models as m
from junction.store.knowledge import KnowledgeFile

router = APIRouter(tags=["knowledge"])

READ_BLOCK = 1024 * 1024


async def _assistant(s: AsyncSession, ws: str, name: str) -> m.Assistant:
    workspace = await workspace_by_name(s, ws)
    row = await s.scalar(
        select(m.Assistant).where(
            m.Assistant.workspace_id == workspace.id, m.Assistant.name == name
        )
    )
    if row is None:
        raise NotFound(f"No assistant named '{name}' in this workspace.", param="name")
    return row


async def _file(s: AsyncSession, assistant: m.Assistant, file_id: str) -> KnowledgeFile:
    row = await s.scalar(
        select(KnowledgeFile).where(
            KnowledgeFile.id == file_id, KnowledgeFile.assistant_id == assistant.id
        )
    )
    if row is None:
        raise NotFound(f"No file '{file_id}' on assistant '{assistant.name}'.", param="id")
    return row


def clean_filename(raw: str | None) -> str:
    """The file's own name, without any directory a client sent along."""
    name = PureWindowsPath(PurePath(raw or "").name).name.strip()
    return name[:512]


async def knowledge_model_changed(s: AsyncSession, row: m.Assistant, new: str | None) -> None:
    """Within an assistant update: a new embedding model re-embeds every file; none at all is
    refused while the assistant has files."""
    count = await s.scalar(
        select(func.count()).select_from(KnowledgeFile).where(KnowledgeFile.assistant_id == row.id)
    )
    if not count:
        return
    if new is None:
        raise ValidationFailed(
            f"embedding_model: the assistant has {count} knowledge file(s); it needs an "
            "embedding model while it has files (delete them first)",
            param="embedding_model",
        )
    await reembed_all(s, row.id)


@router.get("/workspaces/{ws}/assistants/{name}/files")
async def list_files(ws: str, name: str, rt: Admin, s: Session) -> ListOf[KnowledgeFilePublic]:
    assistant = await _assistant(s, ws, name)
    rows = await s.scalars(
        select(KnowledgeFile)
        .where(KnowledgeFile.assistant_id == assistant.id)
        .order_by(KnowledgeFile.created_at, KnowledgeFile.id)
    )
    return ListOf[KnowledgeFilePublic](data=[KnowledgeFilePublic.model_validate(r) for r in rows])


@router.post("/workspaces/{ws}/assistants/{name}/files", status_code=201)
async def upload_file(
    ws: str, name: str, rt: Admin, s: Session, file: Annotated[UploadFile, File()]
) -> KnowledgeFilePublic:
    settings = rt.settings
    assistant = await _assistant(s, ws, name)
    filename = clean_filename(file.filename)
    if not filename:
        raise ValidationFailed("file: the upload has no file name", param="file")
    kind = kind_of(filename)
    if kind is None:
        raise UnsupportedMediaType(
            f"'{filename}' is not a file type knowledge can read; accepted: {accepted()}",
            param="file",
        )
    if not assistant.embedding_model:
        raise ValidationFailed(
            f"assistant '{name}' has no embedding_model; set one before uploading files",
            param="embedding_model",
        )
    data = await _read_capped(file, settings.knowledge_max_file_bytes)
    if not data:
        raise ValidationFailed(f"file: '{filename}' is empty", param="file")
    count, total = (
        await s.execute(
            select(func.count(), func.coalesce(func.sum(KnowledgeFile.bytes), 0)).where(
                KnowledgeFile.assistant_id == assistant.id
            )
        )
    ).one()
    if count >= settings.knowledge_max_files:
        raise ValidationFailed(
            f"assistant '{name}' already has {count} files, the limit "
            f"(knowledge_max_files = {settings.knowledge_max_files})",
            param="file",
        )
    if total + len(data) > settings.knowledge_max_assistant_bytes:
        raise PayloadTooLarge(
            f"assistant '{name}' would hold {total + len(data)} bytes of files, more than the "
            f"limit (knowledge_max_assistant_bytes = {settings.knowledge_max_assistant_bytes})",
            param="file",
        )
    row = KnowledgeFile(
        id=new_id("file"),
        workspace_id=assistant.workspace_id,
        assistant_id=assistant.id,
        filename=filename,
        kind=kind,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        status="processing",
        chunks=0,
        pages=0,
        attempts=0,
    )
    s.add(row)
    await s.commit()
    rt.knowledge.kick()
    return KnowledgeFilePublic.model_validate(row)


async def _read_capped(file: UploadFile, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while block := await file.read(READ_BLOCK):
        size += len(block)
        if size > limit:
            raise PayloadTooLarge(
                f"file: larger than the limit of {limit} bytes (knowledge_max_file_bytes)",
                param="file",
            )
        parts.append(block)
    return b"".join(parts)


@router.get("/workspaces/{ws}/assistants/{name}/files/{file_id}")
async def get_file(ws: str, name: str, file_id: str, rt: Admin, s: Session) -> KnowledgeFilePublic:
    assistant = await _assistant(s, ws, name)
    return KnowledgeFilePublic.model_validate(await _file(s, assistant, file_id))


@router.get(
    "/workspaces/{ws}/assistants/{name}/files/{file_id}/content",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def file_content(ws: str, name: str, file_id: str, rt: Admin, s: Session) -> Response:
    """The bytes as uploaded (what ``junction export`` writes beside the YAML)."""
    assistant = await _assistant(s, ws, name)
    row = await _file(s, assistant, file_id)
    data = await s.scalar(select(KnowledgeFile.content).where(KnowledgeFile.id == row.id))
    quoted = quote(row.filename)
    return Response(
        data or b"",
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quoted}"},
    )


@router.delete("/workspaces/{ws}/assistants/{name}/files/{file_id}", status_code=204)
async def delete_file(ws: str, name: str, file_id: str, rt: Admin, s: Session) -> Response:
    assistant = await _assistant(s, ws, name)
    row = await _file(s, assistant, file_id)
    await s.delete(row)  # its chunks go with it (foreign key)
    await bump(s, assistant.id)
    await save(rt, s)
    return Response(status_code=204)
