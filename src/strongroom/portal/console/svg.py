"""Charts drawn on the server as SVG, so a page that shows the network's health or an institution's usage stays
light (no script, no image files) and reads the same on a slow link. Every chart is a ``<figure>`` with an SVG
that carries its own title and description for screen readers, and the numbers it draws written into ``data-``
attributes, so a test (or a script) checks the picture against the JSON it was drawn from.

Text in a chart is escaped; numbers are drawn in the reader's locale by the caller (labels arrive as text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

# Colours that stay apart for the common colour blindnesses (Okabe and Ito), and a grey for "unknown".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
GOOD, BAD, WARN, GREY = "#009E73", "#D55E00", "#E69F00", "#999999"


@dataclass(frozen=True)
class Series:
    """One named series of values, drawn in one colour."""

    name: str
    values: Sequence[float]
    colour: str = PALETTE[0]


def _num(value: float) -> str:
    return f"{value:g}"


def _figure(svg: str, caption: str, key: str = "") -> Markup:
    return Markup(f'<figure class="chart">{svg}<figcaption>{escape(caption)}{key}</figcaption></figure>')  # noqa: S704 - every text escaped here


def _legend(series: Sequence[Series]) -> str:
    if len(series) < 2:
        return ""
    items = "".join(
        f'<li><span style="display:inline-block;width:.8em;height:.8em;background:{s.colour}" aria-hidden="true">'
        f"</span> {escape(s.name)}</li>"
        for s in series
    )
    return (
        f'<ul class="legend" style="list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem">{items}</ul>'
    )


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    caption: str,
    target: float | None = None,
    target_label: str = "",
    name: str = "chart",
) -> Markup:
    """Bars per label, stacked when there are several series; an optional ``target`` line (a policy's copies, a
    goal). ``data-values`` on each bar holds its number; ``data-chart`` on the SVG names the chart."""
    width, height, left, bottom, top = 640, 240, 40, 48, 16
    plot_w, plot_h = width - left - 8, height - bottom - top
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = max([*totals, target or 0, 1])
    step = plot_w / max(len(labels), 1)
    bar_w = max(min(step * 0.7, 48), 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{name}-t" data-chart="{escape(name)}" width="{width}" height="{height}">',
        f'<title id="{name}-t">{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="11">{_num(peak)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar_w) / 2
        y: float = top + plot_h
        values = [s.values[i] for s in series]
        parts.append(f'<g data-label="{escape(label)}" data-values="{" ".join(_num(v) for v in values)}">')
        for s, value in zip(series, values, strict=True):
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{s.colour}">'
                f"<title>{escape(label)}: {escape(s.name)} {_num(value)}</title></rect>"
            )
        parts.append("</g>")
        if len(labels) <= 24 or i % max(len(labels) // 12, 1) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" font-size="10">'
                f"{escape(label[:12])}</text>"
            )
    if target is not None:
        ty = top + plot_h - plot_h * target / peak
        parts.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - 8}" y2="{ty:.1f}" stroke="{BAD}" stroke-dasharray="6 4" '
            f'data-target="{_num(target)}"/>'
            f'<text x="{width - 10}" y="{ty - 4:.1f}" text-anchor="end" font-size="11" fill="{BAD}">'
            f"{escape(target_label)}</text>"
        )
    parts.append("</svg>")
    return _figure("".join(parts), caption, _legend(series))


def line_chart(
    labels: Sequence[str], series: Sequence[Series], *, title: str, caption: str, name: str = "chart"
) -> Markup:
    """Lines over time (``labels`` are the periods, oldest first); each point's number in ``data-values``."""
    width, height, left, bottom, top = 640, 220, 40, 40, 16
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max([v for s in series for v in s.values] + [1])
    step = plot_w / max(len(labels) - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{name}-t" data-chart="{escape(name)}" width="{width}" height="{height}">',
        f'<title id="{name}-t">{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="11">{_num(peak)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for s in series:
        points = " ".join(
            f"{left + i * step:.1f},{top + plot_h - plot_h * v / peak:.1f}" for i, v in enumerate(s.values)
        )
        parts.append(
            f'<polyline fill="none" stroke="{s.colour}" stroke-width="2" points="{points}" '
            f'data-series="{escape(s.name)}" data-values="{" ".join(_num(v) for v in s.values)}"/>'
        )
    for i, label in enumerate(labels):
        if len(labels) <= 12 or i % max(len(labels) // 8, 1) == 0:
            # the first and last labels lean inwards, so neither is cut at the chart's edge
            anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{top + plot_h + 14}" text-anchor="{anchor}" font-size="10">'
                f"{escape(label[:12])}</text>"
            )
    parts.append("</svg>")
    return _figure("".join(parts), caption, _legend(series))


def matrix(
    rows: Sequence[str],
    columns: Sequence[str],
    cells: Mapping[tuple[str, str], tuple[str, str]],
    *,
    title: str,
    caption: str,
    name: str = "matrix",
) -> Markup:
    """A grid of ``rows`` by ``columns`` (members by AU, say); a cell is (colour, text), its text in ``data-cell``
    and in a tooltip; a missing cell is left blank."""
    longest = min(max((len(c) for c in columns), default=0), 24)
    # column labels are turned 60 degrees: room above for their height, and to the right for the last one's lean
    cell, left, top = 18, 150, 16 + int(longest * 5.5)
    width = left + cell * len(columns) + 8 + int(longest * 3.2)
    height = top + cell * len(rows) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{name}-t" data-chart="{escape(name)}" width="{width}" height="{height}">',
        f'<title id="{name}-t">{escape(title)}</title>',
    ]
    for j, column in enumerate(columns):
        x = left + j * cell + cell / 2
        parts.append(
            f'<text transform="translate({x:.1f},{top - 4}) rotate(-60)" font-size="10">{escape(column[:24])}</text>'
        )
    for i, row in enumerate(rows):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 4}" y="{y + cell - 5}" text-anchor="end" font-size="11">{escape(row[:22])}</text>'
        )
        for j, column in enumerate(columns):
            found = cells.get((row, column))
            if found is None:
                continue
            colour, text = found
            parts.append(
                f'<rect x="{left + j * cell + 1}" y="{y + 1}" width="{cell - 2}" height="{cell - 2}" fill="{colour}" '
                f'data-row="{escape(row)}" data-column="{escape(column)}" data-cell="{escape(text)}">'
                f"<title>{escape(row)} · {escape(column)}: {escape(text)}</title></rect>"
            )
    parts.append("</svg>")
    return _figure("".join(parts), caption)
