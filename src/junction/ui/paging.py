"""One page of an admin list for the UI: a search in the names and First/Next links, so no
page lists a whole catalog (the workspace list, a workspace's keys, its assistants)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from junction.ui.api import ApiResult
from junction.ui.web import Page

UI_PAGE = 25  # rows per page of a list


@dataclass(frozen=True)
class Listing:
    result: ApiResult
    search: str
    paged: bool  # past the first page
    next_cursor: str | None

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.result.items()


async def list_page(p: Page, url: str, prefix: str = "", **params: str) -> Listing:
    """The page of the admin list at ``url`` that the query asks for: ``<prefix>search``
    (part of a name) and ``<prefix>cursor`` (from the previous page's Next link). A prefix
    keeps two lists on one page apart."""
    query = p.request.query_params
    search = query.get(prefix + "search", "").strip()[:128]
    cursor = query.get(prefix + "cursor", "")
    result = await p.api.get(url, search=search, cursor=cursor, limit=UI_PAGE, **params)
    next_cursor = (result.data or {}).get("next_cursor") if result.ok else None
    return Listing(result, search, bool(cursor), next_cursor)
