"""JSON Schema as the definitions use it: a ``money`` shorthand and field-named errors."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

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


class Validator:
    """A compiled schema that reports every error by field path."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = dict(schema)
        self._validator = Draft202012Validator(self.schema, format_checker=_FORMATS)

    def errors(self, value: Any) -> dict[str, str]:
        found: dict[str, str] = {}
        for error in sorted(self._validator.iter_errors(value), key=lambda e: list(e.path)):
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


EMPTY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
