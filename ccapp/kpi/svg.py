"""Inline SVG bar charts for the HTML report: no script, no external resource. Pure.

A chart is a `figure` with a visible title, an ``<svg role="img">`` that carries the same title
(``<title>``, ``aria-label``) and a ``<desc>`` listing every value, and a tooltip (``<title>``) per
bar. With nothing to draw, the figure says so in words instead of drawing empty axes. Every text
is escaped: queue and agent names are user data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 1000
HEIGHT = 340
_LEFT, _RIGHT, _TOP, _BOTTOM = 60, 10, 34, 95
Y_TICKS = 5
MAX_BAR = 64

Format = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Series:
    """One set of bars: a legend name, a fill colour (``#rrggbb``) and one value per category
    (None: no bar)."""

    name: str
    colour: str
    values: Sequence[float | None]


def percent(value: float) -> str:
    """``80.0%`` for 0.8."""
    return f"{value * 100:.1f}%"


def whole(value: float) -> str:
    """``12`` for 12.0."""
    return f"{value:.0f}"


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (1 when ``value`` is 0)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power:
            return step * power
    return 10.0 * power  # pragma: no cover - the loop ends at 10 × power ≥ value


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _label(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    y_max: float | None = None,
    y_format: Format = whole,
    empty: str = "No data for this period.",
) -> str:
    """A grouped bar chart (one group per category, one bar per series) as an HTML ``figure``.

    ``y_max`` fixes the top of the axis (1.0 for ratios); otherwise it is a round number above the
    largest value. When no series has a value, the figure holds ``empty`` instead of a chart.
    """
    heading = f'<figcaption id="{chart_id}-caption">{escape(title)}</figcaption>'
    values = [v for s in series for v in s.values if v is not None]
    if not categories or not values:
        return (
            f'<figure class="chart" id="{chart_id}">{heading}'
            f'<p class="empty" role="note">{escape(empty)}</p></figure>'
        )
    top = y_max if y_max is not None else nice_max(max(values))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    group_w = plot_w / len(categories)
    bar_w = min(group_w * 0.8 / len(series), MAX_BAR)
    pad = (group_w - bar_w * len(series)) / 2  # the bars of a group sit in its middle

    def y_of(value: float) -> float:
        return _TOP + plot_h * (1 - min(max(value, 0.0), top) / top)

    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{_attr(title)}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(_describe(categories, series, y_format))}</desc>',
    ]
    for i in range(Y_TICKS + 1):
        tick = top * i / Y_TICKS
        y = y_of(tick)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(y_format(tick))}</text>"
        )
    every = max(1, math.ceil(len(categories) / 40))  # at most ~40 axis labels
    for c, category in enumerate(categories):
        x0 = _LEFT + c * group_w + pad
        for s, one in enumerate(series):
            value = one.values[c] if c < len(one.values) else None
            if value is None:
                continue
            y = y_of(value)
            parts.append(
                f'<rect class="bar" x="{x0 + s * bar_w:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{_TOP + plot_h - y:.1f}" fill="{one.colour}">'
                f"<title>{escape(f'{category} — {one.name}: {y_format(value)}')}</title></rect>"
            )
        if c % every == 0:
            x = _LEFT + (c + 0.5) * group_w
            y = _TOP + plot_h + 12
            parts.append(
                f'<text class="cat" x="{x:.1f}" y="{y}" text-anchor="end" '
                f'transform="rotate(-35 {x:.1f} {y})">{escape(_label(category))}</text>'
            )
    parts.append(
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{WIDTH - _RIGHT}" y2="{_TOP + plot_h}"/>'
    )
    x = _LEFT
    for one in series:
        parts.append(
            f'<rect x="{x}" y="8" width="14" height="14" fill="{one.colour}"/>'
            f'<text class="legend" x="{x + 20}" y="20">{escape(one.name)}</text>'
        )
        x += 40 + 8 * len(one.name)
    parts.append("</svg>")
    return f'<figure class="chart" id="{chart_id}">{heading}{"".join(parts)}</figure>'


def _describe(categories: Sequence[str], series: Sequence[Series], y_format: Format) -> str:
    """Every value in words, for screen readers: ``sales: SL 80.0%, abandon 5.0%; …``."""
    groups = []
    for c, category in enumerate(categories):
        cells = []
        for one in series:
            value = one.values[c] if c < len(one.values) else None
            cells.append(f"{one.name} {'no data' if value is None else y_format(value)}")
        groups.append(f"{category}: {', '.join(cells)}")
    return "; ".join(groups)
