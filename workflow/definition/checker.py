"""The problem list of one file, and the checks every part of a definition shares: unknown
keys, JSON Schemas (with their examples), guards and effects named from the registry."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .. import registry
from ..schema import EMPTY_OBJECT, Validator, expand, schema_problem
from .model import Call, Problem
from .yaml_lines import LineSeq, line_of, plain

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")


class Checker:
    """Collects every problem of one file instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int, reason: str) -> None:
        self.problems.append(Problem(self.file, line, reason))

    def keys(self, node: Any, allowed: set[str], where: str) -> None:
        if not isinstance(node, dict):
            return
        for key in node:
            if key not in allowed:
                self.add(line_of(node, key), f"{where}: unknown key {key!r}")

    def schema(self, node: Any, line: int, where: str) -> dict[str, Any]:
        if node is None:
            return dict(EMPTY_OBJECT)
        if not isinstance(node, dict):
            self.add(line, f"{where}: a schema must be a mapping")
            return dict(EMPTY_OBJECT)
        expanded = expand(plain(node))
        problem = schema_problem(expanded)
        if problem:
            self.add(line, f"{where}: not a valid JSON Schema: {problem}")
            return dict(EMPTY_OBJECT)
        if expanded.get("type") != "object":
            self.add(line, f"{where}: the schema must describe an object (type: object)")
        for example in expanded.get("examples", []):
            errors = Validator(expanded).errors(example)
            if errors:
                self.add(line, f"{where}: an example does not match its schema: {errors}")
        return expanded

    def calls(self, node: Any, kind: str, where: str) -> tuple[Call, ...]:
        table = registry.GUARDS if kind == "guard" else registry.EFFECTS
        if node is None:
            return ()
        if not isinstance(node, list):
            node = [node]
        calls = []
        params: Any
        for index, item in enumerate(node):
            line = line_of(item) or (node.item_lines[index] if isinstance(node, LineSeq) else 0)
            if isinstance(item, str):
                name, params = item, {}
            elif isinstance(item, dict) and len(item) == 1:
                name, params = next(iter(item.items()))
                params = params or {}
            else:
                self.add(line, f"{where}: a {kind} is a name or {{name: {{params}}}}")
                continue
            entry = table.get(name)
            if entry is None or (kind == "guard" and name in registry.INTERNAL_GUARDS):
                self.add(line, f"{where}: unknown {kind} {name!r}")
                continue
            errors = Validator(entry.params).errors(plain(params))
            if errors:
                self.add(line, f"{where}: {kind} {name!r} parameters: {errors}")
                continue
            calls.append(Call(name, MappingProxyType(plain(params))))
        return tuple(calls)


def read_label(node: Any, fallback: str) -> Mapping[str, str]:
    if isinstance(node, dict):
        return MappingProxyType({str(k): str(v) for k, v in node.items()})
    if isinstance(node, str):
        return MappingProxyType({"en": node, "zh": node})
    return MappingProxyType({"en": fallback.replace("_", " "), "zh": fallback})

