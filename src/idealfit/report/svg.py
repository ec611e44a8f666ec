"""The report's charts as small hand-written SVG: learning curves, predicted vs true, ROC curve.

Why not matplotlib here: the report is built at the end of every `idealfit.train`, and with Agg a
two-panel learning-curve PNG took ~0.25 s and the confusion matrix ~0.4 s (layout, tick and text
artists, rasterising, PNG compression), plus ~0.3 s to import matplotlib at all: most of the
report's cost, and the largest fixed cost of a short run (issue 8). These charts are a few lines and
dots on linear axes; writing the SVG takes milliseconds, stays sharp at any zoom and is smaller.
`report.figures` keeps the matplotlib versions for notebooks and tools.

Every chart is one `<svg>` document (the report embeds it as an <img> data URL, so the page's
figure check counts it). Data points map to pixels by one affine map per axis (`_Axis.px`).

Example:
    >>> svg = line_panels([("loss", {"train": ([1, 2], [0.9, 0.5])})], xlabel="epoch")
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

# Colours: matplotlib's default cycle, so the charts look like the figures people know from notebooks.
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
PANEL_W, PANEL_H = 440, 300  # one panel's size in px, axes and labels included
MARGIN = (56, 14, 30, 44)  # left, right, top, bottom: room for tick labels, title and axis label
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values (steps of 1, 2, 2.5 or 5 × 10^k) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt_tick(v: float) -> str:
    return f"{v:.4g}" if v != 0 else "0"


class _Axis:
    """Affine map from data [lo, hi] to pixels [a, b] (b < a for the y axis: SVG's y grows downwards)."""

    def __init__(self, lo: float, hi: float, a: float, b: float, *, integer: bool = False):
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        pad = 0.0 if integer else 0.04 * (hi - lo)
        self.lo, self.hi, self.a, self.b = lo - pad, hi + pad, a, b
        ticks = nice_ticks(self.lo, self.hi)
        self.ticks = [t for t in ticks if not integer or float(t).is_integer()]

    def px(self, v) -> np.ndarray:
        return self.a + (np.asarray(v, dtype=float) - self.lo) / (self.hi - self.lo) * (self.b - self.a)


def _frame(x: _Axis, y: _Axis, *, ox: float, title: str, xlabel: str, ylabel: str) -> list[str]:
    """Grid, tick labels, title and axis labels of one panel whose left edge is at ox."""
    out = [f'<rect x="{x.a:.1f}" y="{y.b:.1f}" width="{x.b - x.a:.1f}" height="{y.a - y.b:.1f}" '
           'fill="none" stroke="#888"/>']
    for t in x.ticks:
        p = float(x.px(t))
        out.append(f'<line x1="{p:.1f}" x2="{p:.1f}" y1="{y.b:.1f}" y2="{y.a:.1f}" stroke="#e5e5e5"/>'
                   f'<text x="{p:.1f}" y="{y.a + 15:.1f}" text-anchor="middle">{_fmt_tick(t)}</text>')
    for t in y.ticks:
        p = float(y.px(t))
        out.append(f'<line x1="{x.a:.1f}" x2="{x.b:.1f}" y1="{p:.1f}" y2="{p:.1f}" stroke="#e5e5e5"/>'
                   f'<text x="{x.a - 5:.1f}" y="{p + 4:.1f}" text-anchor="end">{_fmt_tick(t)}</text>')
    mid_x, mid_y = (x.a + x.b) / 2, (y.a + y.b) / 2
    out.append(f'<text x="{mid_x:.1f}" y="{MARGIN[2] - 10}" text-anchor="middle" font-weight="600">'
               f'{escape(title)}</text>'
               f'<text x="{mid_x:.1f}" y="{y.a + 32:.1f}" text-anchor="middle">{escape(xlabel)}</text>'
               f'<text transform="translate({ox + 14},{mid_y:.1f}) rotate(-90)" text-anchor="middle">'
               f'{escape(ylabel)}</text>')
    return out


def _legend(items: list[tuple[str, str, str]], *, x: float, y: float) -> list[str]:
    """(label, colour, dash) rows at the panel's top right corner (x = the plot's right edge)."""
    out = []
    for i, (label, color, dash) in enumerate(items):
        yy = y + 14 + 16 * i
        out.append(f'<line x1="{x - 150}" x2="{x - 128}" y1="{yy - 4}" y2="{yy - 4}" stroke="{color}" '
                   f'stroke-width="2"{dash}/><text x="{x - 123}" y="{yy}">{escape(label)}</text>')
    return out


def _document(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" {FONT}>'
            f'<rect width="100%" height="100%" fill="#fff"/>{"".join(body)}</svg>')


def _points(xs, ys, x: _Axis, y: _Axis) -> str:
    return " ".join(f"{a:.2f},{b:.2f}" for a, b in zip(x.px(xs), y.px(ys), strict=True))


def line_panels(panels: list[tuple[str, dict[str, tuple[list, list]]]], *, xlabel: str,
                vline: tuple[float, str] | None = None, integer_x: bool = True) -> str:
    """Side-by-side panels of lines: [(title, {label: (xs, ys)})], each panel with its own y axis.

    Args:
        panels: per panel its title (also the y label) and its series; an empty series is skipped.
        xlabel: the shared x label. vline: (x, label) drawn dashed in every panel (default None).
        integer_x: only whole-number x ticks, no padding (default True: epochs).
    """
    body = []
    for k, (title, series) in enumerate(panels):
        ox = k * PANEL_W
        drawn = {lab: (list(xs), list(ys)) for lab, (xs, ys) in series.items() if len(xs)}
        all_x = [v for xs, _ in drawn.values() for v in xs] + ([vline[0]] if vline else [])
        all_y = [v for _, ys in drawn.values() for v in ys if math.isfinite(v)]
        x = _Axis(min(all_x, default=0), max(all_x, default=1), ox + MARGIN[0], ox + PANEL_W - MARGIN[1],
                  integer=integer_x)
        y = _Axis(min(all_y, default=0), max(all_y, default=1), PANEL_H - MARGIN[3], MARGIN[2])
        body += _frame(x, y, ox=ox, title=title, xlabel=xlabel, ylabel=title)
        legend, ends = [], []
        for i, (label, (xs, ys)) in enumerate(drawn.items()):
            keep = [(a, b) for a, b in zip(xs, ys, strict=True) if math.isfinite(b)]
            if not keep:
                continue
            color = COLORS[i % len(COLORS)]
            pts = _points(*zip(*keep, strict=True), x, y)
            body.append(f'<polyline class="series" data-label="{escape(label)}" points="{pts}" fill="none" '
                        f'stroke="{color}" stroke-width="2"/>')
            if len(keep) <= 30:  # markers while each epoch can still be told apart
                body += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{color}"/>'
                         for p in pts.split()]
            legend.append((label, color, ""))
            ends.append(float(y.px(keep[-1][1])))
        if vline is not None:
            p = float(x.px(vline[0]))
            body.append(f'<line class="vline" x1="{p:.2f}" x2="{p:.2f}" y1="{y.b:.1f}" y2="{y.a:.1f}" '
                        'stroke="#595959" stroke-dasharray="5 4"/>')
            legend.append((vline[1], "#595959", ' stroke-dasharray="5 4"'))
        # The legend goes in the right-hand corner the curves end away from (loss ends low, accuracy high).
        low = bool(ends) and sum(ends) / len(ends) < (y.a + y.b) / 2
        body += _legend(legend, x=x.b, y=y.a - 8 - 16 * len(legend) if low else y.b)
    return _document(PANEL_W * len(panels), PANEL_H, body, " and ".join(t for t, _ in panels))


