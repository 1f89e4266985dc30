"""Messages for people: a refused field says what it allows in words (never a regular
expression), in the API and so in the UI next to the field; forms mark the fields they need and
their placeholders read as examples."""

from __future__ import annotations

import re

import httpx
import pytest

from junction.validation_words import describe_pattern
from tests.conftest import RouterProcess, Tenant
from tests.test_ui_http import login

REGEX_SIGNS = re.compile(r"\^|\$|\[[^\]]*-[^\]]*\]|\{\d+,\d+\}")


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (
            r"^[a-z0-9][a-z0-9_-]{0,62}$",
            "1 to 63 characters: lower-case letters, digits, '_' and '-', "
            "starting with a lower-case letter or digit",
        ),
        (
            r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$",
            "1 to 128 characters: letters, digits, '.', '_', ':', '@', '+' and '-', "
            "starting with a letter or digit",
        ),
        (r"^(\d{3}|[1-5]xx|error)$", "a status code such as 404, a class such as 5xx, or 'error'"),
        (r"^(?:x|y)+$", "in the expected form (see the API documentation at /docs)"),
    ],
)
def test_patterns_in_words(pattern: str, words: str) -> None:
    assert describe_pattern(pattern) == words
    assert not REGEX_SIGNS.search(words)


def _refused(response: httpx.Response, param: str) -> str:
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    assert error["param"] == param, error
    message: str = error["message"]
    assert not REGEX_SIGNS.search(message), message
    assert "pattern" not in message, message
    return message


def test_api_validation_errors_say_what_is_allowed(router: RouterProcess, tenant: Tenant) -> None:
    with router.admin() as admin:
        message = _refused(admin.post("/workspaces", json={"name": "Team A"}), "name")
        assert "lower-case letters, digits, '_' and '-'" in message
        message = _refused(
            admin.post(
                f"/workspaces/{tenant.name}/assistants", json={"name": "my bot", "model": "x/y"}
            ),
            "name",
        )
        assert "letters, digits, '.', '_', ':', '@', '+' and '-'" in message
        message = _refused(admin.post("/workspaces", json={"name": "ok", "colour": 1}), "colour")
        assert message == "colour: is not a field this accepts (check its spelling)"
        message = _refused(admin.post("/providers", json={"name": "p"}), "base_url")
        assert message == "base_url: is required"
        message = _refused(
            admin.post("/providers", json={"name": "p", "base_url": "ftp://x.example"}),
            "base_url",
        )
        assert message == "base_url: must be an http:// or https:// URL"
        message = _refused(admin.get(f"/workspaces/{tenant.name}/logs?status=5x"), "status")
        assert "a class such as 5xx" in message


def test_ui_forms_mark_required_fields_and_show_examples(router: RouterProcess) -> None:
    ui = login(router)
    try:
        pages = [ui.get("/ui/workspaces").text, ui.get("/ui/providers").text]
        for page in pages:
            assert '<span class="req">required</span>' in page
            inputs = re.findall(r"<input [^>]*>", page)
            required = [i for i in inputs if " required" in i]
            assert required, inputs
            for tag in inputs:
                placeholder = re.search(r'placeholder="([^"]*)"', tag)
                if placeholder and placeholder.group(1):
                    assert placeholder.group(1).startswith(("e.g. ", "empty: ")), tag
        # A name the API refuses comes back next to the field, in words.
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', pages[0])
        assert token
        answer = ui.post("/ui/workspaces", data={"csrf": token.group(1), "name": "Bad Name"})
        assert "lower-case letters, digits" in answer.text
        assert "should match pattern" not in answer.text
    finally:
        ui.close()


@pytest.mark.parametrize(
    "command", [[], ["keys", "create"], ["admin-key"], ["demo"], ["serve"], ["apply"]]
)
def test_cli_help_reads_plainly(command: list[str]) -> None:
    import subprocess
    import sys

    shown = subprocess.run(
        [sys.executable, "-m", "junction", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "--help" in shown and "Show this message and exit." in shown
    assert "<bool>" not in shown and "``" not in shown, shown
    options = [line for line in shown.splitlines() if line.lstrip().startswith("-")]
    assert not [line for line in options if "<" in line.split("  ")[0]], (
        "an option names its value (--url URL), not its Python type (--url <str>)"
    )
    cut_short = [line for line in shown.splitlines() if re.search(r"\w\.\.\.$", line)]
    assert not cut_short, "no summary is cut short"
