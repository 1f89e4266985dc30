"""Knowledge in the admin UI, in Chromium: set an assistant's embedding model and Context Score,
upload a file with progress, see it become ready, ask the playground a question that the
answer takes from the file (the ``recite`` model answers with the prompt it was given)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import browser, shot
from tests.conftest import RouterProcess, make_tenant
from tests.upstream import Upstream

__all__ = ["browser"]
WAIT = 20_000


@pytest.fixture(scope="module")
def kb_router(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> Iterator[RouterProcess]:
    proc = RouterProcess(tmp_path_factory.mktemp("kb-ui-router"), {}).start(timeout=60)
    with proc.admin() as admin:
        response = admin.post(
            "/providers", json={"name": "lab", "kind": "openai", "base_url": upstream.url}
        )
        assert response.status_code == 201, response.text
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def page(browser: Browser, kb_router: RouterProcess) -> Iterator[Page]:
    context = browser.new_context(base_url=kb_router.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT)
    page = context.new_page()
    page.goto("/ui/login")
    page.get_by_label("Admin key").fill(kb_router.admin_key)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/ui/workspaces$"))
    yield page
    context.close()


def test_upload_a_file_see_it_ready_and_get_answers_from_it(
    page: Page, kb_router: RouterProcess, tmp_path: Path
) -> None:
    tenant = make_tenant(kb_router)
    tenant.assistant("guide", model="lab/recite")
    page.goto(f"/ui/w/{tenant.name}/assistants/guide")
    expect(page.locator("#file-input")).to_be_disabled()  # no embedding model yet
    page.get_by_label("Embedding model").select_option("lab/bow")
    page.get_by_label(re.compile("^Context Score")).fill("20")
    page.get_by_role("button", name="Save assistant").click()
    expect(page.get_by_role("status")).to_have_text("Assistant guide saved.")

    page.goto(f"/ui/w/{tenant.name}/assistants/guide")
    expect(page.get_by_label("Embedding model")).to_have_value("lab/bow")
    expect(page.get_by_label(re.compile("^Context Score"))).to_have_value("20")
    handbook = tmp_path / "handbook.md"
    handbook.write_text(
        "# Parking\n\nVisitors park in the blue garage on level minus two, "
        "next to the bicycle racks."
    )
    page.locator("#file-input").set_input_files(str(handbook))
    row = page.locator("#files-table tbody tr", has_text="handbook.md")
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("ready")
    expect(row.locator(".file-chunks")).to_have_text("1")
    shot(page, "assistant-knowledge", full_page=True)

    bad = tmp_path / "logo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n")
    page.locator("#file-input").set_input_files(str(bad))
    expect(page.locator("#upload-status")).to_contain_text("not a file type knowledge can read")

    page.get_by_role("link", name="Playground").click()
    page.get_by_label("Assistant").select_option("guide")
    page.get_by_label("Message").fill("Where do visitors park in the garage?")
    page.get_by_role("button", name="Send").click()
    answer = page.locator(".msg.assistant .text").last
    expect(answer).to_contain_text("blue garage on level minus two")
    expect(answer).to_contain_text("handbook.md")

    # Delete the file from the assistant's page: the answer no longer has it.
    page.goto(f"/ui/w/{tenant.name}/assistants/guide")
    row.get_by_role("button", name="Delete handbook.md").click()
    expect(page.locator("#files-table")).to_contain_text("No files yet.")
