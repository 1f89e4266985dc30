"""The admin API, called in-process over ASGI with the logged-in admin's key.

The UI holds no business rules of its own: every read and write goes through the same routes,
validation and error mapping as ``/admin/v1`` (no socket, no HTTP client: the app is called
directly). Pages show what the API answers, including its 422s, next to the field concerned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from starlette.types import ASGIApp, Message

PREFIX = "/admin/v1"
_INDEX = re.compile(r"\[\d+\]$")


@dataclass(frozen=True)
class ApiResult:
    status: int
    data: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> dict[str, Any]:
        error = self.data.get("error") if isinstance(self.data, dict) else None
        if isinstance(error, dict):
            return error
        return {"message": f"The admin API answered {self.status}.", "param": None}

    @property
    def message(self) -> str:
        return str(self.error.get("message") or f"The admin API answered {self.status}.")

    @property
    def field(self) -> str | None:
        """The form field an error concerns: ``fallbacks[1]`` -> ``fallbacks``."""
        param = self.error.get("param")
        return _INDEX.sub("", str(param)) if param else None

    @property
    def route_missing(self) -> bool:
        """404 because this router has no such admin route (not: no such object)."""
        return self.status in (404, 405) and self.message.startswith("Unknown URL")

    def items(self) -> list[dict[str, Any]]:
        data = self.data.get("data") if self.ok and isinstance(self.data, dict) else None
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def path(*parts: str) -> str:
    """An admin API path from names (UI route parameters never hold a '/')."""
    return PREFIX + "".join("/" + p.replace("/", "") for p in parts)


class AdminApi:
    def __init__(self, app: ASGIApp, admin_key: str) -> None:
        self._app = app
        self._auth = f"Bearer {admin_key}".encode()

    async def get(self, url: str, **params: Any) -> ApiResult:
        return await self.request("GET", url, params=params)

    async def post(self, url: str, body: Any = None) -> ApiResult:
        return await self.request("POST", url, body)

    async def patch(self, url: str, body: Any) -> ApiResult:
        return await self.request("PATCH", url, body)

    async def delete(self, url: str) -> ApiResult:
        return await self.request("DELETE", url)

    async def upload(self, url: str, raw: bytes, content_type: str) -> ApiResult:
        """A multipart body passed on as the browser sent it (knowledge file uploads)."""
        return await self.request("POST", url, raw=raw, content_type=content_type)

    async def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> ApiResult:
        query = urlencode({k: v for k, v in (params or {}).items() if v not in (None, "")})
        if raw is None and body is not None:
            raw = orjson.dumps(body)
        headers = [(b"authorization", self._auth), (b"host", b"junction-ui")]
        if raw is not None:
            headers += [
                (b"content-type", content_type.encode("latin-1")),
                (b"content-length", str(len(raw)).encode()),
            ]
        raw = raw or b""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": url,
            "raw_path": quote(url, safe="/:@+").encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 0),
            "server": ("junction-ui", 80),
        }
        sent = False
        status = 500
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self._app(scope, receive, send)
        except Exception:  # the app already answered 500; the page says so
            if not chunks:
                return ApiResult(500, None)
        payload = b"".join(chunks)
        try:
            data = orjson.loads(payload) if payload else None
        except orjson.JSONDecodeError:
            data = None
        return ApiResult(status, data)
