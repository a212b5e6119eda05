"""Geometry of the report charts, drawn as inline SVG by a template.

Nothing here knows about requests or the database: a chart is built from
slot starts and numbers, and ``templates/tracing/reports/_chart.html``
draws it. Every mark carries its own text (an SVG ``<title>``), so hovering
shows the figure and screen readers get it too.
"""

import math
from dataclasses import dataclass, field
from decimal import Decimal

# About the width a chart gets on a laptop screen, so text is drawn near the
# size it is set in.
WIDTH = 600
HEIGHT = 250
LEFT, RIGHT, TOP, BOTTOM = 74, 10, 12, 40
# Eight series colours (Tableau 10, told apart by most colour-blind
# readers) and a grey for "other".
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
)
OTHER_COLOUR = "#bab0ac"
MOST_X_LABELS = 10
BAR_FILL = 0.72


@dataclass
class Rect:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class Dot:
    x: float
    y: float
    colour: str
    title: str


@dataclass
class Line:
    points: str
    colour: str


@dataclass
class Chart:
    title: str
    y_label: str
    x_label: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    grid: list = field(default_factory=list)
    x_labels: list = field(default_factory=list)
    rects: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    dots: list = field(default_factory=list)
    legend: list = field(default_factory=list)


def series_colour(position, is_other=False):
    return OTHER_COLOUR if is_other else PALETTE[position % len(PALETTE)]


def nice_ticks(maximum, count=4):
    """Round tick values from 0 to at least ``maximum`` (about ``count`` steps)."""
    maximum = float(maximum)
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    steps = math.ceil(maximum / step - 1e-9)
    return [step * index for index in range(steps + 1)]


def slot_label(start, hourly, first=False):
    """The x-axis text of a slot: the day, or the hour (with its day if
    ``first`` or at midnight)."""
    if not hourly:
        return start.strftime("%b %d")
    if first or start.hour == 0:
        return start.strftime("%b %d %H:00")
    return start.strftime("%H:00")


def _frame(chart, starts, hourly, ticks, format_tick):
    """Grid lines with the y ticks, and a readable subset of x labels."""
    top_value = ticks[-1]
    height = chart.bottom - chart.top
    for tick in ticks:
        y = chart.bottom - height * tick / top_value
        chart.grid.append((round(y, 1), format_tick(tick)))
    band = (chart.right - chart.left) / max(len(starts), 1)
    every = max(1, math.ceil(len(starts) / MOST_X_LABELS))
    shown_day = None
    for position in range(0, len(starts), every):
        x = chart.left + band * (position + 0.5)
        start = starts[position]
        # An hour label names its day whenever the day changes.
        label = slot_label(start, hourly, first=start.date() != shown_day)
        shown_day = start.date()
        chart.x_labels.append((round(x, 1), label))
    return band, top_value


def stacked_bars(*, title, y_label, x_label, starts, hourly, series, format_value):
    """A stacked bar per slot; ``series`` is ``[(label, values, is_other)]``,
    stacked in order from the bottom."""
    chart = Chart(title=title, y_label=y_label, x_label=x_label)
    totals = [sum(values[i] for _, values, _ in series) for i in range(len(starts))]
    ticks = nice_ticks(max(totals, default=0))
    band, top_value = _frame(chart, starts, hourly, ticks, format_value)
    scale = (chart.bottom - chart.top) / top_value
    width = band * BAR_FILL
    for position, (label, _, is_other) in enumerate(series):
        chart.legend.append((label, series_colour(position, is_other)))
    for slot, start in enumerate(starts):
        base = chart.bottom
        x = chart.left + band * slot + (band - width) / 2
        for position, (label, values, is_other) in enumerate(series):
            value = values[slot]
            if not value:
                continue
            height = float(value) * scale
            base -= height
            when = slot_label(start, hourly, first=True)
            chart.rects.append(
                Rect(
                    x=round(x, 2),
                    y=round(base, 2),
                    width=round(width, 2),
                    height=round(height, 2),
                    colour=series_colour(position, is_other),
                    title=f"{when} · {label}: {format_value(value)}",
                )
            )
    return chart


def line_chart(*, title, y_label, x_label, starts, hourly, lines, format_value):
    """One line per ``(label, values, colour)``; a None value breaks the line."""
    chart = Chart(title=title, y_label=y_label, x_label=x_label)
    present = [v for _, values, _ in lines for v in values if v is not None]
    ticks = nice_ticks(max(present, default=0))
    band, top_value = _frame(chart, starts, hourly, ticks, format_value)
    scale = (chart.bottom - chart.top) / top_value
    for label, values, colour in lines:
        chart.legend.append((label, colour))
        segment = []
        for slot, value in enumerate(values):
            if value is None:
                _close_segment(chart, segment, colour)
                segment = []
                continue
            x = round(chart.left + band * (slot + 0.5), 2)
            y = round(chart.bottom - float(value) * scale, 2)
            segment.append((x, y))
            when = slot_label(starts[slot], hourly, first=True)
            title = f"{when} · {label}: {format_value(value)}"
            chart.dots.append(Dot(x=x, y=y, colour=colour, title=title))
        _close_segment(chart, segment, colour)
    return chart


def _close_segment(chart, segment, colour):
    if len(segment) > 1:
        points = " ".join(f"{x},{y}" for x, y in segment)
        chart.lines.append(Line(points=points, colour=colour))


def dollars(value):
    """Money on an axis or in a tooltip: enough digits for fractions of a cent."""
    value = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if value == 0:
        return "$0"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.6f}".rstrip("0").rstrip(".")


def count(value):
    return f"{int(value):,}"


def seconds(value):
    if value >= 10:
        return f"{value:.0f} s"
    return f"{value:.2f} s".replace(".00 s", " s")
