"""Charts drawn on the server with pygal, as SVG images inlined in the page (data: URLs).

No JavaScript (the panel's CSP has none) and nothing fetched from elsewhere; an SVG shown as
an image cannot run scripts either. Every chart has a table beside it with the same numbers
(for screen readers, for copying, and for the masked tip counts a chart cannot show).
"""

from __future__ import annotations

import base64
import contextvars
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache

import pygal
from pygal.style import Style

from bot.i18n import format_number

# pygal appends a legacy import hook for its map plugins (which we do not use) to
# sys.meta_path; Python warns about it at every import nothing else finds (an optional
# `import trio`, say), and our tests turn warnings into errors. Take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

__all__ = ["DRAW", "bars", "hbars", "lines"]

#: Off while a table is exported (CSV, Excel): the charts would be drawn for nothing. Each
#: request runs in its own task, so setting it affects that request only.
DRAW: contextvars.ContextVar[bool] = contextvars.ContextVar("draw_charts", default=True)

_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#d5dbe1",
    opacity="0.9",
    opacity_hover="1",
    colors=("#b3261e", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f"),
    font_family="system-ui, 'Segoe UI', Roboto, 'Noto Sans', sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    value_font_size=11,
    tooltip_font_size=12,
)


def _common(height: int, lang: str) -> dict[str, object]:
    return {
        # "1.234" in Vietnamese, "1,234" in English (axis labels and values)
        "value_formatter": lambda v: format_number(v, lang),
        "style": _STYLE,
        "js": [],  # no script: tooltips need pygal's JavaScript from a CDN
        "disable_xml_declaration": True,
        "width": 860,
        "height": height,
        "legend_at_bottom": True,
        "margin": 12,
        "show_y_guides": True,
        "print_values": False,
        "truncate_label": 40,
        "no_data_text": "—",
    }


def _columns(series: Mapping[str, object]) -> int:
    """Legend columns: pygal leaves room for len(series) // columns rows, so with fewer
    series than columns the legend would be cut off."""
    return max(1, min(4, len(series)))


def _data_url(chart: pygal.graph.graph.Graph) -> str:
    svg = chart.render(is_unicode=True).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _labels(labels: Sequence[str], most: int = 16) -> list[str]:
    """At most `most` x labels shown (the others blank), so long ranges stay readable."""
    if len(labels) <= most:
        return list(labels)
    step = -(-len(labels) // most)
    return [label if i % step == 0 else "" for i, label in enumerate(labels)]


#: Charts kept, by everything they are drawn from. The figures change only when the rollup
#: does (every few minutes) or a tip moves, and staff reload and share the same views: the
#: same figures are not drawn twice (pygal takes 10-25 ms a chart).
DRAWN_KEPT = 512

Values = tuple[float | int | None, ...]


def _frozen(series: Mapping[str, Sequence[float | int | None]]) -> tuple[tuple[str, Values], ...]:
    return tuple((name, tuple(values)) for name, values in series.items())


def lines(
    labels: Sequence[str],
    series: Mapping[str, Sequence[int]],
    height: int = 300,
    lang: str = "vi",
) -> str:
    if not DRAW.get():
        return ""
    return _lines(tuple(labels), _frozen(series), height, lang)


@lru_cache(maxsize=DRAWN_KEPT)
def _lines(
    labels: tuple[str, ...], series: tuple[tuple[str, Values], ...], height: int, lang: str
) -> str:
    chart = pygal.Line(
        **_common(height, lang),
        legend_at_bottom_columns=_columns(dict(series)),
        show_dots=len(labels) <= 31,
        dots_size=2.5,
        fill=False,
        x_label_rotation=0,
    )
    chart.x_labels = _labels(labels)
    for name, values in series:
        chart.add(name, list(values))
    return _data_url(chart)


def bars(
    labels: Sequence[str],
    series: Mapping[str, Sequence[int | None]],
    height: int = 300,
    stacked: bool = False,
    lang: str = "vi",
) -> str:
    if not DRAW.get():
        return ""
    return _bars(tuple(labels), _frozen(series), height, stacked, lang)


@lru_cache(maxsize=DRAWN_KEPT)
def _bars(
    labels: tuple[str, ...],
    series: tuple[tuple[str, Values], ...],
    height: int,
    stacked: bool,
    lang: str,
) -> str:
    kind = pygal.StackedBar if stacked else pygal.Bar
    chart = kind(
        **_common(height, lang),
        x_label_rotation=0,
        legend_at_bottom_columns=_columns(dict(series)),
    )
    chart.x_labels = _labels(labels)
    for name, values in series:
        chart.add(name, list(values))
    return _data_url(chart)


def hbars(labels: Sequence[str], values: Sequence[int | None], name: str, lang: str = "vi") -> str:
    """One horizontal bar per label (the most read, the most tapped…), largest at the top."""
    if not DRAW.get():
        return ""
    return _hbars(tuple(labels), tuple(values), name, lang)


@lru_cache(maxsize=DRAWN_KEPT)
def _hbars(labels: tuple[str, ...], values: Values, name: str, lang: str) -> str:
    height = max(160, 34 * len(labels) + 70)
    chart = pygal.HorizontalBar(**_common(height, lang), show_legend=False)
    chart.x_labels = list(reversed(labels))
    chart.add(name, list(reversed(values)))
    return _data_url(chart)
