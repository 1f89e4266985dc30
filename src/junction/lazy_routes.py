"""Parts of the router built on the first request under their path prefix.

The admin API (FastAPI, its pydantic schemas), the admin UI (templates) and the API docs'
assets import libraries that a router which only serves ``/v1`` never needs: they stay out of
its memory and its start until someone opens them. ``LazyRoutes`` stands in the route table
for such a part; the first request under its prefix runs ``load``, which builds the part as an
ASGI app, and every request under the prefix is passed to that app with its scope unchanged
(full path, same root path), so the part's own routes carry the whole prefix.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

App = TypeVar("App", bound=Callable[[Scope, Receive, Send], Awaitable[None]])


class LazyRoutes(BaseRoute, Generic[App]):
    def __init__(self, prefix: str, load: Callable[[], App]) -> None:
        self.prefix = prefix
        self._load = load
        self._app: App | None = None

    def ensure(self) -> App:
        """The part, built once."""
        if self._app is None:
            self._app = self._load()  # synchronous: no other request can build it meanwhile
        return self._app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path: str = scope["path"]
        if path == self.prefix or path.startswith(self.prefix + "/"):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.ensure()(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)
