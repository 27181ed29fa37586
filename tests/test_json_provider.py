"""JSON answers are written by orjson but look exactly as Flask's own provider writes them."""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import jsonify


@dataclass
class _Point:
    x: int


def test_jsonify_keeps_flasks_output(app):
    value = {
        "b": 0.1,
        "a": "丽水市",
        3: date(2026, 1, 2),
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "d": Decimal("1.50"),
        "u": uuid.UUID(int=5),
        "p": _Point(1),
    }
    with app.test_request_context():
        body = jsonify(value).get_data()
    assert body.endswith(b"\n")
    assert "丽水市".encode() in body  # not \u-escaped
    parsed = json.loads(body)
    assert list(parsed) == sorted(parsed)
    assert parsed == {
        "3": "Fri, 02 Jan 2026 00:00:00 GMT",
        "a": "丽水市",
        "b": 0.1,
        "d": "1.50",
        "p": {"x": 1},
        "u": "00000000-0000-0000-0000-000000000005",
        "when": "Fri, 02 Jan 2026 03:04:05 GMT",
    }


def test_dumps_with_options_falls_back_to_the_standard_library(app):
    assert app.json.dumps({"a": 1}, indent=1) == '{\n "a": 1\n}'


def test_unserialisable_values_raise_type_error(app):
    with app.test_request_context(), pytest.raises(TypeError):
        jsonify({"s": object()})
