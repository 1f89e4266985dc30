"""One provider of each kind (``openai``, ``ollama``, ``anthropic``) on the shared router, each
backed by its loopback upstream: for front doors that must work whatever serves the model.

Import the fixture into a test module: ``from tests.kinds import kinds_fixture  # noqa: F401``
(its name there is ``kinds``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import RouterProcess
from tests.upstream import Upstream
from tests.upstream_anthropic import API_KEY, AnthropicState, start_anthropic
from tests.upstream_ollama import OllamaState, start_ollama


@dataclass
class Kinds:
    """``models`` maps each kind to the ``<provider>/<model>`` an assistant names."""

    models: dict[str, str]
    openai: Upstream
    ollama: OllamaState
    anthropic: AnthropicState


KIND_NAMES = ("openai", "ollama", "anthropic")


@pytest.fixture(scope="session", name="kinds")
def kinds_fixture(router: RouterProcess, upstream: Upstream, provider: str) -> Iterator[Kinds]:
    ollama, ollama_server = start_ollama()
    anthropic, anthropic_server = start_anthropic()
    suffix = secrets.token_hex(3)
    with router.admin() as admin:
        for name, kind, url, key in (
            (f"ollama-{suffix}", "ollama", ollama.url, None),
            (f"claude-{suffix}", "anthropic", anthropic.url, API_KEY),
        ):
            body = {"name": name, "kind": kind, "base_url": url}
            if key:
                body["api_key"] = key
            response = admin.post("/providers", json=body)
            assert response.status_code == 201, response.text
            assert response.json()["discovery_error"] is None
    yield Kinds(
        {
            "openai": f"{provider}/echo",
            "ollama": f"ollama-{suffix}/llama3.2:3b",
            "anthropic": f"claude-{suffix}/claude-test",
        },
        upstream,
        ollama,
        anthropic,
    )
    ollama_server.stop()
    anthropic_server.stop()
