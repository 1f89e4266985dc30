"""The UI's pure helpers: dashboard figures from usage rows, the window control, health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request

from junction.ui.api import ApiResult
from junction.ui.insights import over_time
from junction.ui.openai_settings import window_parts, window_value
from junction.ui.providers import TOKENIZER_LABELS, health_view, kinds
from junction.ui.web import make_templates


def test_over_time_charts_the_usage_series_and_total() -> None:
    until = datetime(2026, 1, 2, 12, 30, tzinfo=UTC)
    since = (until - timedelta(hours=24)).replace(minute=0)
    hour = (until - timedelta(hours=1)).replace(minute=0).isoformat()
    series = [
        {"hour": hour, "requests": 3, "errors": 1, "prompt_tokens": 3, "completion_tokens": 4}
        | {"latency_p50_ms": 300.0, "latency_p95_ms": 900.0},
        {"hour": (since - timedelta(hours=3)).isoformat(), "requests": 5},  # outside the range
        {"hour": "not a time", "requests": 7},
    ]
    total = {"requests": 3, "errors": 1, "prompt_tokens": 3, "completion_tokens": 4}
    stats = over_time(series, total | {"latency_p95_ms": 900.0}, since, until, "hour")
    assert stats["total_requests"] == 3
    assert stats["total_errors"] == 1
    assert stats["total_tokens"] == 7
    assert stats["p95"] == 900.0
    svg = str(stats["latency"])
    assert svg.startswith("<svg") and "p50 300" in svg and "p95 900" in svg
    assert "errors 1" in str(stats["requests"])
    by_day = over_time([{"day": "2026-01-02", "requests": 2}], {}, since, until, "day")
    assert "requests 2" in str(by_day["requests"]) and by_day["p95"] is None


def test_window_control_round_trips() -> None:
    assert window_parts("40%") == ("percent", "40")
    assert window_parts(4096) == ("tokens", "4096")
    assert window_parts(None) == ("none", "")
    assert window_value("percent", "40") == "40%"
    assert window_value("tokens", "4096") == "4096"
    assert window_value("none", "4096") is None


def test_provider_health_as_the_api_reports_it() -> None:
    assert health_view({"health": None}) is None
    assert health_view({}) is None
    view = health_view(
        {
            "health": {
                "status": "degraded",
                "latency_ms": 12.5,
                "last_error": "upstream answered 500",
                "last_error_at": 1_800_000_000.0,
                "deployments": [
                    {"deployment": "lab/echo", "status": "healthy", "last_error_at": None},
                    "not a deployment",
                ],
            }
        }
    )
    assert view is not None
    assert view["status"] == "degraded" and view["latency_ms"] == 12.5
    assert view["last_error_at"] == "2027-01-15 08:00:00 UTC"
    assert [d["deployment"] for d in view["deployments"]] == ["lab/echo"]


def test_api_results_tell_a_missing_route_from_a_missing_object() -> None:
    def error(status: int, message: str, param: str | None = None) -> ApiResult:
        return ApiResult(status, {"error": {"message": message, "param": param}})

    assert error(404, "Unknown URL: GET /admin/v1/workspaces/x/logs").route_missing
    assert not error(404, "No workspace named 'x'.", "ws").route_missing
    assert error(422, "fallbacks[1]: bad", "fallbacks[1]").field == "fallbacks"
    assert ApiResult(500, None).message == "The admin API answered 500."
    assert ApiResult(200, {"data": [{"a": 1}, "junk"]}).items() == [{"a": 1}]


def test_providers_page_renders_health_fields() -> None:
    """The template with a provider as the routing work reports it (health per deployment)."""
    provider = {
        "name": "lab",
        "kind": "openai",
        "base_url": "http://127.0.0.1:1/v1",
        "has_api_key": False,
        "tokenizer": "vllm",
        "models": [{"name": "echo", "context_length": 8192, "source": "discovered"}],
        "discovered_at": "2026-01-01T00:00:00Z",
        "discovery_error": None,
        "health": {
            "status": "cooldown",
            "latency_ms": 812.4,
            "last_error": "upstream answered 503",
            "last_error_at": 1_800_000_000.0,
            "deployments": [
                {
                    "deployment": "lab/echo",
                    "status": "cooldown",
                    "latency_ms": 812.4,
                    "successes": 3,
                    "failures": 4,
                    "cooldown_remaining_s": 12.5,
                    "last_error": "upstream answered 503",
                    "last_error_at": 1_800_000_000.0,
                }
            ],
        },
    }
    html = (
        make_templates()
        .get_template("providers.html")
        .render(
            request=Request({"type": "http", "query_string": b"", "headers": []}),
            csrf="t",
            logged_in=True,
            providers=[{**provider, "health_view": health_view(provider)}],
            kinds=kinds(),
            hints={},
            tokenizers=TOKENIZER_LABELS,
            errors={},
            values={"kind": "openai"},
            notice="",
        )
    )
    assert "<dd>vLLM&#39;s /tokenize</dd>" in html
    assert '<span class="badge bad">cooldown</span>' in html
    assert "812 ms" in html and "3 / 4" in html and "12.5 s" in html
    assert "upstream answered 503" in html and "2027-01-15 08:00:00 UTC" in html
