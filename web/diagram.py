"""An SVG drawing of a lifecycle, laid out from the definition (no external service)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from workflow.definition import Definition

from .i18n import label

BOX_W, BOX_H, GAP_X, GAP_Y, PAD, TOP = 132, 34, 44, 16, 12, 30


@dataclass(frozen=True)
class Box:
    name: str
    text: str
    x: int
    y: int
    current: bool
    final: bool


@dataclass(frozen=True)
class Edge:
    path: str
    back: bool


@dataclass(frozen=True)
class Diagram:
    width: int
    height: int
    boxes: list[Box]
    edges: list[Edge]


def layout(definition: Definition, current: str) -> Diagram:
    depth = {definition.initial: 0}
    queue = deque([definition.initial])
    pairs: dict[tuple[str, str], None] = {}
    for t in definition.transitions:
        if t.dest in definition.states and t.source in definition.states:
            pairs.setdefault((t.source, t.dest), None)
    while queue:
        state = queue.popleft()
        for source, dest in pairs:
            if source == state and dest not in depth:
                depth[dest] = depth[state] + 1
                queue.append(dest)
    last = max(depth.values(), default=0)
    for name in definition.states:
        depth.setdefault(name, last + 1)
    columns: dict[int, list[str]] = {}
    for name in definition.states:
        columns.setdefault(depth[name], []).append(name)
    boxes: dict[str, Box] = {}
    for col, names in sorted(columns.items()):
        for row, name in enumerate(names):
            state = definition.states[name]
            boxes[name] = Box(name, label(state.label, name), PAD + col * (BOX_W + GAP_X),
                              TOP + row * (BOX_H + GAP_Y), name == current, state.final)
    edges = []
    for source, dest in pairs:
        a, b = boxes[source], boxes[dest]
        if b.x > a.x:
            x1, y1 = a.x + BOX_W, a.y + BOX_H // 2
            x2, y2 = b.x, b.y + BOX_H // 2
            mid = (x1 + x2) // 2
            edges.append(Edge(f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2 - 2},{y2}", False))
        elif source != dest:
            x1, y1 = a.x + BOX_W // 2, a.y
            x2, y2 = b.x + BOX_W // 2, b.y
            lift = min(y1, y2) - TOP + 6
            edges.append(Edge(f"M{x1},{y1} C{x1},{lift} {x2},{lift} {x2},{y2 - 2}", True))
    width = PAD * 2 + (max(columns) + 1) * (BOX_W + GAP_X) - GAP_X
    height = TOP + PAD + max(len(n) for n in columns.values()) * (BOX_H + GAP_Y) - GAP_Y
    return Diagram(width, height, list(boxes.values()), edges)
