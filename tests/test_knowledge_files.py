"""Knowledge files through the admin API: upload, processing, limits, types, tenancy."""

from __future__ import annotations

import sqlite3

from tests.conftest import RouterProcess, Tenant, make_tenant
from tests.knowledge_docs import docx_bytes, pdf_bytes
from tests.knowledge_support import add_file, upload, wait_done

HANDBOOK = (
    "# Holidays\n\nEvery employee gets thirty vacation days each year, booked in the "
    "holiday planner.\n\n# Laptops\n\nLaptops are replaced every three years by the "
    "hardware desk."
)


def test_upload_lists_and_processes_a_markdown_file(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("kb", embedding_model="local/bow")
    done = add_file(router, tenant.name, "kb", "handbook.md", HANDBOOK.encode())
    assert done["status"] == "ready", done
    assert done["chunks"] >= 1
    assert done["error"] is None
    assert done["filename"] == "handbook.md"
    assert done["bytes"] == len(HANDBOOK.encode())
    with router.admin() as admin:
        listed = admin.get(f"/workspaces/{tenant.name}/assistants/kb/files").json()["data"]
        assert [f["id"] for f in listed] == [done["id"]]
        assistant = admin.get(f"/workspaces/{tenant.name}/assistants/kb").json()
        assert assistant["embedding_model"] == "local/bow"
        assert assistant["context_score"] == 65


def test_pdf_and_docx_made_here_are_read(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("docs", embedding_model="local/bow")
    pdf = pdf_bytes(["Penguins live in Antarctica.", "Volcanoes erupt lava and ash."])
    done = add_file(router, tenant.name, "docs", "animals.pdf", pdf)
    assert done["status"] == "ready", done
    word = docx_bytes("Onboarding", ["New staff meet the mentor on day one."])
    done = add_file(router, tenant.name, "docs", "onboarding.docx", word)
    assert done["status"] == "ready", done


def test_a_broken_pdf_fails_with_a_reason(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("broken", embedding_model="local/bow")
    cut = pdf_bytes(["Some text that will be cut off."])[:150]
    done = add_file(router, tenant.name, "broken", "cut.pdf", cut)
    assert done["status"] == "failed"
    assert "not a readable PDF" in done["error"]
    assert done["chunks"] == 0


def test_an_unsupported_type_is_refused(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("types", embedding_model="local/bow")
    response = upload(router, tenant.name, "types", "photo.png", b"\x89PNG\r\n\x1a\n....")
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_file_type"
    assert error["param"] == "file"
    assert ".pdf" in error["message"]


def test_upload_needs_an_embedding_model(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("plain")
    response = upload(router, tenant.name, "plain", "a.txt", b"some words here")
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "embedding_model"


def test_fields_are_validated(router: RouterProcess, tenant: Tenant) -> None:
    with router.admin() as admin:
        base = f"/workspaces/{tenant.name}/assistants"
        bad = admin.post(base, json={"name": "x", "model": "local/echo", "context_score": 101})
        assert bad.status_code == 422
        assert bad.json()["error"]["param"] == "context_score"
        bad = admin.post(base, json={"name": "x", "model": "local/echo", "embedding_model": "bow"})
        assert bad.status_code == 422
        assert bad.json()["error"]["param"] == "embedding_model"
        bad = admin.post(
            base, json={"name": "x", "model": "local/echo", "embedding_model": "nowhere/bow"}
        )
        assert bad.status_code == 422
        assert "unknown provider" in bad.json()["error"]["message"]


def test_file_limits(router: RouterProcess, provider: str) -> None:
    tenant = make_tenant(router)
    tenant.assistant("small", embedding_model="local/bow")
    # The session's router has the default limits: a file over the per-file cap is a 413.
    with router.admin() as admin:
        cap = 10 * 1024 * 1024
        response = admin.post(
            f"/workspaces/{tenant.name}/assistants/small/files",
            files={"file": ("big.txt", b"a " * (cap // 2 + 1), "text/plain")},
        )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["param"] == "file"


def _stored(router: RouterProcess, file_id: str) -> tuple[int, int]:
    """Rows of the file and of its chunks in the router's SQLite database."""
    with sqlite3.connect(router.data_dir / "junction.db") as db:
        files = db.execute("SELECT count(*) FROM knowledge_files WHERE id = ?", (file_id,))
        chunks = db.execute("SELECT count(*) FROM knowledge_chunks WHERE file_id = ?", (file_id,))
        return files.fetchone()[0], chunks.fetchone()[0]


def test_files_belong_to_their_workspace(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("kb", embedding_model="local/bow")
    done = add_file(router, tenant.name, "kb", "notes.txt", b"private notes of one team")
    assert _stored(router, done["id"]) == (1, 1)
    other = make_tenant(router)
    other.assistant("kb", embedding_model="local/bow")
    with router.admin() as admin:
        response = admin.get(f"/workspaces/{other.name}/assistants/kb/files/{done['id']}")
        assert response.status_code == 404
        assert admin.get(f"/workspaces/{other.name}/assistants/kb/files").json()["data"] == []
        response = admin.delete(f"/workspaces/{other.name}/assistants/kb/files/{done['id']}")
        assert response.status_code == 404
        assert _stored(router, done["id"]) == (1, 1)
        # Deleting the assistant deletes its files and vectors.
        assert admin.delete(f"/workspaces/{tenant.name}/assistants/kb").status_code == 204
        assert _stored(router, done["id"]) == (0, 0)
        # And deleting a workspace deletes its assistants' files and vectors.
        theirs = add_file(router, other.name, "kb", "theirs.md", b"# Theirs\n\nother words")
        assert _stored(router, theirs["id"]) == (1, 1)
        assert admin.delete(f"/workspaces/{other.name}").status_code == 204
        assert _stored(router, theirs["id"]) == (0, 0)


def test_changing_the_embedding_model_re_embeds(router: RouterProcess, tenant: Tenant) -> None:
    tenant.assistant("switch", embedding_model="local/bow")
    done = add_file(router, tenant.name, "switch", "a.md", HANDBOOK.encode())
    assert done["status"] == "ready"
    with router.admin() as admin:
        base = f"/workspaces/{tenant.name}/assistants/switch"
        response = admin.patch(base, json={"embedding_model": "local/embed"})
        assert response.status_code == 200, response.text
        again = wait_done(router, tenant.name, "switch", done["id"])
        assert again["status"] == "ready", again
        assert again["chunks"] == done["chunks"]
        response = admin.patch(base, json={"embedding_model": None})
        assert response.status_code == 422
        assert response.json()["error"]["param"] == "embedding_model"
