"""YAML that remembers where things are: every mapping knows its line and its keys' lines,
every list its items' lines, so a problem can name the line it was found on. Whatever is
wrong with the text comes out as a ``yaml.YAMLError`` with a mark: a key that is a list or
a mapping, a tagged value PyYAML's constructors choke on (``!!int x``, a date 2024-13-45),
nesting deeper than ``MAX_DEPTH``. A value a problem is about is shown as it was written."""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 100
"""Deeper nesting is refused with its line: the shipped definitions nest about ten deep, and
reading and checking recurse once per level, which exhausts Python's stack a few hundred
levels down. A check for new files: a stored text is read as deep as the stack allows."""


class LineMap(dict[Any, Any]):
    line: int = 0
    key_lines: dict[Any, int]


class LineLoader(yaml.SafeLoader):
    max_depth: int | None = MAX_DEPTH
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.max_depth is not None and self._depth >= self.max_depth:
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {self.max_depth} levels deep",
                self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ArithmeticError, AttributeError, IndexError, KeyError, TypeError,
                ValueError) as exc:
            shown = node.value if isinstance(node, yaml.ScalarNode) else node.id
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {shown!r} as {node.tag.rsplit(':', 1)[-1]} ({exc})",
                node.start_mark) from exc


def _construct_map(loader: LineLoader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a name, not a {key_node.id}", key_node.start_mark
            ) from None
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicated key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


class LineSeq(list[Any]):
    item_lines: list[int]


def _construct_seq(loader: LineLoader, node: yaml.SequenceNode) -> LineSeq:
    result = LineSeq(loader.construct_object(child, deep=True) for child in node.value)
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def load(text: str, *, max_depth: int | None = MAX_DEPTH) -> Any:
    """The one document in ``text``, nested at most ``max_depth`` deep (None: no limit)."""
    loader = LineLoader(text)
    loader.max_depth = max_depth
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def error_line(exc: yaml.YAMLError, text: str) -> int:
    """The line a YAML error points at (a bad character has a position, not a mark)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        return text.count("\n", 0, position) + 1
    return 1


def line_of(node: Any, key: Any = None) -> int:
    if isinstance(node, LineMap):
        if key is not None and key in node.key_lines:
            return node.key_lines[key]
        return node.line
    return 0


def item_line(node: Any, index: int, fallback: int) -> int:
    """The line of item ``index`` of a list read from YAML (``fallback`` for other values)."""
    line = line_of(node[index]) if isinstance(node, list) else 0
    if not line and isinstance(node, LineSeq) and index < len(node.item_lines):
        line = node.item_lines[index]
    return line or fallback


def plain(value: Any) -> Any:
    """Line-tracking maps become ordinary dicts before anything keeps them."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def shown(value: Any) -> str:
    """``value`` as the author wrote it: true, no value, 2.5, the text 'x', a list, a mapping."""
    if value is None:
        return "no value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return str(value)
