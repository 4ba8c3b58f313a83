"""The problem list of one file, and the checks every part of a definition shares: unknown
keys, JSON Schemas (with their examples), guards and effects named from the registry.

A checker reads either a new file, with every check, or the text of a version already
stored (``stored=True``), without the checks that only guard new files (``schema_checks``,
``shapes``, ``item_fields``; each goes through ``add_if_new``): that text was accepted when it
was stored, and running instances must go on loading it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from referencing.exceptions import Unresolvable

from .. import registry
from ..schema import EMPTY_OBJECT, Validator, expand, schema_problem
from .model import Call, Problem
from .schema_checks import keyword_problems, ref_problems
from .yaml_lines import item_line, line_of, plain, shown

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class FieldName:
    """A data field named by the file (a ``scope_from``, a guard's ``field``), kept until
    every form and effect is read and the fields an item can have are known."""

    line: int
    where: str
    name: str


class Checker:
    """Collects every problem of one file instead of stopping at the first."""

    def __init__(self, file: str, *, stored: bool = False) -> None:
        self.file = file
        self.stored = stored
        self.problems: list[Problem] = []
        self.field_names: list[FieldName] = []
        self.fields_unknown = False
        """A schema or an effect was refused: the fields it declares or writes are unknown."""

    def add(self, line: int, reason: str) -> None:
        self.problems.append(Problem(self.file, line, reason))

    def add_if_new(self, line: int, reason: str) -> None:
        """A problem of a new file only: a stored version was accepted without this check."""
        if not self.stored:
            self.add(line, reason)

    def names_field(self, node: Any, key: str, where: str) -> None:
        """Keeps ``key`` of ``node`` to be checked as the name of a data field (a value that is
        no text is a problem of its shape, reported where it is read)."""
        value = node.get(key) if isinstance(node, dict) else None
        if isinstance(value, str) and value.strip():
            self.field_names.append(FieldName(line_of(node, key), f"{where}: {key}", value))

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
            self.fields_unknown = True
            return dict(EMPTY_OBJECT)
        expanded = expand(plain(node))
        problem = schema_problem(expanded)
        if problem:
            self.add(line, f"{where}: not a valid JSON Schema: {problem}")
            self.fields_unknown = True
            return dict(EMPTY_OBJECT)
        if expanded.get("type") != "object":
            self.add(line, f"{where}: the schema must describe an object (type: object)")
        unresolved = ref_problems(node, line, where)
        for at, reason in keyword_problems(node, line, where) + unresolved:
            self.add_if_new(at, reason)
        if not unresolved:
            self._examples(expanded, line, where)
        return expanded

    def _examples(self, schema: dict[str, Any], line: int, where: str) -> None:
        for example in schema.get("examples", []):
            try:
                errors = Validator(schema).errors(example)
            except Unresolvable as exc:
                self.add(line, f"{where}: an example cannot be checked: {exc}")
                return
            except RecursionError:
                self.add(line, f"{where}: an example cannot be checked: validating it never "
                         "ends (a $ref that leads back to where it is, reading nothing?)")
                return
            if errors:
                self.add(line, f"{where}: an example does not match its schema: {errors}")

    def calls(self, node: Any, kind: str, where: str, line: int) -> tuple[Call, ...]:
        """The guards or effects of ``node`` (a name, {name: {params}}, or a list of them),
        found on ``line``."""
        table = registry.GUARDS if kind == "guard" else registry.EFFECTS
        if node is None:
            return ()
        if not isinstance(node, list):
            node = [node]
        calls = []
        params: Any
        for index, item in enumerate(node):
            at = item_line(node, index, line)
            if isinstance(item, str):
                name, params = item, {}
            elif isinstance(item, dict) and len(item) == 1:
                name, params = next(iter(item.items()))
                if params is not None and not params and not isinstance(params, dict):
                    self.add_if_new(at, f"{where}: {kind} {name!r}: its parameters must be a "
                                    f"mapping, got {shown(params)}")
                params = params or {}
            else:
                article = "an" if kind == "effect" else "a"
                self.add(at, f"{where}: {article} {kind} is a name or {{name: {{params}}}}")
                continue
            entry = table.get(name)
            if entry is None or (kind == "guard" and name in registry.INTERNAL_GUARDS):
                self.add(at, f"{where}: unknown {kind} {name!r}")
                continue
            errors = Validator(entry.params).errors(plain(params))
            if errors:
                self.add(at, f"{where}: {kind} {name!r} parameters: {errors}")
                continue
            if kind == "guard" and "field" in entry.params.get("properties", {}):
                self.names_field(params, "field", f"{where}: guard {name!r}")
            calls.append(Call(name, MappingProxyType(plain(params))))
        if kind == "effect" and len(calls) < len(node):
            self.fields_unknown = True  # what the effects left out write is not known
        return tuple(calls)

