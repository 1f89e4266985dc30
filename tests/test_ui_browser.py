"""The admin web UI in a real browser (Chromium via Playwright) against the real router and the
test upstream: from an empty router to an assistant called by the official ``openai`` client.

The steps build on each other (one operator's first session), so they are one ordered story in
a module with its own router; screenshots of the main pages go to test-artifacts/screenshots/
(the README's docs/screenshots/ with JUNCTION_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser import DOCS_SCREENSHOTS, browser, shot
from tests.conftest import RouterProcess
from tests.upstream import MODELS, Upstream

__all__ = ["browser"]
WAIT = 15_000


@pytest.fixture(scope="module")
def ui_router(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> Iterator[RouterProcess]:
    """A router of its own, so that the pages (and screenshots) show only this story."""
    proc = RouterProcess(tmp_path_factory.mktemp("ui-router"), {}).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def context(browser: Browser, ui_router: RouterProcess) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        base_url=ui_router.url,
        viewport={"width": 1280, "height": 860},
        permissions=["clipboard-read", "clipboard-write"],
    )
    ctx.set_default_timeout(WAIT)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def page(context: BrowserContext) -> Page:
    return context.new_page()


class Story:
    """What earlier steps found out, for later steps."""

    key = ""
    base_url = ""
    request_id = ""


def select_option_labels(page: Page, selector: str) -> list[str]:
    return page.locator(f"{selector} option").all_inner_texts()


def test_01_login_refuses_a_wrong_key_then_accepts_the_admin_key(
    page: Page, ui_router: RouterProcess
) -> None:
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    shot(page, "login")
    page.get_by_label("Admin key").fill("ja-not-the-key")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_contain_text("not the admin key")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    assert not any(c["name"] == "junction_ui" for c in page.context.cookies())

    page.keyboard.type(ui_router.admin_key)  # the key field has the focus: keyboard only
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ui/workspaces$"))
    session = next(c for c in page.context.cookies() if c["name"] == "junction_ui")
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert ui_router.admin_key not in session["value"], "the cookie holds the key encrypted"


def test_02_add_a_provider_and_see_its_models(page: Page, upstream: Upstream) -> None:
    page.get_by_role("link", name="Providers").click()
    page.get_by_label("Name").fill("lab")
    page.get_by_label("Kind").select_option("openai")
    page.get_by_label("Base URL").fill(upstream.url)
    page.get_by_role("button", name="Add provider").click()
    n = len(MODELS)
    expect(page.get_by_role("status")).to_contain_text(f"Provider lab added with {n} models")
    expect(page.get_by_role("heading", name=re.compile("^lab"))).to_be_visible()
    facts = page.locator("section[aria-labelledby=prov-lab] dl.facts")
    expect(facts).to_contain_text("tiktoken, in the router")
    page.get_by_role("button", name="Refresh models of lab").click()
    expect(page.get_by_role("status")).to_contain_text(f"lab: {n} models.")
    page.locator("summary", has_text=f"{n} models").click()
    expect(page.get_by_role("cell", name="paced")).to_be_visible()
    shot(page, "providers")

    page.get_by_label("Name").fill("Bad Name")
    page.get_by_label("Base URL").fill(upstream.url)
    page.get_by_role("button", name="Add provider").click()
    expect(page.locator("#name-error")).to_contain_text("name")


def test_03_create_a_workspace_and_a_key_and_copy_it(page: Page) -> None:
    page.get_by_role("link", name="Workspaces").click()
    expect(page.get_by_text("No workspaces yet")).to_be_visible()
    page.get_by_label("Name").fill("demo")
    page.get_by_role("button", name="Create workspace").click()
    expect(page).to_have_url(re.compile(r"/ui/w/demo/settings"))
    expect(page.get_by_role("heading", name="Generic OpenAI Settings")).to_be_visible()

    page.locator("#key-name").fill("laptop")
    page.get_by_role("button", name="Generate key").click()
    expect(page.get_by_role("alert")).to_contain_text("shown only this once")
    shown = page.locator("#new-key-value").input_value()
    assert shown.startswith("jk-")
    page.get_by_role("button", name="Copy key").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    Story.key = page.evaluate("navigator.clipboard.readText()")
    assert Story.key == shown
    Story.base_url = page.locator("#base-url").input_value()
    assert Story.base_url.endswith("/v1")
    assert Story.base_url in page.locator("#example-curl").inner_text()
    assert Story.base_url in page.locator("#example-python").inner_text()
    shot(page, "settings", full_page=True)


def test_04_workspace_settings_one_window_control(page: Page, ui_router: RouterProcess) -> None:
    page.goto("/ui/w/demo/settings")
    page.get_by_text("Percentage of the model").click()
    expect(page.locator("[data-window-unit]")).to_have_text("(% of the context length)")
    page.get_by_label("Window size").fill("140")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#window-error")).to_contain_text("percentage")
    page.get_by_text("Token count", exact=True).click()
    expect(page.locator("[data-window-unit]")).to_have_text("(tokens)")
    page.get_by_label("Window size").fill("6000")
    page.get_by_label("Max tokens per answer").fill("512")
    page.locator("#rpm_limit").fill("600")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Settings saved.")
    with ui_router.admin() as admin:
        ws = admin.get("/workspaces/demo").json()
    assert ws["token_context_window"] == 6000 and ws["max_tokens"] == 512
    assert ws["rpm_limit"] == 600


def test_05_assistant_create_edit_delete(page: Page, ui_router: RouterProcess) -> None:
    page.get_by_role("link", name="AI → Assistants").click()
    page.get_by_role("link", name="New assistant").click()
    labels = select_option_labels(page, "#model")
    assert "lab/echo — 8,192 tokens · lab (openai)" in labels, labels
    assert "lab/sparse — 4,096 tokens · lab (openai)" in labels

    page.get_by_label("Name", exact=True).fill("bad name")
    page.get_by_label("Model", exact=True).select_option("lab/paced")
    page.get_by_role("button", name="Create assistant").click()
    expect(page.locator("#name-error")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("helper")
    page.get_by_label("Description").fill("Answers questions briefly")
    page.get_by_label("Model", exact=True).select_option("lab/paced")
    page.get_by_label("Fallback 1").select_option("lab/echo")
    page.get_by_label("System prompt").fill("You are a concise assistant.")
    page.locator("label[for=history-off]").click()
    page.get_by_label("Disable Think").check()
    page.get_by_label(re.compile("^Temperature")).fill("5")
    page.get_by_label(re.compile("^Quality score")).fill("40")
    page.get_by_label("Max tokens").fill("256")
    page.get_by_role("button", name="Create assistant").click()
    expect(page.locator("#temperature-error")).to_contain_text("less than or equal to 2")
    shot(page, "assistant-form", full_page=True)
    assert page.get_by_label("System prompt").input_value() == "You are a concise assistant."
    page.get_by_label(re.compile("^Temperature")).fill("0.3")
    page.get_by_role("button", name="Create assistant").click()
    expect(page.get_by_role("status")).to_have_text("Assistant helper saved.")

    page.get_by_role("link", name="Edit").first.click()
    expect(page.get_by_label("Model", exact=True)).to_have_value("lab/paced")
    expect(page.get_by_label("Fallback 1")).to_have_value("lab/echo")
    page.get_by_label(re.compile("^Temperature")).fill("0.5")
    page.get_by_label("Description").fill("Answers questions very briefly")
    page.get_by_role("button", name="Save assistant").click()
    expect(page.get_by_role("status")).to_have_text("Assistant helper saved.")
    with ui_router.admin() as admin:
        saved = admin.get("/workspaces/demo/assistants/helper").json()
    assert saved["model"] == ["lab/paced"] and saved["fallbacks"] == ["lab/echo"]
    assert saved["temperature"] == 0.5 and saved["chat_history"] == "off"
    assert saved["disable_think"] is True, "the toggle stands apart from the history choice"
    assert saved["quality_score"] == 40 and saved["max_tokens"] == 256
    assert saved["description"] == "Answers questions very briefly"
    shot(page, "assistants")

    page.get_by_role("link", name="New assistant").click()
    page.get_by_label("Name", exact=True).fill("scratch")
    page.get_by_label("Model", exact=True).select_option("lab/echo")
    page.get_by_role("button", name="Create assistant").click()
    expect(page.get_by_role("cell", name="scratch")).to_be_visible()
    page.locator("a[href='/ui/w/demo/assistants/scratch/delete']").click()
    expect(page.get_by_role("heading")).to_contain_text("Delete assistant scratch?")
    page.get_by_role("button", name="Delete assistant scratch").click()
    expect(page.get_by_role("status")).to_have_text("Assistant scratch deleted.")
    expect(page.get_by_role("cell", name="scratch")).to_have_count(0)


def test_06_playground_streams_the_answer(page: Page) -> None:
    page.get_by_role("link", name="Playground").click()
    page.get_by_label("Assistant").select_option("helper")
    page.get_by_label("Message").fill("what is a router for")
    page.get_by_role("button", name="Send").click()
    answer = page.locator(".msg.assistant .text").last
    # The paced model sends 5 pieces 0.3 s apart: part of the answer shows before the rest.
    partial = ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        partial = answer.inner_text() if answer.count() else ""
        if partial and page.locator(".msg.streaming").count():
            break
        time.sleep(0.05)
    final = "echo: what is a router for"
    assert partial and partial != final and final.startswith(partial), partial
    expect(answer).to_have_text(final)
    meta = page.locator(".msg.assistant .meta").last
    expect(meta).to_contain_text("completion tokens")
    assert re.search(
        r"\d+ prompt \+ 6 completion tokens · in this browser, from Send: whole answer \d+ ms, "
        r"first token \d+ ms",
        meta.inner_text(),
    )
    shot(page, "playground")


def test_07_the_copied_key_works_from_the_openai_client() -> None:
    with openai.OpenAI(base_url=Story.base_url, api_key=Story.key, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="helper", messages=[{"role": "user", "content": "from my own code"}]
        )
    answer = raw.parse()
    assert answer.choices[0].message.content == "echo: from my own code"
    assert answer.model == "helper"
    Story.request_id = raw.headers["x-request-id"]


def test_08_logs_show_the_request_with_filters_and_detail(page: Page) -> None:
    page.get_by_role("link", name="Logs").click()
    deadline = time.monotonic() + 10  # the request log is written behind, in batches
    while Story.request_id not in page.content() and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    rows = page.locator("table.logs tr.entry")
    expect(rows).to_have_count(2)  # the playground's answer and the openai client's
    mine = rows.filter(has_text="laptop")
    expect(mine).to_contain_text("helper")
    expect(mine).to_contain_text("lab/paced")
    detail = page.locator("tr.detail", has_text=Story.request_id)
    expect(detail).to_be_hidden()
    mine.get_by_role("button").click()
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("chat.completions")
    shot(page, "logs")

    laptop = page.locator("#f-key option", has_text="laptop").get_attribute("value")
    assert laptop
    page.goto("/ui/w/demo/logs?limit=1")  # paging: one entry a page, newest first
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("laptop")
    page.get_by_role("link", name="Older requests").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ui-playground")
    expect(page.get_by_role("link", name="Older requests")).to_have_count(0)

    page.goto("/ui/w/demo/logs")
    page.get_by_label("Key").select_option(laptop)
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("laptop")
    page.get_by_label("Status").fill("5xx")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No requests match")).to_be_visible()
    page.get_by_label("Status").fill("nonsense")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("alert")).to_contain_text("status")


def test_08b_dashboard_charts_the_traffic(page: Page) -> None:
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("svg.chart")).to_have_count(3)
    stats = page.locator(".stat strong").all_inner_texts()
    assert stats[0] == "2" and stats[1] == "0", stats  # requests, errors
    assert int(stats[2]) > 0 and stats[3].endswith(" ms"), stats  # tokens, p95
    top = page.locator("table.compact")
    expect(top.first).to_contain_text("helper")
    expect(top.nth(1)).to_contain_text("laptop")
    expect(top.nth(1)).to_contain_text("ui-playground")
    expect(top.nth(2)).to_contain_text("chat.completions")  # the front door
    shot(page, "dashboard", full_page=True)
    page.get_by_role("link", name="Last 7d").click()
    expect(page.locator(".stat strong").first).to_have_text("2")


def test_09_rotate_and_revoke_keys(page: Page, ui_router: RouterProcess) -> None:
    page.goto("/ui/w/demo/settings")
    page.get_by_label("Old key keeps working for").first.select_option("3600")
    page.get_by_role("button", name="Rotate laptop").first.click()
    expect(page.get_by_role("heading", name=re.compile("New key after rotation"))).to_be_visible()
    rotated = page.locator("#new-key-value").input_value()
    for key in (Story.key, rotated):
        with openai.OpenAI(base_url=Story.base_url, api_key=key, max_retries=0) as client:
            client.chat.completions.create(
                model="helper", messages=[{"role": "user", "content": "x"}]
            )

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke laptop").first.click()
    expect(page.get_by_text("revoked", exact=True)).to_have_count(1)
    with (
        openai.OpenAI(base_url=Story.base_url, api_key=Story.key, max_retries=0) as old,
        pytest.raises(openai.AuthenticationError),
    ):
        old.chat.completions.create(model="helper", messages=[{"role": "user", "content": "x"}])


def test_09a_long_key_and_assistant_lists_page_and_search(
    page: Page, ui_router: RouterProcess
) -> None:
    ws = "crowded"
    operations = [{"method": "POST", "path": "/workspaces", "body": {"name": ws}}]
    for i in range(27):
        operations.append(
            {"method": "POST", "path": f"/workspaces/{ws}/keys", "body": {"name": f"app{i:02d}"}}
        )
        operations.append(
            {
                "method": "POST",
                "path": f"/workspaces/{ws}/assistants",
                "body": {"name": f"bot{i:02d}", "model": "lab/echo"},
            }
        )
    with ui_router.admin() as admin:
        answer = admin.post("/batch", json={"operations": operations})
        assert answer.status_code == 200, answer.text
    try:
        page.goto(f"/ui/w/{ws}/settings")
        keys = page.locator("table.keys tbody tr")
        expect(keys).to_have_count(25)
        page.get_by_role("link", name="Next page").click()
        expect(keys).to_have_count(2)
        expect(keys.first).to_contain_text("app25")
        page.get_by_label("Find a key").fill("APP07")
        page.get_by_label("Find a key").press("Enter")  # the page has two search forms
        expect(keys).to_have_count(1)
        expect(keys.first).to_contain_text("app07")
        page.get_by_role("link", name="Show all").click()
        expect(keys).to_have_count(25)

        page.goto(f"/ui/w/{ws}/assistants")
        rows = page.locator("table tbody tr")
        expect(rows).to_have_count(25)
        page.get_by_role("link", name="Next page").click()
        expect(rows).to_have_count(2)
        page.get_by_role("link", name="First page").click()
        expect(rows).to_have_count(25)
        page.get_by_label("Find an assistant").fill("bot26")
        page.get_by_role("button", name="Search").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("bot26")
    finally:
        with ui_router.admin() as admin:
            admin.delete(f"/workspaces/{ws}")


@pytest.mark.parametrize(
    "url",
    [
        "/ui/w/demo/settings",
        "/ui/w/demo/assistants/helper",
        "/ui/w/demo/playground",
        "/ui/providers",
    ],
)
def test_09b_pages_fit_a_narrow_window(context: BrowserContext, url: str, tmp_path: Path) -> None:
    narrow = context.new_page()
    narrow.set_viewport_size({"width": 400, "height": 800})
    narrow.goto(url)
    expect(narrow.locator("h1")).to_be_visible()
    overflow = narrow.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    narrow.screenshot(path=str(tmp_path / "narrow.png"), full_page=True)
    narrow.close()
    assert overflow <= 0, f"{url} is {overflow}px wider than a 400px window"


def test_10_a_form_post_without_csrf_token_is_refused(page: Page, ui_router: RouterProcess) -> None:
    """The browser's own session cookie, but no token: refused, and nothing changes."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert "junction_ui" in cookies
    for form in ({"name": "sneaky"}, {"name": "sneaky", "csrf": "0" * 64}):
        response = page.request.post("/ui/workspaces", form=form, max_redirects=0)
        assert response.status == 403, response.status
        assert "security token" in response.text()
    response = page.request.post(
        "/ui/w/demo/delete", form={"confirm_name": "demo"}, max_redirects=0
    )
    assert response.status == 403
    with ui_router.admin() as admin:
        assert admin.get("/workspaces/sneaky").status_code == 404
        assert admin.get("/workspaces/demo").status_code == 200


