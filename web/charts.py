"""Bar charts drawn here as inline SVG: no chart library, no external service, no script.

``bar_chart`` takes categories and one or more series of numbers (ints or Decimals) and
returns an ``<svg>`` element with grouped horizontal bars, a legend and each bar's value,
so the chart reads the same numbers as the table beside it. Colours are presentation
attributes (the CSP forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from markupsafe import Markup

COLOURS = ("#3370ff", "#34c724", "#ff8800", "#f54a45", "#7f3bf5", "#14c0ff")
ROW, BAR, LABEL_WIDTH, CHART_WIDTH, VALUE_ROOM = 8, 14, 180, 420, 110


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int | Decimal]


def _text(x: float, y: float, text: str, anchor: str = "start", css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>'
            f"{escape(text)}</text>")


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series], *,
              fmt: Callable[[int | Decimal], str] = str, key: str = "chart") -> Markup:
    """Grouped horizontal bars: one group per category, one bar per series."""
    if not categories:
        return Markup("")
    peak = max((float(v) for s in series for v in s.values), default=0.0) or 1.0
    group = BAR * len(series) + ROW
    legend = 24
    height = legend + group * len(categories) + ROW
    width = LABEL_WIDTH + CHART_WIDTH + VALUE_ROOM
    parts = [f'<svg class="chart" id="chart-{escape(key)}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    x = LABEL_WIDTH
    for index, s in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(x + 16, 16, s.name, css="legend"))
        x += 24 + 13 * max(len(s.name), 4)
    for row, category in enumerate(categories):
        top = legend + row * group
        parts.append(_text(LABEL_WIDTH - 8, top + group / 2, category, "end", "category"))
        for index, s in enumerate(series):
            value = s.values[row]
            length = CHART_WIDTH * float(value) / peak
            y = top + index * BAR
            colour = COLOURS[index % len(COLOURS)]
            parts.append(f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" '
                         f'height="{BAR - 2}" fill="{colour}" data-series="{escape(s.name)}" '
                         f'data-value="{escape(str(value))}"/>')
            parts.append(_text(LABEL_WIDTH + length + 4, y + BAR - 4, fmt(value), css="value"))
    parts.append(f'<line x1="{LABEL_WIDTH}" y1="{legend - 2}" x2="{LABEL_WIDTH}" '
                 f'y2="{height - ROW / 2}" stroke="#8f959e"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
