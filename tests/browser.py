"""Playwright driving Debian's Chromium (``/usr/bin/chromium``) for the admin UI tests.

Playwright's own browser download is not used: ``.ci/run`` installs Chromium with apt when it is
missing. A missing browser fails the tests; it never skips them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("JUNCTION_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_ROOT = Path(__file__).resolve().parent.parent
# The README's screenshots (docs/screenshots, tracked) are rewritten only when asked for;
# otherwise a test run leaves them in the untracked test-artifacts/ folder.
DOCS_SCREENSHOTS = _ROOT / "docs" / "screenshots"
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if os.environ.get("JUNCTION_UPDATE_SCREENSHOTS") == "1"
    else _ROOT / "test-artifacts" / "screenshots"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shot(page: Page, name: str, full_page: bool = False) -> None:
    """A screenshot of the page: test-artifacts/screenshots/<name>.png, or the README's
    docs/screenshots/<name>.png with ``JUNCTION_UPDATE_SCREENSHOTS=1``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
