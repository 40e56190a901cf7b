"""GraphQL responses are compact UTF-8 JSON, whatever encoder wrote them."""

import json

from core.api.view import compact_json


def test_responses_are_compact_utf8_json_equal_to_the_standard_encoding():
    value = {"data": {"products": [{"name": "订货 Ω", "price": "1.50", "n": 3, "ok": True}]}}
    text = compact_json(value)
    assert json.loads(text) == value
    assert "订货 Ω" in text and ", " not in text and ": " not in text


def test_what_orjson_refuses_is_encoded_by_the_standard_library():
    value = {"data": {"attributes": {"serial": 2**70}}, "extensions": {1: "int key"}}
    assert json.loads(compact_json(value)) == {
        "data": {"attributes": {"serial": 2**70}},
        "extensions": {"1": "int key"},
    }
