"""Compact JSON text for the database: what the readers (`json.loads`) get back is what was written."""

from __future__ import annotations

import json

import pytest

from storage.codec import json_to_db


@pytest.mark.parametrize(
    "value",
    [
        {"leg": 1, "client_order_id": "t-abc", "quantity": "100", "limit_price": None, "reconciled": False},
        {"kind": "open", "take_profits": ["160", "165"], "entry": {"type": "limit", "price": "150.25"}},
        {"parse_us": 23.4, "message": "stop above a buy's entry ⚠️"},
    ],
)
def test_round_trips_and_matches_the_standard_librarys_compact_form(value: dict[str, object]) -> None:
    text = json_to_db(value)
    assert json.loads(text) == value
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_what_orjson_refuses_still_encodes() -> None:
    """An integer past 64 bits and a key that is not a string: the standard library's encoder takes them."""
    value = {"big": 2**70, 7: "seven"}
    assert json.loads(json_to_db(value)) == {"big": 2**70, "7": "seven"}


def test_what_no_encoder_takes_is_an_error() -> None:
    with pytest.raises(TypeError):
        json_to_db({"when": object()})
