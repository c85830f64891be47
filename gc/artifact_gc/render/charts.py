"""Inline SVG charts for the HTML report: no JavaScript, no fonts or scripts fetched, one file."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape

PALETTE = {
    "STANDARD": "#2563eb",
    "INTELLIGENT_TIERING": "#0891b2",
    "STANDARD_IA": "#16a34a",
    "ONEZONE_IA": "#65a30d",
    "GLACIER_IR": "#ca8a04",
    "GLACIER": "#ea580c",
    "DEEP_ARCHIVE": "#7c3aed",
    "REDUCED_REDUNDANCY": "#64748b",
}
LINE_COLORS = ["#64748b", "#2563eb", "#16a34a", "#dc2626", "#7c3aed", "#ca8a04"]


CHAR_W = 7.2  # px per character of the 12 px legend and label text (the report's system-ui font, generous)


def _color(name: str, index: int) -> str:
    return PALETTE.get(name, LINE_COLORS[index % len(LINE_COLORS)])


def nice_ticks(peak: float, count: int = 4, base: int = 10) -> list[float]:
    """Round tick values from 0 to at least ``peak``: steps of 1, 2, 2.5 or 5 times a power of ten, in the
    unit a reader sees (``base`` 1024 for bytes: steps of 256 KiB, not 213.1 KiB)."""
    if peak <= 0:
        return [0.0, 1.0]
    unit = 1.0
    if base == 1024:
        while peak / unit >= 1024:
            unit *= 1024
    raw = peak / unit / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw) * unit
    ticks = [0.0]
    while ticks[-1] < peak * (1 - 1e-9):
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def fit(text: str, room: float) -> str:
    """Shorten ``text`` in the middle (…) so it fits ``room`` px: long prefixes stay recognisable."""
    most = max(4, int(room / CHAR_W))
    if len(text) <= most:
        return text
    head = (most - 1) // 2
    return text[:head] + "…" + text[len(text) - (most - 1 - head) :]


def _legend(
    names: Sequence[str], left: float, width: float, y: float, swatch: Callable[[float, float, int], str]
) -> tuple[list[str], int]:
    """Legend entries laid out left to right, wrapping before the right edge; returns (svg, rows)."""
    out, x, row = [], left, 0
    for index, name in enumerate(names):
        need = 18 + CHAR_W * len(name)
        if x > left and x + need > width - 4:
            x, row = left, row + 1
        out.append(
            swatch(x, y + 16 * row, index)
            + f'<text x="{x + 16:.1f}" y="{y + 16 * row:.1f}" class="legend">{escape(name)}</text>'
        )
        x += need + 14
    return out, row + 1


def stacked_bars(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    fmt: Callable[[float], str],
    width: int = 760,
) -> str:
    """Horizontal bars, one per category, stacked by series (storage class); totals at the bar's end."""
    label_w, bar_h, gap, top = 190, 22, 8, 34
    names = list(series)
    legend_rows = _legend(names, label_w, width, 0, lambda x, y, i: "")[1]
    height = top + len(categories) * (bar_h + gap) + 24 + 16 * legend_rows
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    scale = (width - label_w - 110) / (max(totals) or 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="18" class="chart-title">{escape(title)}</text>',
    ]
    for row, category in enumerate(categories):
        y = top + row * (bar_h + gap)
        out.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="label">{escape(fit(category, label_w - 12))}'
            f"<title>{escape(category)}</title></text>"
        )
        x = float(label_w)
        for index, (name, values) in enumerate(series.items()):
            w = values[row] * scale
            if w > 0:
                out.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar_h}" fill="{_color(name, index)}">'
                    f"<title>{escape(name)}: {escape(fmt(values[row]))}</title></rect>"
                )
                x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + 15}" class="value">{escape(fmt(totals[row]))}</text>')
    legend_y = top + len(categories) * (bar_h + gap) + 18
    entries, _ = _legend(
        names,
        label_w,
        width,
        legend_y,
        lambda x, y, i: (
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="10" height="10" fill="{_color(names[i], i)}"/>'
        ),
    )
    out += entries
    out.append("</svg>")
    return "".join(out)


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    fmt: Callable[[float], str],
    width: int = 760,
    height: int = 280,
    byte_axis: bool = False,
) -> str:
    """Lines over shared x labels, with a zero-based y axis and a legend."""
    names = list(series)
    legend_rows = _legend(names, 70, width, 0, lambda x, y, i: "")[1]
    height = max(height, 200 + 16 * legend_rows)
    left, right, top, bottom = 78, 20, 34, 40 + 16 * legend_rows
    plot_w, plot_h = width - left - right, height - top - bottom
    data_peak = max((v for values in series.values() for v in values), default=0)
    ticks = nice_ticks(data_peak, base=1024 if byte_axis else 10)
    peak = ticks[-1]
    n = max(1, len(x_labels) - 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return left + plot_w * i / n, top + plot_h * (1 - v / peak)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="18" class="chart-title">{escape(title)}</text>',
    ]
    for value in ticks:
        y = top + plot_h * (1 - value / peak)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="label">{escape(fmt(value))}</text>'
        )
    step = max(1, len(x_labels) // 12)  # at most about a dozen labels
    for i, label in enumerate(x_labels):
        if i % step and i != len(x_labels) - 1:
            continue
        x, _ = point(i, 0)
        # keep the first and last labels inside the picture
        anchor = (
            "start" if i == 0 and len(x_labels) > 1 else "end" if i and i == len(x_labels) - 1 else "middle"
        )
        out.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}" class="label">{escape(label)}</text>'
        )
    for index, (name, values) in enumerate(series.items()):
        color = _color(name, index)
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in enumerate(values)))
        out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for i, v in enumerate(values):
            x, y = point(i, v)
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(name)} {escape(x_labels[i])}: '
                f"{escape(fmt(v))}</title></circle>"
            )
    entries, _ = _legend(
        names,
        left,
        width,
        top + plot_h + 38,
        lambda x, y, i: (
            f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="12" height="4" fill="{_color(names[i], i)}"/>'
        ),
    )
    out += entries
    out.append("</svg>")
    return "".join(out)
