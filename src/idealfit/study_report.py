"""How a study is shown: its figures, the fixed-width table and the self-contained HTML report.

`idealfit.study` runs the experiments and calls these (it imports this module, never the reverse). They
train nothing: they read a study's rows (as written to `study.json`, held by `StudyResult`) and, for the
validation curves, the runs' per-epoch histories.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

SPLITS = ("train", "val", "test")  # a metric per split in every row; idealfit.study imports it


@dataclass
class StudyResult:
    """What a study measured: one row per variant (means ± std over seeds, per-seed values) and where it is."""

    kind: str  # "regularization" | "capacity"
    rows: list[dict[str, Any]]  # as written to study.json
    dir: Path  # the study folder
    metric: str = "accuracy"  # accuracy (classification) or rmse (regression)
    best: str | None = None  # capacity: the variant with the lowest validation error
    figures: list[Path] = field(default_factory=list)  # PNGs in the study folder
    report: Path | None = None  # report.html

    def table(self) -> str:
        """A fixed-width table of the rows, as printed by `idealfit study`."""
        return format_table(self)


# --- figures ------------------------------------------------------------------------------------------------


def _mean_curve(histories: list[list[dict]], key: str) -> tuple[list[int], list[float]]:
    """Per-epoch mean of `key` over seeds; an epoch counts the seeds that reached it."""
    by_epoch: dict[int, list[float]] = {}
    for hist in histories:
        for i, row in enumerate(hist):
            if row.get(key) is not None:
                by_epoch.setdefault(int(row.get("epoch", i + 1)), []).append(float(row[key]))
    epochs = sorted(by_epoch)
    return epochs, [float(np.mean(by_epoch[e])) for e in epochs]


def overlaid_curves(histories: dict[str, list[list[dict]]], *, metric: str) -> Figure:
    """Two panels, validation loss (log y) and validation `metric`, one line per variant (mean over seeds)."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    for ax, key in zip(fig.subplots(1, 2), ("val_loss", f"val_{metric}"), strict=True):
        settled = []  # values after the first tenth of training, to zoom past the first epochs
        for name, hists in histories.items():
            epochs, values = _mean_curve(hists, key)
            style = {"color": "black", "linewidth": 2.2} if name in ("baseline", "all") else {"linewidth": 1.3}
            ax.plot(epochs, values, label=name, linestyle="--" if name == "baseline" else "-", **style)
            settled += [v for e, v in zip(epochs, values, strict=True) if e > max(epochs) / 10]
        if key == "val_loss":
            ax.set_yscale("log")
        elif _is_score(metric) and settled:
            ax.set_ylim(max(0.0, min(settled) - 0.03), min(1.0, max(settled) + 0.02))
        ax.set_xlabel("epoch")
        ax.set_ylabel(key.replace("_", " "))
        ax.set_title(key.replace("val_", "validation "))
        ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    return fig


