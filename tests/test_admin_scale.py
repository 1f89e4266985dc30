"""Admin API at scale: every list paged and filterable, batches in one transaction."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.conftest import RouterProcess


def _walk(admin: httpx.Client, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor."""
    pages = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = admin.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def _names(pages: list[list[dict[str, Any]]], field: str = "name") -> list[str]:
    return [item[field] for page in pages for item in page]


@pytest.fixture
def tag() -> str:
    return "t" + secrets.token_hex(3)


def test_every_list_is_paged_and_filterable(router: RouterProcess, provider: str, tag: str) -> None:
    with router.admin() as admin:
        workspaces = [f"{tag}-ws{i}" for i in range(5)]
        for name in workspaces:
            assert admin.post("/workspaces", json={"name": name}).status_code == 201
        ws = workspaces[0]
        for i in range(5):
            assert (
                admin.post(f"/workspaces/{ws}/keys", json={"name": f"{tag}k{i}"}).status_code == 201
            )
            response = admin.post(
                f"/workspaces/{ws}/assistants", json={"name": f"{tag}a{i}", "model": "local/echo"}
            )
            assert response.status_code == 201, response.text
        for i in range(3):
            response = admin.post(
                "/providers",
                json={
                    "name": f"{tag}-p{i}",
                    "base_url": "http://127.0.0.1:9/v1",
                    "models": [{"name": "m"}],
                },
            )
            assert response.status_code == 201, response.text
        first_key = admin.get(f"/workspaces/{ws}/keys").json()["data"][0]
        assert admin.delete(f"/workspaces/{ws}/keys/{first_key['id']}").status_code == 204

        pages = _walk(admin, "/workspaces", search=tag, limit=2)
        assert [len(p) for p in pages] == [2, 2, 1]
        assert _names(pages) == workspaces

        pages = _walk(admin, f"/workspaces/{ws}/keys", limit=2)
        assert [len(p) for p in pages] == [2, 2, 1]
        assert _names(pages) == [f"{tag}k{i}" for i in range(5)], "oldest first"
        assert len(_names(_walk(admin, f"/workspaces/{ws}/keys", revoked="false"))) == 4
        assert _names(_walk(admin, f"/workspaces/{ws}/keys", search=f"{tag}k3")) == [f"{tag}k3"]

        pages = _walk(admin, f"/workspaces/{ws}/assistants", limit=3)
        assert [len(p) for p in pages] == [3, 2]
        # Searching is case-insensitive (the random tag itself may contain "a4").
        found = _walk(admin, f"/workspaces/{ws}/assistants", search=f"{tag}A4")
        assert _names(found) == [f"{tag}a4"]

        pages = _walk(admin, "/providers", search=tag, limit=2)
        assert _names(pages) == [f"{tag}-p{i}" for i in range(3)] and len(pages) == 2

        pages = _walk(admin, "/models", search=tag, limit=1)
        assert _names(pages, "id") == [f"{tag}-p{i}/m" for i in range(3)]

        pages = _walk(admin, "/keys", search=tag, limit=2)
        assert len(pages) == 3 and {k["workspace"] for p in pages for k in p} == {ws}
        pages = _walk(admin, "/assistants", search=tag, limit=4)
        assert _names(pages) == [f"{tag}a{i}" for i in range(5)]
        assert {a["workspace"] for p in pages for a in p} == {ws}

        assert admin.get("/workspaces", params={"limit": 1001}).status_code == 422
        bad = admin.get("/workspaces", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "cursor"
        # Every list answers at most a page, even without a limit.
        assert len(admin.get("/workspaces").json()["data"]) <= 100


def test_a_batch_is_one_transaction(router: RouterProcess, provider: str, tag: str) -> None:
    ws = f"{tag}-batch"
    operations = [
        {"method": "POST", "path": "/workspaces", "body": {"name": ws, "max_tokens": 64}},
        {"method": "POST", "path": f"/workspaces/{ws}/keys", "body": {"name": "app"}},
        {
            "method": "POST",
            "path": f"/workspaces/{ws}/assistants",
            "body": {"name": "bot", "model": "local/echo"},
        },
        {
            "method": "PATCH",
            "path": f"/workspaces/{ws}/assistants/bot",
            "body": {"system_prompt": "s"},
        },
    ]
    with router.admin() as admin:
        failing = [
            *operations[:2],
            {
                "method": "POST",
                "path": f"/workspaces/{ws}/assistants",
                "body": {"name": "x", "model": "nope/m"},
            },
        ]
        refused = admin.post("/batch", json={"operations": failing})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["param"] == "operations[2].model"
        assert admin.get(f"/workspaces/{ws}").status_code == 404, "nothing of it was stored"

        unknown = admin.post("/batch", json={"operations": [{"method": "POST", "path": "/logs"}]})
        assert (
            unknown.status_code == 404 and unknown.json()["error"]["param"] == "operations[0].path"
        )
        invalid = admin.post(
            "/batch",
            json={
                "operations": [{"method": "POST", "path": "/workspaces", "body": {"name": "A B"}}]
            },
        )
        assert (
            invalid.status_code == 422
            and invalid.json()["error"]["param"] == "operations[0].body.name"
        )

        done = admin.post("/batch", json={"operations": operations})
        assert done.status_code == 200, done.text
        answers = done.json()["data"]
        assert answers[0]["name"] == ws and answers[0]["max_tokens"] == 64
        assert answers[1]["key"].startswith("jk-") or answers[1]["key"]
        assert answers[3]["system_prompt"] == "s"

    # The whole batch is served at once: the key, its workspace and the assistant together.
    client = router.client(answers[1]["key"])
    assert [m.id for m in client.models.list()] == ["bot"]
    reply = client.chat.completions.create(
        model="bot", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content


def test_a_key_is_served_right_after_its_workspace(
    router: RouterProcess, provider: str, tag: str
) -> None:
    """Each write answers once this process serves it; no snapshot holds half of one."""
    with router.admin() as admin:
        for i in range(5):
            ws = f"{tag}-seq{i}"
            assert admin.post("/workspaces", json={"name": ws}).status_code == 201
            key = admin.post(f"/workspaces/{ws}/keys", json={"name": "k"}).json()
            admin.post(f"/workspaces/{ws}/assistants", json={"name": "bot", "model": "local/echo"})
            assert [m.id for m in router.client(key["key"]).models.list()] == ["bot"]
            rotated = admin.post(
                f"/workspaces/{ws}/keys/{key['id']}/rotate", json={"grace_seconds": 0}
            )
            assert [m.id for m in router.client(rotated.json()["key"]).models.list()] == ["bot"]


def test_the_ui_workspace_list_is_paged_with_a_search_box(
    router: RouterProcess, provider: str, tag: str
) -> None:
    import html
    import re

    from tests.test_ui_http import login

    with router.admin() as admin:
        names = [f"{tag}-ui{i:02d}" for i in range(30)]
        operations = [{"method": "POST", "path": "/workspaces", "body": {"name": n}} for n in names]
        assert admin.post("/batch", json={"operations": operations}).status_code == 200
    client = login(router)
    try:
        first = client.get("/ui/workspaces", params={"search": tag})
        assert first.status_code == 200
        assert 'type="search"' in first.text and f'value="{tag}"' in first.text
        shown = re.findall(rf"<strong>({tag}-ui\d+)</strong>", first.text)
        assert shown == names[:25]
        link = re.search(r'href="(/ui/workspaces\?[^"]*cursor=[^"]*)" rel="next"', first.text)
        assert link is not None
        second = client.get(html.unescape(link.group(1)))
        assert re.findall(rf"<strong>({tag}-ui\d+)</strong>", second.text) == names[25:]
        assert 'rel="next"' not in second.text
        none = client.get("/ui/workspaces", params={"search": tag + "-nothing"})
        assert "No workspace name contains" in none.text
    finally:
        client.close()
