"""An assistant's knowledge files on its page: upload (the browser's multipart body passed on
to the admin API, so that it shows upload progress), status for polling, delete."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from junction.ui.api import path
from junction.ui.web import Page, Ui, page, see_other

MAX_UPLOAD_NOTE = "The router refused the upload."


def knowledge_routes(ui: Ui) -> dict[str, object]:
    @page(ui)
    async def files(p: Page) -> Response:
        ws, name = p.param("ws"), p.param("name")
        url = path("workspaces", ws, "assistants", name, "files")
        if p.writing:
            raw = await p.request.body()
            content_type = p.request.headers.get("content-type", "")
            result = await p.api.upload(url, raw, content_type)
        else:
            result = await p.api.get(url)
        if not result.ok:
            return JSONResponse({"error": result.message or MAX_UPLOAD_NOTE}, result.status)
        return JSONResponse(result.data, result.status)

    @page(ui)
    async def delete(p: Page) -> Response:
        ws, name, file_id = p.param("ws"), p.param("name"), p.param("file_id")
        result = await p.api.delete(path("workspaces", ws, "assistants", name, "files", file_id))
        if not result.ok and result.status != 404:
            return p.render("error.html", result.status, message=result.message)
        return see_other(f"/ui/w/{ws}/assistants/{name}#knowledge")

    return {"knowledge_files": files, "knowledge_file_delete": delete}