def train_test_bars(rows: list[dict], *, metric: str) -> Figure:
    """Grouped bars of the train and test metric per variant (std over seeds as error bars), the gap written above."""
    fig = Figure(figsize=(max(6, 1.1 * len(rows) + 2), 3.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(rows))
    for off, split in ((-0.2, "train"), (0.2, "test")):
        means = [r[f"{split}_{metric}"]["mean"] for r in rows]
        stds = [r[f"{split}_{metric}"]["std"] for r in rows]
        ax.bar(x + off, means, width=0.4, yerr=stds if any(stds) else None, capsize=3, label=split)
    scale, unit = (100, " pts") if _is_score(metric) else (1, "")
    for i, r in enumerate(rows):
        top = max(r[f"train_{metric}"]["mean"], r[f"test_{metric}"]["mean"])
        ax.annotate(f"gap {scale * r['gap']['mean']:.1f}{unit}", (i, top), textcoords="offset points",
                    xytext=(0, 4), ha="center", fontsize=8)
    ax.set_xticks(x, [r["variant"] for r in rows], rotation=20)
    ax.set_ylabel(metric)
    if _is_score(metric):
        low = min(r[f"test_{metric}"]["mean"] for r in rows)
        ax.set_ylim(max(0.0, low - 0.1), 1.04)
    ax.legend(frameon=False, loc="lower left")
    ax.grid(axis="y", alpha=0.3)
    return fig


def capacity_figure(rows: list[dict], *, best: str, metric: str) -> Figure:
    """Training and validation error against parameter count (log x), the best (lowest validation) starred."""
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax = fig.subplots()
    params = [r["params"] for r in rows]
    train, val = ([r[f"{s}_error"]["mean"] for r in rows] for s in ("train", "val"))
    ax.fill_between(params, train, val, color="C1", alpha=0.12, label="generalization gap")
    for split, label in (("train", "training error"), ("val", "validation error")):
        ax.errorbar(params, [r[f"{split}_error"]["mean"] for r in rows],
                    yerr=[r[f"{split}_error"]["std"] for r in rows], marker="o", capsize=3, label=label)
    for r in rows:
        ax.annotate(r["variant"].removeprefix("mlp-"), (r["params"], r["val_error"]["mean"]),
                    textcoords="offset points", xytext=(0, 12 if r["variant"] == best else 7), ha="center",
                    fontsize=8)
    b = next(r for r in rows if r["variant"] == best)
    ax.plot([b["params"]], [b["val_error"]["mean"]], marker="*", markersize=18, color="crimson", zorder=5,
            linestyle="none", label=f"best: {best} ({b['params']:,} params)")
    ax.axvline(b["params"], color="crimson", linestyle=":", linewidth=1)
    ax.text(0.01, 1.01, "← underfitting", transform=ax.transAxes, color="0.35", va="bottom")
    ax.text(0.99, 1.01, "overfitting →", transform=ax.transAxes, ha="right", color="0.35", va="bottom")
    ax.set_xscale("log")
    if _is_score(metric):  # linear near 0 (training error reaches it), logarithmic above 1%
        ax.set_yscale("symlog", linthresh=0.01)
        ax.set_ylim(0.0, 1.0)
    else:
        ax.set_ylim(bottom=0.0)
    ax.set_xlabel("parameters (log scale)")
    ax.set_ylabel(f"error (1 − {metric})" if _is_score(metric) else metric)
    ax.set_title("Capacity: underfit · ideal · overfit", pad=18)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


# --- table and report -------------------------------------------------------------------------------------


ONE_SEED_NOTE = "one seed: no ± spread to show (a spread needs two or more seeds, e.g. --seeds 3)"


def _cell(stat: dict[str, float], fmt: str = "percent", *, spread: bool = True) -> str:
    """mean ± std: "percent" (a fraction, shown ×100 to 0.1), "int", "float" (0.1) or "sig" (4 significant digits).

    spread=False (a single seed) shows the mean alone: its std of 0.0 would claim a spread nobody measured.
    """
    m, sd = stat["mean"], stat["std"]
    if fmt == "percent":
        m, sd, digits = 100 * m, 100 * sd, ".1f"
    else:
        digits = {"sig": ".4g", "int": ".0f"}.get(fmt, ".1f")
    if not spread:
        return f"{m:{digits}}"
    return f"{m:{digits}} ± {sd:{'.2g' if fmt == 'sig' else digits}}"


def _spread(result: StudyResult) -> bool:
    """Whether the table shows ± std: only when some variant ran on more than one seed."""
    return any(len(r["per_seed"]) > 1 for r in result.rows)


def table_note(result: StudyResult) -> str | None:
    """The line to print under the text table, or None: why a one-seed table shows no ±."""
    return None if _spread(result) else ONE_SEED_NOTE


def _table_cells(result: StudyResult, row: dict) -> list[str]:
    """One row's cells in `_table_header` order."""
    fmt = "percent" if _is_score(result.metric) else "sig"
    sp = _spread(result)
    tail = [row["verdict"], _cell(row["epochs"], "int", spread=sp), _cell(row["seconds"], "float", spread=sp)]
    if result.kind == "capacity":
        mark = "*" if row["variant"] == result.best else ""
        errs = [_cell(row[f"{s}_error"], fmt, spread=sp) for s in SPLITS]
        return [row["variant"] + mark, f"{row['params']:,}", *errs, *tail]
    vals = [_cell(row[f"{s}_{result.metric}"], fmt, spread=sp) for s in SPLITS] + [_cell(row["gap"], fmt, spread=sp)]
    sparsity = _cell(row["sparsity"], spread=sp) if "sparsity" in row else "n/a"
    # what the verdict rests on (study.VERDICT_NOTE); a study.json from before they were recorded has neither
    basis = [_cell(row[k], "float" if k == "val_loss_rise" or _is_score(result.metric) else "sig", spread=sp)
             if k in row else "n/a" for k in ("val_loss_rise", "val_vs_train")]
    return [row["variant"], *vals, sparsity, *basis, *tail]


def _table_header(result: StudyResult) -> list[str]:
    unit = " %" if _is_score(result.metric) else ""
    if result.kind == "capacity":
        return ["model", "params", *[f"{s} error{unit}" for s in SPLITS], "verdict", "epochs", "seconds"]
    gap = "gap (train−test)" if _is_score(result.metric) else "gap (test−train)"  # positive = worse on test
    return ["variant", *[f"{s} {result.metric}{unit}" for s in SPLITS], f"{gap}{unit}", "sparsity %",
            "val loss rise %", "train−val %" if _is_score(result.metric) else "val/train", "verdict", "epochs",
            "seconds"]


def format_table(result: StudyResult) -> str:
    """Fixed-width text table: mean ± std over seeds (the mean alone for one seed: see `table_note`); capacity
    marks the best model with *."""
    lines = [_table_header(result)] + [_table_cells(result, r) for r in result.rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = ["  ".join(c.ljust(w) if i == 0 or not c[:1].isdigit() else c.rjust(w)
                      for i, (c, w) in enumerate(zip(line, widths, strict=True))).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def write_study_report(result: StudyResult, *, title: str, lead: str,
                       figures: list[tuple[str, Figure, str]]) -> Path:
    """report.html in the study folder: the table, the figures (embedded) and links to every run's report."""
    from idealfit.report.html import CSS, badge, figure_html, section_html
    from idealfit.run_files import atomic_write

    head = "".join(f"<th>{escape(h)}</th>" for h in _table_header(result))
    body_rows = []
    for row in result.rows:
        cells = _table_cells(result, row)
        cells[len(cells) - 3] = badge(row["verdict"])  # verdict column, as a coloured badge
        cls = ' class="key"' if row["variant"] in (result.best, "all") else ""
        tds = "".join(f"<td>{c if c.startswith('<span') else escape(c)}</td>" for c in cells[1:])
        body_rows.append(f"<tr{cls}><th>{escape(cells[0])}</th>{tds}</tr>")
    settings = [r["settings"] for r in result.rows]
    shared = {k: v for k, v in settings[0].items() if all(k in o and o[k] == v for o in settings)}
    table = (f"<p>{escape(lead)}</p><table><tr>{head}</tr>{''.join(body_rows)}</table>"
             f'<p class="note">Every variant: {escape(", ".join(f"{k}={v}" for k, v in shared.items()))}; '
             f"seeds {escape(', '.join(str(p['seed']) for p in result.rows[0]['per_seed']))}"
             f"{'' if _spread(result) else ' (' + escape(ONE_SEED_NOTE) + ')'}.</p>")
    runs = "".join(f"<li><b>{escape(r['variant'])}</b>: {escape(r['description'])} — " + ", ".join(
        f'<a href="{escape(p["run_dir"])}/report.html">seed {p["seed"]}</a>' for p in r["per_seed"]) + "</li>"
        for r in result.rows)
    heading = "Results (mean ± std over seeds)" if _spread(result) else "Results (one seed)"
    sections = [("table", heading, table)]
    sections += [(f"fig{i}", t, figure_html(fig, t, cap)) for i, (t, fig, cap) in enumerate(figures)]
    sections.append(("runs", "Variants and their runs", f"<ul>{runs}</ul>"))
    body = "\n".join(section_html(sid, t, html) for sid, t, html in sections)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS} td {{ white-space: nowrap; }}</style></head><body><header><h1>{escape(title)}</h1>"
            f'<p class="meta">idealfit study · {stamp}</p></header><main>{body}</main></body></html>\n')
    return atomic_write(result.dir / "report.html", page.encode("utf-8"))


def _is_score(metric: str) -> bool:
    """Accuracy-like (higher is better, in [0, 1]): from the tasks' one table of metric directions; imported
    here, so reading a study's results does not load the tasks (and torch) until a metric is judged."""
    from idealfit.tasks import is_score

    return is_score(metric)
