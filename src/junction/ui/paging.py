"""One page of an admin list for the UI: a search in the names and First/Next links, so no
page lists a whole catalog (the workspace list, a workspace's keys, its assistants); or a
list's size and first names, for a page that only has to say how much there is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from junction.ui.api import AdminApi, ApiResult
from junction.ui.web import Page

UI_PAGE = 25  # rows per page of a list
API_PAGE = 1000  # the admin API's largest page
TALLY_PAGES = 20  # pages a count reads at most: beyond, the page says "more than"


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


@dataclass(frozen=True)
class Tally:
    count: int
    names: list[str]  # the first ones
    complete: bool  # False: there are more than ``count``

    @property
    def more(self) -> int:
        """How many are not named."""
        return self.count - len(self.names)


async def tally(api: AdminApi, url: str, named: int = 10, **params: str) -> Tally:
    """How many items the admin list at ``url`` holds (up to ``TALLY_PAGES`` of the API's
    largest pages) and the first ``named`` names."""
    count, names = 0, list[str]()
    cursor: str | None = ""
    for _ in range(TALLY_PAGES):
        result = await api.get(url, cursor=cursor, limit=API_PAGE, **params)
        items = result.items()
        count += len(items)
        names += [str(item.get("name")) for item in items[: named - len(names)]]
        cursor = (result.data or {}).get("next_cursor") if result.ok else None
        if not cursor:
            return Tally(count, names, True)
    return Tally(count, names, False)
