"""JSON Schema as the definitions use it: a ``money`` shorthand and field-named errors.

Every action validates its data, so validation is on the hot path. A schema written only
with keywords that mean the same in draft 7 and 2020-12 is also compiled to Python by
``fastjsonschema``; data it accepts is valid. Anything it rejects, and every schema using
other keywords, goes to ``jsonschema``, which decides and names the errors.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from .money import MONEY_PATTERN

_FORMATS = FormatChecker()


def expand(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``schema`` with ``type: money`` written out as a decimal string."""
    return _expand(copy.deepcopy(dict(schema)))


def _expand(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("type") == "money":
            node["type"] = "string"
            node["pattern"] = MONEY_PATTERN
            node.setdefault("format", "money")
        for key, value in node.items():
            node[key] = _expand(value)
        return {k: v for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(item) for item in node]
    return node


def schema_problem(schema: Mapping[str, Any]) -> str | None:
    """Why ``schema`` is not valid JSON Schema, or None."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        return f"{exc.message} at {where}"
    return None


_SHARED_KEYWORDS = frozenset({
    "type", "properties", "additionalProperties", "required", "items", "enum", "const",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
    "minItems", "maxItems", "pattern", "format", "title", "description", "examples",
})
"""Keywords whose meaning draft 7 (fastjsonschema) and 2020-12 (jsonschema) share."""


_FORMAT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _shared_formats(node: Any, formats: set[str]) -> bool:
    """Whether ``node`` uses only shared keywords (collecting its format names)."""
    if isinstance(node, bool):
        return True
    if not isinstance(node, Mapping) or not set(node) <= _SHARED_KEYWORDS:
        return False
    if isinstance(node.get("format"), str):
        if not _FORMAT_NAME.match(node["format"]):
            return False  # fastjsonschema writes the name into the code it generates
        formats.add(node["format"])
    subschemas = [*(node.get("properties") or {}).values()]
    for key in ("items", "additionalProperties"):
        if key in node:
            subschemas.append(node[key])
    return all(_shared_formats(sub, formats) for sub in subschemas)


def _fast_check(schema: Mapping[str, Any]) -> Callable[[Any], Any] | None:
    """The schema compiled by fastjsonschema (raising on invalid data), or None when it uses
    a keyword outside the shared set, or one fastjsonschema cannot compile (a valid 2020-12
    schema it refuses, such as a required field that additionalProperties forbids). Formats
    are checked by the same checkers as below."""
    formats: set[str] = set()
    if not _shared_formats(schema, formats):
        return None
    try:
        plain = json.loads(json.dumps(schema, default=dict, allow_nan=False))
        checks = {name: partial(_conforms, name) for name in formats}
        return fastjsonschema.compile(plain, formats=checks, use_default=False)
    except Exception:  # the fast path is optional: jsonschema decides alone
        return None


def _conforms(name: str, value: Any) -> bool:
    return _FORMATS.conforms(value, name)


def _finite(value: Any) -> bool:
    """Whether no NaN or infinity lies anywhere in ``value`` (the common answer, found
    without building a field path for every value)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    return True


def _non_finite(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """NaN and infinities (which Python's JSON parser accepts) by field: no schema keyword
    refuses them, and JSON cannot store them."""
    if isinstance(value, float):
        if not math.isfinite(value):
            yield path or "(data)", "must be a finite number"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _non_finite(item, f"{path}.{n}" if path else str(n))


class Validator:
    """A compiled schema that reports every error by field path."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = dict(schema)
        self._validator = Draft202012Validator(self.schema, format_checker=_FORMATS)
        self._fast = _fast_check(self.schema)

    def errors(self, value: Any) -> dict[str, str]:
        if not _finite(value):
            return dict(_non_finite(value, ""))
        if self._fast is not None:
            try:
                self._fast(value)
            except fastjsonschema.JsonSchemaValueException:
                pass  # jsonschema decides, and names the fields
            else:
                return {}
        found: dict[str, str] = {}
        for error in sorted(self._validator.iter_errors(value), key=_path_order):
            path = ".".join(str(p) for p in error.absolute_path)
            if error.validator == "required" and isinstance(error.instance, dict):
                missing = [r for r in error.validator_value if r not in error.instance]
                for name in missing:
                    key = f"{path}.{name}" if path else name
                    found.setdefault(key, "required")
                continue
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                allowed = set((error.schema.get("properties") or {}).keys())
                for name in error.instance:
                    if name not in allowed:
                        key = f"{path}.{name}" if path else name
                        found.setdefault(key, "unknown field")
                continue
            if error.validator == "pattern" and error.schema.get("format") == "money":
                message = "must be an amount with at most two decimals, as a string"
            else:
                message = error.message
            found.setdefault(path or "(data)", message)
        return found


def _path_order(error: Any) -> list[tuple[int, Any]]:
    """Errors by path: indexes in order, keys by name (a YAML mapping may mix both)."""
    return [(0, p) if type(p) is int else (1, str(p)) for p in error.path]


EMPTY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
