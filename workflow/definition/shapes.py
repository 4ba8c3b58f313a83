"""The shapes of a definition's plain values (true or false, a whole number, a text, a list of
names, a label) and the problems of a value of another shape that the parser could still read:
``true`` where a number of days is meant (Python counts it as 1), the text ``'no'`` where true
or false is (a text is true), a text where a list of names is (read letter by letter), a label
in a language nobody reads. Each problem names the key's line and shows the value as written.

These problems are for new files only (``Checker.add_if_new``): a version already stored was
accepted with such a value and is read again as it was then, so its running instances go on
loading."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .checker import SNAKE_CASE, Checker
from .yaml_lines import item_line, line_of, shown

LANGUAGES = ("en", "zh")
"""The languages a label may have: the ones the application is shown in."""


def whole_number(check: Checker, node: Mapping[Any, Any], key: str, where: str,
                 unit: str = "", *, required: bool = False) -> None:
    """Reports ``key`` of ``node`` unless it is a whole number ≥ 1 (or absent, unless
    ``required``). ``true`` was read as 1 before, so it is a problem of new files only."""
    value = node.get(key)
    if (value is None and not required) or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return
    reason = f"{where}: {key} must be a whole number{unit} ≥ 1, got {shown(value)}"
    if value is True:
        check.add_if_new(line_of(node, key), reason)
    else:
        check.add(line_of(node, key), reason)


def flag(check: Checker, node: Mapping[Any, Any], key: str, where: str,
         default: bool = False) -> bool:
    """``key`` of ``node`` as true or false, as it was always read (any text is true, an empty
    value false); a value that is not true or false is a problem of new files."""
    value = node.get(key, default)
    if not isinstance(value, bool):
        check.add_if_new(line_of(node, key),
                         f"{where}: {key} must be true or false, got {shown(value)}")
    return bool(value)


def text(check: Checker, node: Mapping[Any, Any], key: str, where: str, meaning: str) -> None:
    """Reports a ``key`` given with a value that is not a non-empty text (``meaning`` says
    what the text names)."""
    if key not in node:
        return
    value = node[key]
    if not isinstance(value, str) or not value.strip():
        check.add_if_new(line_of(node, key),
                         f"{where}: {key} must be {meaning}, got {shown(value)}")


def a_list(check: Checker, node: Mapping[Any, Any], key: str, where: str, of: str) -> None:
    """Reports a text or a mapping given where the list ``key`` is meant: Python reads them
    as lists too (of letters, of keys); a value of any other shape is the parser's problem."""
    value = node.get(key)
    if isinstance(value, str | dict):
        check.add_if_new(line_of(node, key),
                         f"{where}: {key} must be a list of {of}, got {shown(value)}")


def distinct_names(check: Checker, node: Mapping[Any, Any], key: str, where: str) -> None:
    """Reports each item of the list ``key`` that is not a snake_case name, or a name listed
    before."""
    items = node.get(key)
    if not isinstance(items, list):
        return
    seen: set[str] = set()
    for index, item in enumerate(items):
        at = item_line(items, index, line_of(node, key))
        if not isinstance(item, str) or not SNAKE_CASE.match(item):
            check.add_if_new(at, f"{where}: {key}: {shown(item)} is not a snake_case name")
        elif item in seen:
            check.add_if_new(at, f"{where}: {key}: {item!r} is listed twice")
        else:
            seen.add(item)


def label(check: Checker, node: Mapping[Any, Any], key: str, where: str,
          fallback: Any) -> Mapping[str, str]:
    """The label ``key`` of ``node`` (a text, or a text per language; ``fallback`` when there
    is none); reports a value of another shape, a language other than en and zh, and a
    language's value that is no text."""
    value = node.get(key)
    name = f"{where}: {key}" if where else key
    if isinstance(value, dict):
        for language, words in value.items():
            at = line_of(value, language) or line_of(node, key)
            if language not in LANGUAGES:
                check.add_if_new(at, f"{name}: unknown language {language!r} (en or zh)")
            elif not isinstance(words, str):
                check.add_if_new(at, f"{name}: {language} must be a text, got {shown(words)}")
    elif value is not None and not isinstance(value, str):
        check.add_if_new(line_of(node, key), f"{name} must be a text or {{en: text, zh: text}}, "
                         f"got {shown(value)}")
    return _read_label(value, fallback)


def _read_label(node: Any, fallback: Any) -> Mapping[str, str]:
    if isinstance(node, dict):
        return MappingProxyType({str(k): str(v) for k, v in node.items()})
    if isinstance(node, str):
        return MappingProxyType({"en": node, "zh": node})
    return MappingProxyType({"en": str(fallback).replace("_", " "), "zh": str(fallback)})
