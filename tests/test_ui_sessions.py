"""UI sessions live in the database: logout ends a session across a restart and in every
worker; the cookie holds only a random id; failed logins are throttled per address."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import RouterProcess

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
CACHE = "0.5"  # JUNCTION_UI_SESSION_CACHE_SECONDS in these tests


def _login(router: RouterProcess, key: str | None = None) -> tuple[str, str]:
    """Log in; returns the session cookie and the page's CSRF token."""
    with httpx.Client(base_url=router.url, timeout=10) as client:
        token = CSRF.search(client.get("/ui/login").text)
        assert token
        answer = client.post(
            "/ui/login", data={"csrf": token.group(1), "admin_key": key or router.admin_key}
        )
        assert answer.status_code == 303, answer.text
        cookie = client.cookies["junction_ui"]
        found = CSRF.search(client.get("/ui/workspaces").text)
        assert found
        return cookie, found.group(1)


def _page_status(router: RouterProcess, cookie: str) -> int:
    """A logged-in page on a fresh connection (so that any worker may answer)."""
    with httpx.Client(base_url=router.url, timeout=10, cookies={"junction_ui": cookie}) as c:
        return c.get("/ui/workspaces").status_code


def _logout(router: RouterProcess, cookie: str, csrf: str) -> None:
    with httpx.Client(base_url=router.url, timeout=10, cookies={"junction_ui": cookie}) as c:
        answer = c.post("/ui/logout", data={"csrf": csrf})
    assert answer.status_code == 303, answer.text


def test_cookie_is_a_random_id_and_logout_survives_a_restart(tmp_path: Path) -> None:
    router = RouterProcess(tmp_path, {"JUNCTION_UI_SESSION_CACHE_SECONDS": CACHE}).start(timeout=90)
    try:
        cookie, csrf = _login(router)
        assert router.admin_key not in cookie and len(cookie) < 64  # an id, not a payload
        assert _page_status(router, cookie) == 200
        router.stop()
        router.start(timeout=90)
        assert _page_status(router, cookie) == 200, "a restart keeps a session"
        _logout(router, cookie, csrf)
        assert _page_status(router, cookie) == 303
        router.stop()
        router.start(timeout=90)
        assert _page_status(router, cookie) == 303, "nor does a restart bring it back"
    finally:
        router.stop()
    assert (tmp_path / "junction.db").stat().st_mode & 0o077 == 0, "the database is private"


def test_logout_ends_the_session_in_every_worker(tmp_path: Path) -> None:
    router = RouterProcess(tmp_path, {"JUNCTION_UI_SESSION_CACHE_SECONDS": CACHE})
    router.extra_args = ["--workers", "2"]
    router.start(timeout=90)
    try:
        cookie, csrf = _login(router)
        # Fresh connections land on either worker: each one knows the session...
        assert [_page_status(router, cookie) for _ in range(16)] == [200] * 16
        _logout(router, cookie, csrf)
        time.sleep(float(CACHE) + 0.2)  # a worker may trust what it read for that long
        # ...and each one knows it ended.
        assert [_page_status(router, cookie) for _ in range(16)] == [303] * 16
    finally:
        router.stop()


def test_admin_key_rotation_ends_every_session(tmp_path: Path) -> None:
    env = {"JUNCTION_ADMIN_KEY_REFRESH_SECONDS": "0.3", "JUNCTION_UI_SESSION_CACHE_SECONDS": CACHE}
    router = RouterProcess(tmp_path, env)
    router.start(timeout=90, with_admin_key=False)
    try:
        printed = router.log().split("keep it safe:")[1].split()[0]
        cookie, _csrf = _login(router, printed)
        assert _page_status(router, cookie) == 200
        cli_env = {**os.environ, "JUNCTION_DATA_DIR": str(tmp_path)}
        cli_env.pop("JUNCTION_ADMIN_KEY", None)
        subprocess.run(
            [sys.executable, "-m", "junction", "admin-key", "rotate"],
            env=cli_env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        time.sleep(0.3 + float(CACHE) + 0.5)  # the router re-reads the key, the cache expires
        assert _page_status(router, cookie) == 303
        with sqlite3.connect(tmp_path / "junction.db") as db:
            assert db.execute("SELECT count(*) FROM ui_sessions").fetchone() == (0,)
    finally:
        router.stop()


def test_failed_logins_are_throttled_per_address(tmp_path: Path) -> None:
    env = {"JUNCTION_LOGIN_FAILURES_PER_MINUTE": "3"}
    router = RouterProcess(tmp_path, env).start(timeout=90)
    try:
        with httpx.Client(base_url=router.url, timeout=10) as client:
            statuses = []
            for _ in range(4):
                token = CSRF.search(client.get("/ui/login").text)
                assert token
                answer = client.post(
                    "/ui/login", data={"csrf": token.group(1), "admin_key": "ja-guess-" + "x" * 20}
                )
                statuses.append(answer.status_code)
            assert statuses == [401, 401, 401, 429]
            assert int(answer.headers["retry-after"]) > 0
            # Even the right key waits: the address is throttled, not the guess.
            token = CSRF.search(client.get("/ui/login").text)
            assert token
            right = client.post(
                "/ui/login", data={"csrf": token.group(1), "admin_key": router.admin_key}
            )
            assert right.status_code == 429
            # The admin API's bearer check shares the count: that address waits there too.
            right_key = {"Authorization": f"Bearer {router.admin_key}"}
            refused = client.get("/admin/v1/workspaces", headers=right_key)
            assert refused.status_code == 429
            assert refused.json()["error"]["type"] == "rate_limit_exceeded"
    finally:
        router.stop()


def test_a_short_admin_key_is_refused_at_start(tmp_path: Path) -> None:
    router = RouterProcess(tmp_path, {}, admin_key="ja-short")
    try:
        with pytest.raises(RuntimeError, match="JUNCTION_ADMIN_KEY is too short"):
            router.start(timeout=90)
    finally:
        router.stop()
