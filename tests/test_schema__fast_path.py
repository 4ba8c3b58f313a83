"""The compiled fast path of validation never accepts what jsonschema rejects.

``Validator.errors`` returns "no errors" straight from fastjsonschema when it accepts the
data; these tests throw generated data, and mutations of each schema's own examples, at
every schema of the shipped definitions and at hand-written edge cases, and require the
two to agree that the data is valid whenever the fast path says so. Removing the format
checks from ``_fast_check`` (or letting a draft-specific keyword through) makes them fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.definition import parse
from workflow.schema import Validator, _fast_check, expand

DEFINITIONS = Path(__file__).resolve().parent.parent / "definitions"

EDGE_SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"day": {"type": "string", "format": "date"}}},
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 3}}},
    {"type": "object", "properties": {"x": {"type": "number", "exclusiveMinimum": 0}}},
    {"type": "object", "additionalProperties": False, "required": ["a"],
     "properties": {"a": {"enum": ["x", 1, None]}}},
    {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
    expand({"type": "object", "properties": {"amount": {"type": "money"}}}),
]


def _schemas() -> list[tuple[str, Mapping[str, Any]]]:
    found: list[tuple[str, Mapping[str, Any]]] = []
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        definition = parse(path.read_text(encoding="utf-8"), path.name)
        found.append((f"{path.stem}:start", definition.start_schema))
        found += [(f"{path.stem}:{t.action}", t.schema) for t in definition.transitions]
    found += [(f"edge:{n}", s) for n, s in enumerate(EDGE_SCHEMAS)]
    return found


SCHEMAS = _schemas()
FAST = [(n, s) for n, s in SCHEMAS if _fast_check(dict(s)) is not None]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 200), st.floats(-5, 200, allow_nan=False),
    st.sampled_from(["", "x", "2026-02-30", "2026-02-28", "120000.00", "1.005", "-1",
                     "smelting", "head_smelting", "rationalization", "a" * 201]),
    st.text(max_size=12),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _fields(schema: Mapping[str, Any]) -> list[str]:
    return [*(schema.get("properties") or {}), "unknown"]


def test_every_shipped_schema_has_the_fast_path() -> None:
    assert [n for n, _ in SCHEMAS if not n.startswith("edge:")] == \
        [n for n, _ in FAST if not n.startswith("edge:")]


@pytest.mark.parametrize("name,schema", FAST, ids=[n for n, _ in FAST])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_fast_acceptance_implies_valid(name: str, schema: Mapping[str, Any],
                                       data: st.DataObject) -> None:
    validator = Validator(schema)
    fast = _fast_check(validator.schema)
    assert fast is not None
    examples = [dict(e) for e in schema.get("examples") or [{}]]
    base = data.draw(st.sampled_from(examples)) if isinstance(examples[0], dict) else {}
    candidate: Any = dict(base)
    for field in data.draw(st.lists(st.sampled_from(_fields(schema)), max_size=3)):
        if data.draw(st.booleans()):
            candidate[field] = data.draw(values)
        else:
            candidate.pop(field, None)
    if data.draw(st.integers(0, 9)) == 0:
        candidate = data.draw(values)
    try:
        fast(candidate)
    except Exception:
        return  # rejected: jsonschema decides, nothing to compare
    full = list(validator._validator.iter_errors(candidate))
    assert not full, f"{name}: fast path accepted {candidate!r}, jsonschema found {full[0]}"
    assert validator.errors(candidate) == {}


def test_draft_specific_keywords_stay_with_jsonschema() -> None:
    assert _fast_check({"type": "array", "prefixItems": [{"type": "string"}]}) is None
    assert _fast_check({"$defs": {}, "type": "object"}) is None
    assert _fast_check({"type": "object", "properties": {"a": {"oneOf": []}}}) is None


def test_rejected_data_is_named_by_field() -> None:
    validator = Validator(EDGE_SCHEMAS[0])
    assert validator.errors({"day": "2026-02-30"}) == {"day": "'2026-02-30' is not a 'date'"}
    assert validator.errors({"day": "2026-02-28"}) == {}


@pytest.mark.parametrize(("schema", "bad", "good"), [
    ({"type": "object", "additionalProperties": False, "required": ["a"]}, {}, None),
    ({"type": "number", "maximum": float("inf")}, "x", 5),
    ({"type": "string", "format": "no\"such')format"}, 5, "text"),
])
def test_schemas_fastjsonschema_cannot_compile_stay_with_jsonschema(
        schema: dict[str, Any], bad: Any, good: Any) -> None:
    assert _fast_check(schema) is None
    validator = Validator(schema)
    assert validator.errors(bad)
    if good is not None:
        assert validator.errors(good) == {}
