"""The tuning study's charts as small hand-written SVG: history, importances, slices, parallel coordinates.

Why not matplotlib (as before): `idealfit tune` builds its report once at the end of every invocation,
inside the study's wall time, and with Agg these four figures took ~0.9 s of a 20-trial digits study
that spends ~10 s training (issue 12's target: >= 90% of the wall time inside the trials). They are
dots, lines and bars on linear or log axes; written as SVG they take milliseconds, as the run report's
charts do (report/svg.py, whose axes, frame and legend these reuse).

Every function returns one `<svg>` document (the report embeds it with `report.html.svg_html`).
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np

from idealfit.report.svg import COLORS, MARGIN, PANEL_H, PANEL_W, _Axis, _document, _fmt_tick, _frame, _legend
from idealfit.tune_space import Param

# Viridis at 9 evenly spaced stops (matplotlib's table, rounded), interpolated in between: colour by trial
# number or value as the matplotlib figures did.
_VIRIDIS = ((68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141), (39, 173, 129),
            (92, 200, 99), (170, 220, 50), (253, 231, 37))


def viridis(t: float) -> str:
    """The viridis colour at t in [0, 1] (0: dark purple, 1: yellow) as #rrggbb."""
    t = min(max(float(t), 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    f = t - i
    rgb = [round(a + f * (b - a)) for a, b in zip(_VIRIDIS[i], _VIRIDIS[i + 1], strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _dots(xs, ys, x: _Axis, y: _Axis, *, colors, hollow: bool = False, r: float = 3.5) -> list[str]:
    out = []
    for a, b, c in zip(x.px(xs), y.px(ys), colors, strict=True):
        paint = f'fill="none" stroke="{c}" stroke-width="1.5"' if hollow else f'fill="{c}" fill-opacity="0.85"'
        out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{r}" {paint}/>')
    return out


def history_chart(study, monitor: str) -> str:
    """Each finished trial's value (pruned: its last reported value, hollow grey) and the best so far."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    pruned = [t for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)) if t.intermediate_values]
    pruned_ys = [t.intermediate_values[max(t.intermediate_values)] for t in pruned]
    numbers = [t.number for t in done] + [t.number for t in pruned]
    values = [v for v in [t.value for t in done] + pruned_ys if math.isfinite(v)]
    w = 2 * PANEL_W
    x = _Axis(min(numbers, default=0), max(numbers, default=1), MARGIN[0], w - MARGIN[1], integer=True)
    y = _Axis(min(values, default=0), max(values, default=1), PANEL_H - MARGIN[3], MARGIN[2])
    body = _frame(x, y, ox=0, title="optimization history", xlabel="trial", ylabel=monitor)
    legend = []
    if done:
        xs, ys = [t.number for t in done], [t.value for t in done]
        better = max if study.direction.name == "MAXIMIZE" else min
        best = [better(ys[: i + 1]) for i in range(len(ys))]
        steps = []  # a step after each trial ("post"): flat until the next complete trial
        for i, (a, b) in enumerate(zip(x.px(xs), y.px(best), strict=True)):
            if i:
                steps.append(f"{a:.1f},{float(y.px(best[i - 1])):.1f}")
            steps.append(f"{a:.1f},{b:.1f}")
        body.append(f'<polyline class="best" points="{" ".join(steps)}" fill="none" stroke="crimson" stroke-width="2"/>')
        body += _dots(xs, ys, x, y, colors=[COLORS[0]] * len(xs))
        legend += [("complete", COLORS[0], ""), ("best so far", "crimson", "")]
    if pruned:
        body += _dots([t.number for t in pruned], pruned_ys, x, y, colors=["#808080"] * len(pruned), hollow=True)
        legend.append(("pruned (last value)", "#808080", ' stroke-dasharray="2 2"'))
    body += _legend(legend, x=x.b, y=y.b)
    return _document(w, PANEL_H, body, "optimization history")


def importance_chart(importances: dict[str, float]) -> str:
    """Horizontal bars, the most important parameter on top, each labelled with its share."""
    names = list(importances)
    left, bar, gap, w = 170, 22, 10, 2 * PANEL_W
    h = MARGIN[2] + len(names) * (bar + gap) + 40
    x = _Axis(0.0, max(1e-12, max(importances.values(), default=1.0)), left, w - 60, integer=False)
    x.lo = 0.0  # bars start at zero, without the axis's padding
    body = []
    for i, name in enumerate(names):
        top = MARGIN[2] + i * (bar + gap)
        end = float(x.px(importances[name]))
        body.append(f'<text x="{left - 8}" y="{top + bar * 0.7:.1f}" text-anchor="end">{escape(name)}</text>'
                    f'<rect class="bar" data-label="{escape(name)}" x="{left}" y="{top}" width="{max(end - left, 0.5):.1f}" '
                    f'height="{bar}" fill="{COLORS[2]}"/>'
                    f'<text x="{end + 5:.1f}" y="{top + bar * 0.7:.1f}">{importances[name]:.3f}</text>')
    body.append(f'<text x="{(left + w - 60) / 2:.1f}" y="{h - 12}" text-anchor="middle">'
                "importance (optuna.importance, sums to 1)</text>")
    return _document(w, h, body, "parameter importances")


def _param_axis(p: Param, values: list[Any], a: float, b: float) -> tuple[_Axis, list[float], list[tuple[float, str]]]:
    """An axis for one parameter: (axis, each value's coordinate, (coordinate, label) ticks). A choice's options
    sit at 0, 1, 2 ...; a log-scaled range is drawn on log10 (ticks at the powers of ten, else its ends)."""
    if p.kind == "choice":
        labels = [str(lab) for lab in p.labels()]
        ax = _Axis(-0.5, len(labels) - 0.5, a, b, integer=True)
        ax.lo, ax.hi = -0.5, len(labels) - 0.5  # every choice shown, tried or not
        return ax, [float(labels.index(str(v))) for v in values], [(float(i), lab) for i, lab in enumerate(labels)]
    lo, hi = float(p.low), float(p.high)
    if (p.kind == "log_uniform" or p.log) and lo > 0:
        ax = _Axis(math.log10(lo), math.log10(hi), a, b)
        decades = [float(e) for e in range(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1)]
        ticks = [(e, _fmt_tick(10 ** e)) for e in decades] or [(math.log10(v), _fmt_tick(v)) for v in (lo, hi)]
        return ax, [math.log10(float(v)) for v in values], ticks
    ax = _Axis(lo, hi, a, b)
    return ax, [float(v) for v in values], [(t, _fmt_tick(t)) for t in ax.ticks]


def slice_chart(study, space: dict[str, Param], monitor: str) -> str:
    """One panel per parameter (three to a row): each complete trial's value against its drawn value,
    coloured by trial number (later = yellow)."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    n = len(space)
    cols, rows = min(n, 3), math.ceil(n / 3)
    last = max((t.number for t in done), default=1) or 1
    body = []
    for k, (key, p) in enumerate(space.items()):
        ox, oy = (k % 3) * PANEL_W, (k // 3) * PANEL_H
        pts = [(t.params[key], t.value, t.number) for t in done if key in t.params and math.isfinite(t.value)]
        x, xs, ticks = _param_axis(p, [v for v, _, _ in pts], ox + MARGIN[0], ox + PANEL_W - MARGIN[1])
        y = _Axis(min((v for _, v, _ in pts), default=0), max((v for _, v, _ in pts), default=1),
                  oy + PANEL_H - MARGIN[3], oy + MARGIN[2])
        x.ticks = []  # the parameter's own ticks below, not the axis's linear ones
        frame = _frame(x, y, ox=ox, title="", xlabel=key, ylabel=monitor)  # _frame puts titles on the first row
        body.append(f'<g class="panel" data-param="{escape(key)}">' + "".join(frame))
        for t, label in ticks:
            px = float(x.px(t))
            body.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{y.b:.1f}" y2="{y.a:.1f}" stroke="#e5e5e5"/>'
                        f'<text x="{px:.1f}" y="{y.a + 15:.1f}" text-anchor="middle">{escape(label)}</text>')
        body += _dots(xs, [v for _, v, _ in pts], x, y, colors=[viridis(num / last) for _, _, num in pts])
        body.append("</g>")
    return _document(cols * PANEL_W, rows * PANEL_H, body, "slice plots")


def parallel_coordinates(study, space: dict[str, Param]) -> tuple[list[str], np.ndarray, np.ndarray, list] | None:
    """The parallel-coordinates data: axis names, (trials, axes) positions in [0, 1], the values, and each axis's
    (positions, labels) ticks. Each axis spans its space's range (log for log-scaled ones; a choice's options
    evenly spaced), the last axis the values' range. None below two complete trials."""
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if set(space) <= set(t.params)]
    if len(done) < 2:
        return None
    ticks, cols = [], []
    for key, p in space.items():
        if p.kind == "choice":
            labels = [str(lab) for lab in p.labels()]
            span = max(len(labels) - 1, 1)
            cols.append(np.array([labels.index(str(t.params[key])) for t in done], float) / span)
            ticks.append(([i / span for i in range(len(labels))], labels))
            continue
        lo, hi = float(p.low), float(p.high)
        xs = np.array([float(t.params[key]) for t in done])
        f = np.log10 if (p.kind == "log_uniform" or p.log) and lo > 0 else (lambda v: v)
        a, b = f(lo), f(hi)
        cols.append((f(xs) - a) / (b - a) if b > a else np.full(len(xs), 0.5))
        ticks.append(([0.0, 1.0], [_fmt_tick(lo), _fmt_tick(hi)]))
    vals = np.array([t.value for t in done], float)
    lo, hi = float(vals.min()), float(vals.max())
    cols.append((vals - lo) / (hi - lo) if hi > lo else np.full(len(vals), 0.5))
    ticks.append(([0.0, 1.0], [f"{lo:.4g}", f"{hi:.4g}"]))
    return [*space], np.stack(cols, axis=1), vals, ticks


def parallel_chart(study, space: dict[str, Param], monitor: str) -> str | None:
    """Parallel coordinates: one line per complete trial across every parameter's axis and the value's,
    coloured by the value (best = yellow, drawn last, on top), so where good trials cross an axis shows the
    good range. None below two complete trials."""
    data = parallel_coordinates(study, space)
    if data is None:
        return None
    names, ys, vals, ticks = data
    names = [*names, monitor]
    good = vals if study.direction.name == "MAXIMIZE" else -vals  # higher = better = yellow
    shade = (good - good.min()) / (np.ptp(good) or 1.0)
    step = max(150, min(220, (2 * PANEL_W - 80) // max(len(names) - 1, 1)))
    w, top, bottom = 60 + step * (len(names) - 1) + 90, 24, PANEL_H - 44
    px = [60 + j * step for j in range(len(names))]

    def py(v):
        return bottom - float(v) * (bottom - top)

    body = []
    for i in np.argsort(shade, kind="stable"):
        pts = " ".join(f"{a:.1f},{py(v):.1f}" for a, v in zip(px, ys[i], strict=True))
        body.append(f'<polyline class="trial" data-shade="{shade[i]:.4f}" points="{pts}" fill="none" '
                    f'stroke="{viridis(shade[i])}" stroke-width="1.6" stroke-opacity="0.85"/>')
    for j, (pos, labels) in enumerate(ticks):
        body.append(f'<line x1="{px[j]}" x2="{px[j]}" y1="{top}" y2="{bottom}" stroke="#4d4d4d"/>'
                    f'<text x="{px[j]}" y="{bottom + 22}" text-anchor="middle">{escape(names[j])}</text>')
        body += [f'<text x="{px[j] + 5}" y="{py(v) + 4:.1f}" font-size="10" fill="#404040">{escape(lab)}</text>'
                 for v, lab in zip(pos, labels, strict=True)]
    return _document(w, PANEL_H, body, "parallel coordinates")
