"""The deterministic checks of the quality gate, one by one (pure functions: no server)."""

from __future__ import annotations

from typing import Any

import pytest

from junction.pipeline.accumulator import StreamAccumulator
from junction.quality.schema import problem
from junction.quality.scorer import CEILINGS, score_answer


def answer(content: Any = "A fine answer.", finish: str = "stop", **message: Any) -> Any:
    return {
        "choices": [
            {"index": 0, "finish_reason": finish, "message": {"content": content, **message}}
        ]
    }


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }
]


def call(arguments: str, name: str = "lookup") -> dict[str, Any]:
    return {"id": "c", "type": "function", "function": {"name": name, "arguments": arguments}}


def test_a_good_answer_scores_100() -> None:
    assert score_answer(answer(), {}).score == 100


@pytest.mark.parametrize("content", ["", "   \n\t", None])
def test_empty(content: Any) -> None:
    verdict = score_answer(answer(content), {})
    assert verdict.score == 0 and verdict.failed == ("empty",)


def test_cut_off() -> None:
    assert score_answer(answer(finish="length"), {}).score == CEILINGS["cut_off"] == 40


def test_repetition() -> None:
    loop = "the cat sat on the mat " * 20
    assert score_answer(answer(loop), {}).failed == ("repetition",)
    assert score_answer(answer("ha" * 400), {}).failed == ("repetition",)
    prose = " ".join(f"word{i}" for i in range(200))
    assert score_answer(answer(prose), {}).score == 100


def test_json_output() -> None:
    wants_object = {"response_format": {"type": "json_object"}}
    assert score_answer(answer('{"a": 1}'), wants_object).score == 100
    assert score_answer(answer("Sure! {a: 1}"), wants_object).failed == ("invalid_json",)
    assert score_answer(answer("[1, 2]"), wants_object).score == 10
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    wants_schema = {"response_format": {"type": "json_schema", "json_schema": {"schema": schema}}}
    assert score_answer(answer('{"n": 3}'), wants_schema).score == 100
    verdict = score_answer(answer('{"n": "three"}'), wants_schema)
    assert verdict.score == 10 and "$.n should be integer" in verdict.detail
    assert score_answer(answer("not json"), {}).score == 100, "only checked when asked for"


def test_tool_arguments() -> None:
    request = {"tools": TOOLS}
    good = answer(None, "tool_calls", tool_calls=[call('{"city": "Oslo", "days": 2}')])
    assert score_answer(good, request).score == 100
    for bad, why in [
        (call('{"city": "Oslo"'), "not valid JSON"),
        (call('["Oslo"]'), "not a JSON object"),
        (call('{"days": 2}'), "$.city is required"),
        (call('{"city": "Oslo", "mood": "sad"}'), "$.mood is not allowed"),
        (call('{"city": 5}'), "$.city should be string"),
        (call('{"city": "Oslo"}', name="launch"), "did not offer"),
    ]:
        verdict = score_answer(answer(None, "tool_calls", tool_calls=[bad]), request)
        assert verdict.score == 10 and why in verdict.detail, (bad, verdict)


def test_refusal() -> None:
    text = "I\u2019m sorry, but I can\u2019t help with that request."
    assert score_answer(answer(text), {}).failed == ("refusal",)
    assert score_answer(answer("Fine.", refusal="No."), {}).score == 30
    late = "Here is the answer. " + "x " * 150 + "I cannot help with more."
    assert "refusal" not in score_answer(answer(late), {}).failed


def test_the_lowest_ceiling_wins() -> None:
    verdict = score_answer(answer("I must decline." + "", finish="length"), {})
    assert set(verdict.failed) == {"refusal", "cut_off"}
    assert verdict.score == 30


def test_schema_subset() -> None:
    assert problem([1, "x"], {"type": "array", "items": {"type": "integer"}}) == (
        "$[1] should be integer"
    )
    assert problem(True, {"type": "integer"}) == "$ should be integer"
    assert problem(2.0, {"type": "integer"}) is None
    assert problem("b", {"enum": ["a"]}) == "$ is not one of the allowed values"
    assert problem({"x": None}, {"properties": {"x": {"type": ["string", "null"]}}}) is None
    assert problem({"x": 1}, {"$ref": "#/elsewhere"}) is None, "unsupported keywords pass"


def test_stream_accumulator_rebuilds_the_answer() -> None:
    transcript = StreamAccumulator()
    for delta, finish in [
        ({"role": "assistant", "content": ""}, None),
        ({"tool_calls": [{"index": 0, "function": {"name": "lookup", "arguments": '{"ci'}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]}, None),
        ({}, "tool_calls"),
    ]:
        transcript.feed({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    rebuilt = transcript.answer()
    assert rebuilt["choices"][0]["message"]["tool_calls"][0]["function"] == {
        "name": "lookup",
        "arguments": '{"city": "Oslo"}',
    }
    assert score_answer(rebuilt, {"tools": TOOLS}).score == 100
