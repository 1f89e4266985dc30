"""What a person typing the router's address sees: ``/`` leads to the admin UI, a favicon, and
API docs that work without internet (every asset comes from the router itself)."""

from __future__ import annotations

import re

import httpx

from tests.conftest import RouterProcess


def test_root_leads_to_the_admin_ui(router: RouterProcess) -> None:
    response = httpx.get(router.url + "/")
    assert response.status_code == 302
    assert response.headers["location"] == "/ui"
    followed = httpx.get(router.url + "/", follow_redirects=True)
    assert followed.status_code == 200 and "Log in" in followed.text


def test_favicon_is_served_and_linked(router: RouterProcess) -> None:
    icon = httpx.get(router.url + "/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00", "an ICO file"
    login = httpx.get(router.url + "/ui/login").text
    for href in re.findall(r'<link rel="icon" href="([^"]+)"', login):
        assert httpx.get(router.url + href).status_code == 200, href
    assert "/favicon.ico" in login and "/ui/static/favicon.svg" in login


def test_docs_load_everything_from_the_router(router: RouterProcess) -> None:
    page = httpx.get(router.url + "/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") for a in assets), assets  # nothing from elsewhere
    assert "cdn" not in page.text.lower()
    for asset in assets:
        loaded = httpx.get(router.url + asset)
        assert loaded.status_code == 200, asset
        assert len(loaded.content) > 100, asset
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    assert httpx.get(router.url + "/openapi.json").json()["info"]["title"] == "Junction"
