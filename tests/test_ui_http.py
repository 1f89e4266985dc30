"""The admin UI's session and CSRF rules over plain HTTP, against the real router."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RouterProcess, Tenant

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def login(router: RouterProcess) -> httpx.Client:
    client = httpx.Client(base_url=router.url, timeout=10)
    page = client.get("/ui/login")
    token = CSRF.search(page.text)
    assert token, page.text
    answer = client.post("/ui/login", data={"csrf": token.group(1), "admin_key": router.admin_key})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: httpx.Client, url: str) -> str:
    found = CSRF.search(client.get(url).text)
    assert found
    return found.group(1)


@pytest.fixture
def session(router: RouterProcess) -> Iterator[httpx.Client]:
    client = login(router)
    yield client
    client.close()


def test_login_cookie_flags_and_security_headers(router: RouterProcess) -> None:
    with httpx.Client(base_url=router.url, timeout=10) as client:
        page = client.get("/ui/login")
        assert page.status_code == 200
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        token = CSRF.search(page.text)
        assert token
        answer = client.post(
            "/ui/login", data={"csrf": token.group(1), "admin_key": router.admin_key}
        )
        assert answer.status_code == 303
        session = answer.headers["set-cookie"]
        assert session.startswith("junction_ui=")
        assert "httponly" in session.lower() and "samesite=strict" in session.lower()
        assert router.admin_key not in session


def test_login_needs_its_csrf_token(router: RouterProcess) -> None:
    with httpx.Client(base_url=router.url, timeout=10) as client:
        client.get("/ui/login")
        answer = client.post("/ui/login", data={"admin_key": router.admin_key})
        assert answer.status_code == 403
        assert "junction_ui=" not in answer.headers.get("set-cookie", "")


def test_wrong_keys_get_a_clear_message(router: RouterProcess, tenant: Tenant) -> None:
    with httpx.Client(base_url=router.url, timeout=10) as client:
        for key, message in (
            ("ja-wrong", "not the admin key"),
            (tenant.key, "workspace API key"),
            ("", "Enter the admin key"),
        ):
            token = csrf_of(client, "/ui/login")
            answer = client.post("/ui/login", data={"csrf": token, "admin_key": key})
            assert answer.status_code == 401
            assert message in answer.text
            assert "junction_ui=" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("next_url", "lands"),
    [
        ("/ui/providers", "/ui/providers"),
        ("//evil.example/ui/", "/ui/workspaces"),
        ("https://evil.example/", "/ui/workspaces"),
    ],
)
def test_login_redirects_only_inside_the_ui(
    router: RouterProcess, next_url: str, lands: str
) -> None:
    with httpx.Client(base_url=router.url, timeout=10) as client:
        token = csrf_of(client, "/ui/login")
        answer = client.post(
            "/ui/login", data={"csrf": token, "admin_key": router.admin_key, "next": next_url}
        )
        assert answer.headers["location"] == lands


@pytest.mark.parametrize(
    "url",
    [
        "/ui/workspaces",
        "/ui/w/any/settings",
        "/ui/w/any/keys",
        "/ui/w/any/keys/key_1/rotate",
        "/ui/w/any/keys/key_1/revoke",
        "/ui/w/any/delete",
        "/ui/w/any/assistants",
        "/ui/w/any/assistants/bot",
        "/ui/w/any/assistants/bot/delete",
        "/ui/w/any/playground/key",
        "/ui/providers",
        "/ui/providers/p/refresh",
        "/ui/providers/p/delete",
        "/ui/logout",
    ],
)
def test_every_write_needs_the_csrf_token(session: httpx.Client, url: str) -> None:
    answer = session.post(url, data={"name": "x", "confirm_name": "any"})
    assert answer.status_code == 403, (url, answer.status_code)
    forged = session.post(url, data={"csrf": "0" * 64}, headers={"x-csrf-token": "1" * 64})
    assert forged.status_code == 403


def test_pages_need_a_login(router: RouterProcess) -> None:
    with httpx.Client(base_url=router.url, timeout=10) as client:
        answer = client.get("/ui/w/x/settings")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/login?next=/ui/w/x/settings"
        assert client.post("/ui/workspaces", data={"name": "x"}).status_code == 401
        client.cookies.set("junction_ui", "not-a-session", path="/ui")
        assert client.get("/ui/providers").status_code == 303


def test_playground_key_is_short_lived_reused_and_works(
    router: RouterProcess, session: httpx.Client, provider: str
) -> None:
    with router.admin() as admin:
        admin.post("/workspaces", json={"name": "pg-ws"})
        admin.post("/workspaces/pg-ws/assistants", json={"name": "bot", "model": "local/echo"})
    token = csrf_of(session, "/ui/w/pg-ws/playground")
    first = session.post("/ui/w/pg-ws/playground/key", headers={"x-csrf-token": token})
    assert first.status_code == 200, first.text
    second = session.post("/ui/w/pg-ws/playground/key", headers={"x-csrf-token": token})
    assert second.json()["key"] == first.json()["key"]
    assert 3000 < first.json()["expires_at"] - time.time() <= 3600
    with router.admin() as admin:
        keys = admin.get("/workspaces/pg-ws/keys").json()["data"]
    assert [k["name"] for k in keys] == ["ui-playground"]
    with router.client(first.json()["key"]) as client:
        answer = client.chat.completions.create(
            model="bot", messages=[{"role": "user", "content": "hi"}]
        )
    assert answer.choices[0].message.content == "echo: hi"

    with router.admin() as admin:  # revoked elsewhere: the page asks for a fresh one
        assert admin.delete(f"/workspaces/pg-ws/keys/{keys[0]['id']}").status_code == 204
    fresh = session.post("/ui/w/pg-ws/playground/key?fresh=1", headers={"x-csrf-token": token})
    assert fresh.json()["key"] != first.json()["key"]
    with router.client(fresh.json()["key"]) as client:
        answer = client.chat.completions.create(
            model="bot", messages=[{"role": "user", "content": "again"}]
        )
    assert answer.choices[0].message.content == "echo: again"


def test_static_assets_are_served(router: RouterProcess) -> None:
    for name in ("ui.css", "ui.js"):
        answer = httpx.get(f"{router.url}/ui/static/{name}", timeout=10)
        assert answer.status_code == 200 and len(answer.content) > 1000


def test_head_requests_change_nothing(router: RouterProcess, session: httpx.Client) -> None:
    with router.admin() as admin:
        created = admin.post(
            "/providers",
            json={"name": "headp", "base_url": "http://127.0.0.1:9/v1", "models": [{"name": "m"}]},
        )
        assert created.status_code == 201, created.text
        assert session.head("/ui/providers/headp/delete").status_code == 200
        assert session.head("/ui/workspaces").status_code == 200
        assert admin.get("/providers/headp").status_code == 200
        admin.delete("/providers/headp")


NEXT = re.compile(r'href="([^"]+)" rel="next"')


def test_keys_and_assistants_pages_are_paged_with_a_search(
    router: RouterProcess, session: httpx.Client, provider: str
) -> None:
    ws = "paged-ws"
    operations = [{"method": "POST", "path": "/workspaces", "body": {"name": ws}}]
    operations += [
        {"method": "POST", "path": f"/workspaces/{ws}/keys", "body": {"name": f"key{i:02d}"}}
        for i in range(30)
    ]
    operations += [
        {
            "method": "POST",
            "path": f"/workspaces/{ws}/assistants",
            "body": {"name": f"bot{i:02d}", "model": "local/echo"},
        }
        for i in range(30)
    ]
    with router.admin() as admin:
        assert admin.post("/batch", json={"operations": operations}).status_code == 200

    def names(html: str, pattern: str) -> list[str]:
        return sorted(set(re.findall(pattern, html)))

    keys = r"Revoke (key\d\d)</button>"
    first = session.get(f"/ui/w/{ws}/settings")
    assert first.status_code == 200
    assert names(first.text, keys) == [f"key{i:02d}" for i in range(25)], "oldest first"
    link = NEXT.search(first.text)
    assert link and "key_cursor=" in link.group(1) and link.group(1).endswith("#keys")
    second = session.get(link.group(1).replace("&amp;", "&"))
    assert names(second.text, keys) == [f"key{i:02d}" for i in range(25, 30)]
    assert "First page" in second.text and not NEXT.search(second.text)
    found = session.get(f"/ui/w/{ws}/settings", params={"key_search": "KEY07"})
    assert names(found.text, keys) == ["key07"] and "Show all" in found.text
    none = session.get(f"/ui/w/{ws}/settings", params={"key_search": "nothing"})
    assert "No key name contains “nothing”" in none.text

    assistants = r'assistants/(bot\d\d)"><strong>'
    first = session.get(f"/ui/w/{ws}/assistants")
    assert names(first.text, assistants) == [f"bot{i:02d}" for i in range(25)], "by name"
    link = NEXT.search(first.text)
    assert link and "cursor=" in link.group(1)
    second = session.get(link.group(1).replace("&amp;", "&"))
    assert names(second.text, assistants) == [f"bot{i:02d}" for i in range(25, 30)]
    found = session.get(f"/ui/w/{ws}/assistants", params={"search": "t1"})
    assert names(found.text, assistants) == [f"bot{i}" for i in range(10, 20)]
    none = session.get(f"/ui/w/{ws}/assistants", params={"search": "zzz"})
    assert "No assistant name contains “zzz”" in none.text


def test_judge_and_delete_pages_cope_with_thousands_of_assistants(
    router: RouterProcess, session: httpx.Client, provider: str
) -> None:
    """The judge is typed with searched suggestions (not a list of the first 100); the delete
    page counts everything it would remove."""
    ws = "big-ws"
    bots = [f"bot{i:04d}" for i in range(1100)]
    operations: list[dict[str, object]] = [
        {"method": "POST", "path": "/workspaces", "body": {"name": ws}}
    ]
    operations += [
        {"method": "POST", "path": f"/workspaces/{ws}/keys", "body": {"name": f"key{i}"}}
        for i in range(3)
    ]
    operations += [
        {
            "method": "POST",
            "path": f"/workspaces/{ws}/assistants",
            "body": {"name": name, "model": "local/echo"},
        }
        for name in bots
    ]
    with router.admin() as admin:
        for start in range(0, len(operations), 1000):
            batch = {"operations": operations[start : start + 1000]}
            assert admin.post("/batch", json=batch).status_code == 200

    def suggested(html: str) -> list[str]:
        listed = re.search(r'<datalist id="judge-choices">(.*?)</datalist>', html, re.S)
        assert listed, html
        return re.findall(r'<option value="([^"]+)">', listed.group(1))

    settings = f"/ui/w/{ws}/settings"
    page = session.get(settings)
    assert page.status_code == 200 and suggested(page.text) == bots[:25]
    found = session.get(settings, params={"judge_search": "bot107"})
    assert suggested(found.text) == [f"bot107{i}" for i in range(10)]

    form = {"window_mode": "none", "judge_assistant": "bot1099"}
    saved = session.post(settings, data={**form, "csrf": csrf_of(session, settings)})
    assert saved.status_code == 200 and "Settings saved." in saved.text
    assert 'name="judge_assistant" list="judge-choices" value="bot1099"' in saved.text
    with router.admin() as admin:
        assert admin.get(f"/workspaces/{ws}").json()["judge_assistant"] == "bot1099"
    wrong = {**form, "judge_assistant": "nobody", "csrf": csrf_of(session, settings)}
    refused = session.post(settings, data=wrong)
    assert refused.status_code == 422 and "no assistant named “nobody”" in refused.text
    with router.admin() as admin:
        assert admin.get(f"/workspaces/{ws}").json()["judge_assistant"] == "bot1099"

    confirm = session.get(f"/ui/w/{ws}/delete")
    assert confirm.status_code == 200
    text = re.sub(r"\s+", " ", confirm.text)
    assert "<strong>1,100 assistants</strong> (bot0000, " in text
    assert "bot0009, and 1,090 more)" in text
    assert "<strong>3 active API keys</strong> (key0, key1, key2)" in text
