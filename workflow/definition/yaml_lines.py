"""YAML that remembers where things are: every mapping knows its line and its keys' lines,
every list its items' lines, so a problem can name the line it was found on."""

from __future__ import annotations

from typing import Any

import yaml


class LineMap(dict[str, Any]):
    line: int = 0
    key_lines: dict[str, int]


class LineLoader(yaml.SafeLoader):
    pass


def _construct_map(loader: LineLoader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicated key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


class LineSeq(list[Any]):
    item_lines: list[int]


def _construct_seq(loader: LineLoader, node: yaml.SequenceNode) -> LineSeq:
    result = LineSeq(loader.construct_object(child, deep=True) for child in node.value)
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def line_of(node: Any, key: str | None = None) -> int:
    if isinstance(node, LineMap):
        if key is not None and key in node.key_lines:
            return node.key_lines[key]
        return node.line
    return 0


def plain(value: Any) -> Any:
    """Line-tracking maps become ordinary dicts before anything keeps them."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
