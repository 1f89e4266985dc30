"""``check_sampling``: OpenAI's ranges for sampling parameters, 400 naming ``param``; and the
same through the data plane with the official ``openai`` client."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from junction.errors import InvalidRequest
from junction.hardening.sampling import check_sampling
from tests.conftest import Tenant

IN_RANGE: list[dict[str, Any]] = [
    {},
    {"temperature": 0, "top_p": 1, "n": 1},
    {"temperature": 2.0, "top_p": 0.0, "presence_penalty": -2, "frequency_penalty": 2},
    {"temperature": None, "top_p": None, "seed": -(2**63), "top_logprobs": 20},
    {"n": 128, "seed": 2**63 - 1},
]
OUT_OF_RANGE: list[tuple[dict[str, Any], str]] = [
    ({"temperature": 99}, "temperature"),
    ({"temperature": -1}, "temperature"),
    ({"temperature": float("nan")}, "temperature"),
    ({"temperature": "hot"}, "temperature"),
    ({"temperature": True}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"top_p": -0.1}, "top_p"),
    ({"presence_penalty": 2.5}, "presence_penalty"),
    ({"frequency_penalty": -3}, "frequency_penalty"),
    ({"n": 0}, "n"),
    ({"n": 1.5}, "n"),
    ({"n": 1000}, "n"),
    ({"top_logprobs": 21}, "top_logprobs"),
    ({"seed": 2**63}, "seed"),
]


@pytest.mark.parametrize("body", IN_RANGE)
def test_values_in_range_pass(body: dict[str, Any]) -> None:
    check_sampling(body)


@pytest.mark.parametrize(("body", "param"), OUT_OF_RANGE)
def test_values_out_of_range_name_their_param(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_sampling(body)
    assert caught.value.param == param
    assert caught.value.status_code == 400
    assert param in caught.value.message


def test_the_data_plane_refuses_out_of_range_sampling(tenant: Tenant) -> None:
    tenant.assistant("bot")
    with tenant.client() as client:
        for field, value in (("temperature", 99), ("top_p", 2), ("presence_penalty", -5)):
            with pytest.raises(openai.BadRequestError) as caught:
                client.chat.completions.create(
                    model="bot",
                    messages=[{"role": "user", "content": "hi"}],
                    **{field: value},  # type: ignore[arg-type]
                )
            assert caught.value.body["param"] == field  # type: ignore[index]
        answer = client.chat.completions.create(
            model="bot", messages=[{"role": "user", "content": "hi"}], temperature=2
        )
        assert answer.choices[0].message.content
