"""``/metrics`` and ``/readyz`` to an anonymous caller: metrics need a token unless made public;
readiness says only ready or not, details to the admin key."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import RouterProcess


def test_metrics_need_a_token(tmp_path: Path) -> None:
    token = "metrics-token-" + "0" * 24
    router = RouterProcess(tmp_path, {"JUNCTION_METRICS_TOKEN": token}).start()
    try:
        anonymous = httpx.get(router.url + "/metrics")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "invalid_api_key"
        wrong = httpx.get(router.url + "/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        for secret in (token, router.admin_key):
            scraped = httpx.get(
                router.url + "/metrics", headers={"Authorization": f"Bearer {secret}"}
            )
            assert scraped.status_code == 200
            assert "junction_requests_total" in scraped.text
        ready = httpx.get(router.url + "/readyz")
        assert ready.json() == {
            "status": "ready",
            "checks": {"database": "ok", "providers": "ok"},
        }
    finally:
        router.stop()


def test_metrics_can_be_made_public(tmp_path: Path) -> None:
    router = RouterProcess(tmp_path, {"JUNCTION_METRICS_PUBLIC": "true"}).start()
    try:
        assert httpx.get(router.url + "/metrics").status_code == 200
    finally:
        router.stop()
