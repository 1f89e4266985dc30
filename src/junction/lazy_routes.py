"""Routes whose modules are imported on the first request under their path prefix.

The admin API and the admin UI import about a third of the router's libraries (their schemas,
templates, validation), which a router that only serves ``/v1`` never needs: they stay out of
its memory and its start until someone opens them. ``LazyRoutes`` stands in the route table
for them; the first request under its prefix runs ``load`` (which adds the real routes to the
app) and is then dispatched again, to the real routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send


class LazyRoutes(BaseRoute):
    def __init__(self, prefix: str, load: Callable[[], None]) -> None:
        self.prefix = prefix
        self._load = load
        self.loaded = False

    def ensure(self) -> None:
        """The real routes added (once)."""
        if not self.loaded:
            self._load()  # synchronous: no other request can run it a second time meanwhile
            self.loaded = True

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.loaded or scope["type"] != "http":
            return Match.NONE, {}
        path: str = scope["path"]
        if path == self.prefix or path.startswith(self.prefix + "/"):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.ensure()
        await scope["router"](scope, receive, send)  # now to the real routes

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)