def test_11_delete_a_workspace_names_what_is_lost(page: Page, ui_router: RouterProcess) -> None:
    with ui_router.admin() as admin:
        assert admin.post("/workspaces", json={"name": "old-team"}).status_code == 201
        admin.post("/workspaces/old-team/keys", json={"name": "ci"})
        admin.post(
            "/workspaces/old-team/assistants", json={"name": "summarizer", "model": "lab/echo"}
        )
    page.goto("/ui/workspaces")
    page.locator("a[href='/ui/w/old-team/delete']").click()
    body = page.locator("main")
    expect(body).to_contain_text("1 active API key (ci)")
    expect(body).to_contain_text("1 assistant (summarizer)")
    shot(page, "workspace-delete")
    page.get_by_label(re.compile("Type the workspace name")).fill("old")
    page.get_by_role("button", name="Delete workspace old-team").click()
    expect(page.get_by_role("alert")).to_contain_text("does not match")
    page.get_by_label(re.compile("Type the workspace name")).fill("old-team")
    page.get_by_role("button", name="Delete workspace old-team").click()
    expect(page.get_by_role("status")).to_contain_text("Workspace old-team deleted.")
    shot(page, "workspaces")
    with ui_router.admin() as admin:
        assert admin.get("/workspaces/old-team").status_code == 404


def test_12_log_out(page: Page, ui_router: RouterProcess) -> None:
    old_cookie = next(c for c in page.context.cookies() if c["name"] == "junction_ui")["value"]
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    page.goto("/ui/providers")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui/providers"))
    replay = httpx.get(
        ui_router.url + "/ui/providers", cookies={"junction_ui": old_cookie}, timeout=10
    )
    assert replay.status_code == 303 and "/ui/login" in replay.headers["location"]


def test_screenshots_are_small() -> None:
    for png in DOCS_SCREENSHOTS.glob("*.png"):
        assert png.stat().st_size < 400_000, png
