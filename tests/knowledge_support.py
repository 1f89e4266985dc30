"""Helpers of the knowledge tests: upload a file to an assistant, wait for its processing."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.conftest import RouterProcess


def upload(
    router: RouterProcess, ws: str, assistant: str, filename: str, data: bytes
) -> httpx.Response:
    with router.admin() as admin:
        return admin.post(
            f"/workspaces/{ws}/assistants/{assistant}/files",
            files={"file": (filename, data, "application/octet-stream")},
        )


def wait_done(
    router: RouterProcess, ws: str, assistant: str, file_id: str, timeout: float = 30.0
) -> dict[str, Any]:
    """The file once it is ``ready`` or ``failed``."""
    deadline = time.monotonic() + timeout
    with router.admin() as admin:
        while True:
            response = admin.get(f"/workspaces/{ws}/assistants/{assistant}/files/{file_id}")
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] != "processing":
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"file still processing after {timeout} s: {body}")
            time.sleep(0.1)


def add_file(
    router: RouterProcess, ws: str, assistant: str, filename: str, data: bytes
) -> dict[str, Any]:
    response = upload(router, ws, assistant, filename, data)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "processing"
    return wait_done(router, ws, assistant, response.json()["id"])