def scatter_identity(x_values, y_values, *, title: str, xlabel: str, ylabel: str, size: int = 420) -> str:
    """Points (x, y) on equal axes with the dashed identity line y = x (perfect predictions)."""
    xs, ys = np.asarray(x_values, dtype=float).ravel(), np.asarray(y_values, dtype=float).ravel()
    finite = np.isfinite(xs) & np.isfinite(ys)  # a diverged run predicts NaN: draw the points that exist
    xs, ys = (xs[finite], ys[finite]) if finite.any() else (np.zeros(1), np.zeros(1))
    lo, hi = float(min(xs.min(), ys.min())), float(max(xs.max(), ys.max()))
    x = _Axis(lo, hi, MARGIN[0], size - MARGIN[1])
    y = _Axis(lo, hi, size - MARGIN[3], MARGIN[2])
    body = _frame(x, y, ox=0, title=title, xlabel=xlabel, ylabel=ylabel)
    r = 2.5 if xs.size <= 1000 else 1.2
    px, py = x.px(xs), y.px(ys)
    # One path of tiny circles: far fewer DOM nodes than one <circle> per point.
    dots = "".join(f"M{a - r:.1f},{b:.1f}a{r},{r} 0 1,0 {2 * r},0a{r},{r} 0 1,0 {-2 * r},0" for a, b in zip(px, py, strict=True))
    body.append(f'<path class="points" d="{dots}" fill="{COLORS[0]}" fill-opacity="0.6"/>')
    body.append(f'<line class="identity" x1="{x.a:.1f}" y1="{y.a:.1f}" x2="{x.b:.1f}" y2="{y.b:.1f}" '
                'stroke="#000" stroke-dasharray="5 4"/>')
    body += _legend([("y = x (perfect)", "#000", ' stroke-dasharray="5 4"')], x=x.a + 160, y=y.b)
    return _document(size, size, body, title)


def roc_chart(fpr, tpr, *, auc: float, size: int = 360) -> str:
    """The ROC curve (false positive rate → true positive rate) with the chance diagonal."""
    x = _Axis(0.0, 1.0, MARGIN[0], size - MARGIN[1])
    y = _Axis(0.0, 1.0, size - MARGIN[3], MARGIN[2])
    body = _frame(x, y, ox=0, title=f"ROC curve (AUC {auc:.3f})", xlabel="false positive rate",
                  ylabel="true positive rate")
    body.append(f'<line x1="{x.a:.1f}" y1="{y.a:.1f}" x2="{x.b:.1f}" y2="{y.b:.1f}" stroke="#999" '
                'stroke-dasharray="5 4"/>')
    body.append(f'<polyline class="series" data-label="ROC" points="{_points(fpr, tpr, x, y)}" fill="none" '
                f'stroke="{COLORS[0]}" stroke-width="2"/>')
    body += _legend([("model", COLORS[0], ""), ("chance", "#999", ' stroke-dasharray="5 4"')], x=x.b, y=y.a - 48)
    return _document(size, size, body, "ROC curve")
