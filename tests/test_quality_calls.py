"""What the quality gate leaves on the ``Call`` records that logging and accounting read: the
score of a streamed answer (scored after the stream), and the judge's own call with its tokens.
The real app runs in-process here so that a test observer can see the calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from junction.app import create_app
from junction.core.call import Call
from junction.settings import Settings
from tests.upstream_scripted import ScriptedUpstream, start_scripted

ADMIN = {"Authorization": "Bearer ja-quality-test-0123456789"}


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedUpstream]:
    state, server = start_scripted()
    yield state
    server.stop()


def test_stream_scores_and_judge_calls_are_recorded(
    tmp_path: Path, scripted: ScriptedUpstream
) -> None:
    app = create_app(Settings(data_dir=tmp_path, admin_key="ja-quality-test-0123456789"))
    calls: list[Call] = []
    app.state.runtime.call_observers.append(calls.append)
    with TestClient(app) as client:
        models = [{"name": "qa-answer"}, {"name": "qa-judge"}]
        body = {"name": "up", "base_url": scripted.url, "models": models}
        assert client.post("/admin/v1/providers", json=body, headers=ADMIN).status_code == 201
        assert client.post("/admin/v1/workspaces", json={"name": "w"}, headers=ADMIN).is_success
        key = client.post("/admin/v1/workspaces/w/keys", json={"name": "k"}, headers=ADMIN)
        auth = {"Authorization": f"Bearer {key.json()['key']}"}
        for name, model, score in [("judge", "up/qa-judge", 0), ("graded", "up/qa-answer", 50)]:
            body = {"name": name, "model": model, "quality_score": score}
            response = client.post("/admin/v1/workspaces/w/assistants", json=body, headers=ADMIN)
            assert response.status_code == 201, response.text
        patch = client.patch(
            "/admin/v1/workspaces/w", json={"judge_assistant": "judge"}, headers=ADMIN
        )
        assert patch.status_code == 200

        scripted.plan("qa-answer", "text=A fine streamed answer.")
        scripted.plan("qa-judge", "text=88")
        request = {
            "model": "graded",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
        }
        with client.stream("POST", "/v1/chat/completions", json=request, headers=auth) as r:
            assert r.status_code == 200
            assert "x-junction-quality-score" not in r.headers, "scored after the fact"
            text = "".join(r.iter_text())
        assert "A fine" in text and text.rstrip().endswith("data: [DONE]")

        scripted.plan("qa-answer", "text=  ")
        request = {"model": "graded", "messages": [{"role": "user", "content": "hi"}]}
        r = client.post("/v1/chat/completions", json=request, headers=auth)
        assert r.headers["x-junction-quality-score"] == "0", "nothing better: the best is returned"

    judged, streamed, empty = calls[-3:]  # the judge's call ends inside the stream's
    assert streamed.endpoint == "chat.completions" and streamed.stream
    assert streamed.quality_score == 88
    assert streamed.notes["quality"] == [{"score": 88, "failed": [], "detail": "", "judge": 88}]
    assert judged.endpoint == "quality.judge"
    assert judged.workspace is not None and judged.workspace.name == "w"
    assert judged.assistant is not None and judged.assistant.name == "judge"
    assert (judged.prompt_tokens, judged.completion_tokens) == (5, 3)
    assert judged.deployment == "up/qa-judge"
    assert empty.quality_score == 0
    assert empty.notes["quality"][0]["failed"] == ["empty"]
    assert scripted.calls("qa-judge") == ["text=88"], "the judge is not paid for a failed answer"


def test_routing_notes_on_the_call(tmp_path: Path, scripted: ScriptedUpstream) -> None:
    settings = Settings(
        data_dir=tmp_path, admin_key="ja-quality-test-0123456789", routing_backoff_base=0.01
    )
    app = create_app(settings)
    calls: list[Call] = []
    app.state.runtime.call_observers.append(calls.append)
    with TestClient(app) as client:
        models = [{"name": "rn-first"}, {"name": "rn-second"}]
        body = {"name": "up", "base_url": scripted.url, "models": models}
        assert client.post("/admin/v1/providers", json=body, headers=ADMIN).status_code == 201
        assert client.post("/admin/v1/workspaces", json={"name": "w"}, headers=ADMIN).is_success
        key = client.post("/admin/v1/workspaces/w/keys", json={"name": "k"}, headers=ADMIN)
        auth = {"Authorization": f"Bearer {key.json()['key']}"}
        body = {"name": "bot", "model": "up/rn-first", "fallbacks": ["up/rn-second"]}
        assert client.post("/admin/v1/workspaces/w/assistants", json=body, headers=ADMIN).is_success
        request = {"model": "bot", "messages": [{"role": "user", "content": "hi"}]}

        scripted.plan("rn-first", "500", "503", "502")
        response = client.post("/v1/chat/completions", json=request, headers=auth)
        assert response.status_code == 200
        served = calls[-1]
        assert (served.deployment, served.attempts) == ("up/rn-second", 4)
        assert [f["status"] for f in served.notes["routing_failures"]] == [502, 503, 502]
        assert served.notes["fallback_reason"] == (
            "up/rn-first: provider 'up' failed (upstream 502) [upstream said: scripted 502]"
        )

        scripted.plan("rn-second", "500", "500", "500")
        response = client.post("/v1/chat/completions", json=request, headers=auth)
        assert response.status_code == 502
        failed = calls[-1]
        assert failed.status == 502
        # rn-first is cooling down after its three failures: skipped, not asked.
        assert [f["deployment"] for f in failed.notes["routing_failures"]] == ["up/rn-second"] * 3
    assert scripted.calls("rn-first") == ["500", "503", "502"]
