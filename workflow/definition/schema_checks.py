"""Checks of a definition's JSON Schemas (start form, step forms, action forms) beyond their
validity: every keyword is one of JSON Schema 2020-12, the dialect the engine validates with
(a misspelt ``minLenght``, or the key an unquoted comma made of the rest of a flow mapping's
text, is reported with its line), and every ``$ref`` resolves inside the schema.

These checks guard new files only: versions already stored were accepted without them and
are read again without them (``parse(..., stored=True)``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from .yaml_lines import line_of

DIALECT = "https://json-schema.org/draft/2020-12/schema"

_ONE_SCHEMA = frozenset({
    "additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
    "unevaluatedItems", "unevaluatedProperties", "contentSchema",
})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
KEYWORDS = _ONE_SCHEMA | _SCHEMA_MAPS | _SCHEMA_LISTS | frozenset({
    # core
    "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary",
    "$comment",
    # validation
    "type", "const", "enum", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties", "required",
    "dependentRequired",
    # meta-data, format, content
    "title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples",
    "format", "contentEncoding", "contentMediaType",
})
"""The keywords of JSON Schema 2020-12's vocabularies (core, applicator, unevaluated,
validation, meta-data, format-annotation, content)."""

_OTHER_DIALECTS = {"definitions": "$defs", "dependencies": "dependentRequired or "
                   "dependentSchemas", "additionalItems": "items (with prefixItems)",
                   "$recursiveRef": "$dynamicRef", "$recursiveAnchor": "$dynamicAnchor"}


def _subschemas(node: dict[Any, Any], path: str) -> Iterator[tuple[Any, int, str]]:
    """(subschema, line, path) for every place of ``node`` that holds a schema."""
    for key, value in node.items():
        line = line_of(node, key)
        if key in _ONE_SCHEMA:
            yield value, line, f"{path}/{key}"
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                yield sub, line_of(value, name) or line, f"{path}/{key}/{name}"
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            for index, sub in enumerate(value):
                yield sub, line_of(sub) or line, f"{path}/{key}/{index}"


def _why_unknown(key: Any, value: Any) -> str:
    if key in _OTHER_DIALECTS:
        return f" (a keyword of an older dialect; 2020-12 uses {_OTHER_DIALECTS[key]})"
    if value is None:
        return " (a key without a value: text after an unquoted comma in {…}? quote the text)"
    close = difflib.get_close_matches(str(key), sorted(KEYWORDS), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def keyword_problems(schema: Any, line: int, where: str) -> list[tuple[int, str]]:
    """(line, reason) for every keyword of ``schema`` that 2020-12 does not know, and for a
    ``$schema`` that names another dialect."""
    found: list[tuple[int, str]] = []
    pending = [(schema, line, "")]
    while pending:
        node, at, path = pending.pop(0)
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            key_line = line_of(node, key) or at
            place = path or "(top)"
            if key not in KEYWORDS:
                found.append((key_line, f"{where}: unknown JSON Schema keyword {key!r} at "
                               f"{place}{_why_unknown(key, value)}"))
            elif key == "$schema" and str(value).rstrip("#") != DIALECT:
                found.append((key_line, f"{where}: $schema {value!r} at {place}: the engine "
                               f"validates every schema as JSON Schema 2020-12 ({DIALECT})"))
        pending += [(sub, sub_line or at, sub_path)
                    for sub, sub_line, sub_path in _subschemas(node, path)]
    return sorted(found, key=lambda problem: problem[0])


def _not_a_uri(node: dict[Any, Any]) -> str | None:
    try:
        urlsplit(node["$id"])
    except ValueError as exc:
        return str(exc)
    return None


def ref_problems(schema: Any, line: int, where: str) -> list[tuple[int, str]]:
    """(line, reason) for every ``$ref`` (and ``$dynamicRef``) of ``schema`` that does not
    resolve inside it (a definition's schemas reach nothing outside themselves), and every
    ``$id`` that is no URI to resolve them against."""
    if not isinstance(schema, dict):
        return []
    found: list[tuple[int, str]] = []
    pending: list[tuple[Any, int, str, Any]] = [(schema, line, "", None)]
    while pending:
        node, at, path, resolver = pending.pop(0)
        if not isinstance(node, dict):
            continue
        place = path or "(top)"
        if isinstance(node.get("$id"), str):
            why = _not_a_uri(node)
            if why is not None:
                found.append((line_of(node, "$id") or at, f"{where}: $id {node['$id']!r} at "
                              f"{place} is not a URI ({why})"))
                continue
        if resolver is None:
            resolver = Registry().resolver_with_root(DRAFT202012.create_resource(node))
        elif isinstance(node.get("$id"), str):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        for keyword in ("$ref", "$dynamicRef"):
            ref = node.get(keyword)
            if not isinstance(ref, str):
                continue
            try:
                resolver.lookup(ref)
            except (Unresolvable, ValueError):
                found.append((line_of(node, keyword) or at, f"{where}: {keyword} {ref!r} at "
                              f"{place} does not resolve inside the schema"))
        pending += [(sub, sub_line or at, sub_path, resolver)
                    for sub, sub_line, sub_path in _subschemas(node, path)]
    return sorted(found, key=lambda problem: problem[0])
