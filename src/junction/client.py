"""An async client for the admin API: what the CLI and ``apply`` speak to a router through."""

from __future__ import annotations

from typing import Any

import httpx

LIST_PAGE = 1000


class AdminAPIError(Exception):
    """The router answered with an error, or could not be reached (``status`` 0)."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param


class AdminClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @classmethod
    def connect(cls, url: str, admin_key: str, timeout: float = 30.0) -> AdminClient:
        return cls(
            httpx.AsyncClient(
                base_url=url.rstrip("/") + "/admin/v1",
                headers={"Authorization": f"Bearer {admin_key}"},
                timeout=timeout,
            )
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        try:
            response = await self._http.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise AdminAPIError(0, f"cannot reach the router: {exc}") from exc
        return _answer(response)

    async def upload(self, path: str, filename: str, data: bytes) -> Any:
        """A multipart upload in the field ``file`` (an assistant's knowledge files)."""
        try:
            response = await self._http.post(path, files={"file": (filename, data)})
        except httpx.HTTPError as exc:
            raise AdminAPIError(0, f"cannot reach the router: {exc}") from exc
        return _answer(response)

    async def download(self, path: str) -> bytes:
        """A body as bytes (a knowledge file's content)."""
        try:
            response = await self._http.get(path)
        except httpx.HTTPError as exc:
            raise AdminAPIError(0, f"cannot reach the router: {exc}") from exc
        if response.status_code >= 400:
            _answer(response)  # raises with the router's message
        return response.content

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.request("POST", path, body)

    async def patch(self, path: str, body: Any) -> Any:
        return await self.request("PATCH", path, body)

    async def delete(self, path: str) -> Any:
        return await self.request("DELETE", path)

    async def list(self, path: str, **filters: Any) -> list[dict[str, Any]]:
        """Every item of a list, following ``next_cursor`` page by page."""
        data: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": LIST_PAGE, **filters}
        while True:
            answer = await self.request("GET", path, params=params)
            data += answer["data"]
            if not answer.get("next_cursor"):
                return data
            params["cursor"] = answer["next_cursor"]


def _answer(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
            raise AdminAPIError(response.status_code, error["message"], error.get("param"))
        except (ValueError, KeyError, TypeError):
            raise AdminAPIError(response.status_code, response.text[:500]) from None
    return response.json() if response.content else None
