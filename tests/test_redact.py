"""``redact``: credential-like text out of what upstreams say; ordinary text left alone."""

from __future__ import annotations

import pytest

from junction.security.redact import MASK, redact

LEAKS = [
    ("Authorization: Bearer sk-live-abcdef1234567890", "sk-live-abcdef1234567890"),
    ("bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig", "eyJhbGciOiJIUzI1NiJ9"),
    ("key sk-proj-AbCdEf0123456789 is invalid", "sk-proj-AbCdEf0123456789"),
    ("x-api-key: sk-ant-api03-xyzxyzxyzxyz", "sk-ant-api03-xyzxyzxyzxyz"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    ("id AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
    ('{"api_key": "abc123456789"}', "abc123456789"),
    ("password=hunter2hunter2&user=x", "hunter2hunter2"),
    ("client_secret: s3cr3t-value", "s3cr3t-value"),
    ("proxy http://user:pa55word@10.0.0.1:3128 refused", "pa55word"),
    ("github token ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_abcdefghijklmnopqrstuvwxyz0123"),
    ("jk-0123456789abcdefghij leaked", "jk-0123456789abcdefghij"),
]
KEPT = [
    "temperature must be at most 2",
    "max_tokens: 5000 is more than the model's 4096 tokens",
    "This model's maximum context length is 8192 tokens.",
    "model 'llama3:8b' not found, try pulling it first",
]


@pytest.mark.parametrize(("text", "secret"), LEAKS)
def test_credentials_are_removed(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert MASK in cleaned


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_known_secrets_are_removed_wherever_they_appear() -> None:
    assert redact("echo of my-custom-header-value!", ["my-custom-header-value"]) == (
        f"echo of {MASK}!"
    )


def test_cost_is_linear_in_hostile_text() -> None:
    """Long runs of name characters (what a hostile upstream may send) cost no backtracking."""
    import time

    for text in ("e" * 65536, "a_" * 32768, "token" * 13000, "x=" * 32768):
        started = time.perf_counter()
        redact(text)
        assert time.perf_counter() - started < 2.0, text[:10]  # quadratic: minutes
