"""Inline SVG charts for the HTML report: no JavaScript, no fonts or scripts fetched, one file."""

from __future__ import annotations

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


def _color(name: str, index: int) -> str:
    return PALETTE.get(name, LINE_COLORS[index % len(LINE_COLORS)])


def stacked_bars(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    fmt: Callable[[float], str],
    width: int = 760,
) -> str:
    """Horizontal bars, one per category, stacked by series (storage class); totals at the bar's end."""
    label_w, bar_h, gap, top = 190, 22, 8, 34
    height = top + len(categories) * (bar_h + gap) + 40
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    scale = (width - label_w - 110) / (max(totals) or 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="18" class="chart-title">{escape(title)}</text>',
    ]
    for row, category in enumerate(categories):
        y = top + row * (bar_h + gap)
        out.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="label">{escape(category)}</text>'
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
    legend_y = height - 14
    x = float(label_w)
    for index, name in enumerate(series):
        out.append(
            f'<rect x="{x:.1f}" y="{legend_y - 10}" width="10" height="10" fill="{_color(name, index)}"/>'
            f'<text x="{x + 14:.1f}" y="{legend_y}" class="legend">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    fmt: Callable[[float], str],
    width: int = 760,
    height: int = 280,
) -> str:
    """Lines over shared x labels, with a zero-based y axis and a legend."""
    left, right, top, bottom = 70, 20, 34, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for values in series.values() for v in values), default=0) or 1
    n = max(1, len(x_labels) - 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return left + plot_w * i / n, top + plot_h * (1 - v / peak)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="18" class="chart-title">{escape(title)}</text>',
    ]
    for tick in range(5):
        value = peak * tick / 4
        y = top + plot_h * (1 - tick / 4)
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
        out.append(
            f'<rect x="{left + 190 * (index % 4)}" y="{height - 22 - 16 * (index // 4)}" width="12" height="4" fill="{color}"/>'
            f'<text x="{left + 190 * (index % 4) + 16}" y="{height - 16 - 16 * (index // 4)}" class="legend">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
