"""JSON answers (``web.json_provider``) carry the values Flask's own provider writes."""

from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from collections import namedtuple
from datetime import UTC, date, datetime, time
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from tests.factories import make_instance
from web.json_provider import JSONProvider

pytest_plugins = ["tests.web_fixtures"]


@dataclasses.dataclass
class Payee:
    username: str
    paid_on: date


class Grade(enum.StrEnum):
    FIRST = "first"


class Level(enum.IntEnum):
    ONE = 1


class Text(str):
    pass


Pair = namedtuple("Pair", "left right")

VALUES = {
    "scalars": {"b": True, "n": None, "i": -7, "f": 1e16, "small": 1e-7, "negative_zero": -0.0},
    "unsorted keys": {"zeta": 1, "alpha": {"y": [1, {"b": 2, "a": 1}], "x": "中文"}},
    "tuples": ("a", (1, 2)),
    "money": Decimal("1234.50"),
    "moment": datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC),
    "moment in a zone": datetime(2025, 3, 4, 5, 6, 7, tzinfo=ZoneInfo("Asia/Shanghai")),
    "day": date(2025, 3, 4),
    "uuid": uuid.UUID(int=42),
    "dataclass": Payee("demo_proposer", date(2025, 1, 2)),
    "markup": Markup("<b>1</b>"),
    "str enum": Grade.FIRST,
    "int enum": Level.ONE,
    "str subclass": Text("text"),
    "str subclass key": {Text("k"): 1},
    "named tuple": Pair(1, 2),
    "big integer": 2**80,
    "integer keys": {10: "ten", 2: "two"},
    "lone surrogate": "\ud800",
    "control and separator characters": "a\x00\x1f\u2028\u2029</script>",
    "emoji": "\U0001f600",
}

REFUSED = {
    "time of day": time(1, 2),
    "mapping proxy": MappingProxyType({"a": 1}),
    "set": {1, 2},
    "bytes": b"raw",
    "mixed keys": {1: "a", "b": 2},
}


def _flask_app(provider: type[DefaultJSONProvider], *, debug: bool = False) -> Flask:
    app = Flask(__name__)
    app.json = provider(app)
    app.debug = debug
    return app


def _answer(provider: type[DefaultJSONProvider], value: object, *, debug: bool = False) -> bytes:
    app = _flask_app(provider, debug=debug)
    with app.app_context():
        response = jsonify(value)
    assert response.mimetype == "application/json"
    return response.get_data()


@pytest.mark.parametrize("name", sorted(VALUES))
def test_web__answers_hold_what_flasks_provider_writes(name):
    value = VALUES[name]
    ours = _answer(JSONProvider, value)
    theirs = _answer(DefaultJSONProvider, value)
    assert json.loads(ours) == json.loads(theirs)
    assert ours.endswith(b"\n")


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_web__what_flask_refuses_is_still_refused(name):
    with pytest.raises(TypeError):
        _answer(DefaultJSONProvider, REFUSED[name])
    with pytest.raises(TypeError):
        _answer(JSONProvider, REFUSED[name])


def test_web__keys_are_sorted_and_text_is_utf8_not_escaped():
    body = _answer(JSONProvider, {"b": "中文", "a": 1})
    assert body == '{"a":1,"b":"中文"}\n'.encode()


def test_web__debug_answers_are_indented_as_flask_does():
    value = VALUES["unsorted keys"]
    assert _answer(JSONProvider, value, debug=True) == _answer(DefaultJSONProvider, value,
                                                               debug=True)


def test_web__an_instance_answer_parses_as_flasks_provider_wrote_it(app, client, token, engine,
                                                                    actor):
    instance = make_instance(engine, actor("demo_proposer"), "suggestion")
    headers = token("head_smelting")
    path = f"/api/v1/instances/{instance.id}"
    ours = client.get(path, headers=headers).get_data()
    app.json = DefaultJSONProvider(app)
    theirs = client.get(path, headers=headers).get_data()
    assert json.loads(ours) == json.loads(theirs)
    assert theirs.isascii() and not ours.isascii()  # Chinese labels, written as they are
