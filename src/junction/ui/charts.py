"""Small charts as inline SVG, drawn on the server: no script, no network, readable as text."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 34
COLORS = ("#2563eb", "#f59e0b", "#dc2626", "#059669")


def _fmt(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _frame(labels: Sequence[str], top: float, title: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e7eb" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#6b7280">{_fmt(value)}</text>'
        )
    step = max(1, len(labels) // 8)
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    for i, label in enumerate(labels):
        if i % step == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 12}" text-anchor="middle" font-size="11" '
                f'fill="#6b7280">{escape(label)}</text>'
            )
    return parts


def _ceiling(values: Sequence[float | None]) -> float:
    """The axis top: four equal steps of 1, 2, 2.5 or 5 x 10^n (whole steps for counts)."""
    present = [v for v in values if v is not None]
    top = max(present or [0]) or 1
    whole = all(float(v).is_integer() for v in present)
    raw = top / 4
    scale = 10 ** math.floor(math.log10(raw))
    step = next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= raw)
    if whole:
        step = max(1.0, math.ceil(step))
    return float(step * 4)


def stacked_bars(labels: Sequence[str], series: dict[str, Sequence[float]], title: str) -> Markup:
    """Bars per label, each the stack of ``series`` (e.g. prompt + completion tokens)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = _ceiling(totals)
    parts = _frame(labels, top, title)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    bar = max(2.0, slot * 0.7)
    for i, label in enumerate(labels):
        base = 0.0
        for (name, values), color in zip(series.items(), COLORS, strict=False):
            value = values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            y = TOP + plot_h - plot_h * base / top - h
            x = LEFT + slot * i + (slot - bar) / 2
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(label)}: {escape(name)} '
                f"{_fmt(value)}</title></rect>"
            )
            base += value
    parts.append("</svg>")
    return Markup("".join(parts))


def lines(labels: Sequence[str], series: dict[str, Sequence[float | None]], title: str) -> Markup:
    """One polyline per series; a None value leaves a gap (no data in that bucket)."""
    every = [v for values in series.values() for v in values if v is not None]
    top = _ceiling(every)
    parts = _frame(labels, top, title)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    for (name, values), color in zip(series.items(), COLORS, strict=False):
        points = []
        for i, value in enumerate(values):
            if value is None:
                continue
            x = LEFT + slot * (i + 0.5)
            y = TOP + plot_h - plot_h * value / top
            points.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                f"<title>{escape(labels[i])}: {escape(name)} {_fmt(value)}</title></circle>"
            )
        if len(points) > 1:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
                'stroke-width="2"/>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(names: Sequence[str]) -> list[tuple[str, str]]:
    return list(zip(names, COLORS, strict=False))
