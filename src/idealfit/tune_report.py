"""What a tuning study shows: trials.csv, best.yaml and report.html, rebuilt from the study's storage.

They train nothing: `write_outputs` reads the finished trials (and the best trial's run folder) and
writes the three files atomically; `idealfit tune` calls it after every invocation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from idealfit.tune_space import Param


def _rows(study, space: dict[str, Param]) -> list[dict[str, Any]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and t.datetime_start else None
        row = {"number": t.number, "state": t.state.name.lower(), "value": t.value,
               "epochs": max(t.intermediate_values) if t.intermediate_values else None,
               "seconds": None if seconds is None else round(seconds, 2), "run_dir": t.user_attrs.get("run_dir", "")}
        for key in space:  # a choice's label: the value itself, or its JSON text for a list ("[16, 32]")
            row[key] = t.params.get(key)
        rows.append(row)
    return rows


def trials_csv(rows: list[dict[str, Any]]) -> bytes:
    """One row per trial: number, state, value, epochs reported, seconds, run folder, then each parameter."""
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    return buf.getvalue().encode("utf-8")


def best_yaml(best, space: dict[str, Param], *, config_file: str | None, sets: dict[str, Any]) -> bytes:
    """The base config with the best trial's parameters, resolved: `idealfit train --config best.yaml`."""
    from idealfit.config import resolve, to_yaml

    params = {k: space[k].value_of(v) for k, v in best.params.items() if k in space}
    cfg = resolve(config_file=config_file, overrides={**sets, **params})
    cfg.out = None  # a new run folder each time it is trained
    head = (f"# idealfit tune: trial {best.number}, {best.value:.6g} on the validation split\n"
            f"# train it: idealfit train --config best.yaml\n")
    return (head + to_yaml(cfg)).encode("utf-8")


def history_figure(study, monitor: str) -> Figure:
    """Each finished trial's value (pruned: its last reported value, hollow) and the best so far."""
    from optuna.trial import TrialState

    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    pruned = [t for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)) if t.intermediate_values]
    if done:
        xs, ys = [t.number for t in done], [t.value for t in done]
        ax.plot(xs, ys, "o", color="C0", label="complete")
        better = max if study.direction.name == "MAXIMIZE" else min
        best = [better(ys[: i + 1]) for i in range(len(ys))]
        ax.step(xs, best, where="post", color="crimson", label="best so far")
    if pruned:
        ax.plot([t.number for t in pruned], [t.intermediate_values[max(t.intermediate_values)] for t in pruned],
                "o", mfc="none", color="0.5", label="pruned (last value)")
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials are whole numbers (no tick at 0.25)
    ax.set_ylabel(monitor)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    return fig


def importance_figure(importances: dict[str, float]) -> Figure:
    fig = Figure(figsize=(7, 0.5 * len(importances) + 1.2), layout="constrained")
    ax = fig.subplots()
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names], color="C2")
    ax.set_xlabel("importance (optuna.importance, sums to 1)")
    ax.grid(axis="x", alpha=0.3)
    return fig


def slice_figure(study, space: dict[str, Param], monitor: str) -> Figure:
    """One panel per parameter: the value of every complete trial against that parameter's drawn value."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    n = len(space)
    fig = Figure(figsize=(3.6 * min(n, 3), 3.2 * math.ceil(n / 3)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(math.ceil(n / 3), min(n, 3))).ravel()
    for ax, (key, p) in zip(axes, space.items(), strict=False):
        pts = [(t.params[key], t.value) for t in done if key in t.params]
        if p.kind == "choice":
            labels = [str(lab) for lab in p.labels()]
            xs = [labels.index(str(x)) for x, _ in pts]
            ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
            ax.set_xlim(-0.5, len(labels) - 0.5)  # every choice shown, tried or not
        else:
            xs = [x for x, _ in pts]
            if p.kind == "log_uniform" or p.log:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks overlap on short ranges
        ax.scatter(xs, [v for _, v in pts], c=[t.number for t in done if key in t.params], cmap="viridis", s=22)
        ax.set_xlabel(key)
        ax.set_ylabel(monitor)
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig


def parallel_figure(study, space: dict[str, Param], monitor: str) -> Figure | None:
    """Parallel coordinates: one line per complete trial across every parameter's axis and the value's,
    coloured by the value (best = yellow). Each axis spans its space's range (log for log-scaled ones; a
    choice's options evenly spaced), so where good trials cross an axis shows the good range. None below
    two complete trials. Drawn with matplotlib (Optuna's own plot needs plotly)."""
    from matplotlib import cm
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if set(space) <= set(t.params)]
    if len(done) < 2:
        return None
    axes_ticks: list[tuple[list[float], list[str]]] = []
    cols = []
    for key, p in space.items():
        if p.kind == "choice":
            labels = [str(lab) for lab in p.labels()]
            pos = np.array([labels.index(str(t.params[key])) for t in done], float)
            span = max(len(labels) - 1, 1)
            cols.append(pos / span)
            axes_ticks.append(([i / span for i in range(len(labels))], labels))
            continue
        lo, hi = float(p.low), float(p.high)
        xs = np.array([float(t.params[key]) for t in done])
        log = (p.kind == "log_uniform" or p.log) and lo > 0
        f = np.log10 if log else (lambda v: v)
        a, b = f(lo), f(hi)
        cols.append((f(xs) - a) / (b - a) if b > a else np.full(len(xs), 0.5))
        axes_ticks.append(([0.0, 1.0], [_fmt(lo), _fmt(hi)]))
    vals = np.array([t.value for t in done], float)
    lo, hi = float(vals.min()), float(vals.max())
    cols.append((vals - lo) / (hi - lo) if hi > lo else np.full(len(vals), 0.5))
    axes_ticks.append(([0.0, 1.0], [f"{lo:.4g}", f"{hi:.4g}"]))
    names = [*space, monitor]
    good = vals if study.direction.name == "MAXIMIZE" else -vals  # higher = better = yellow
    shade = (good - good.min()) / (np.ptp(good) or 1.0)
    fig = Figure(figsize=(max(6.0, 1.9 * len(names)), 3.8), layout="constrained")
    ax = fig.subplots()
    ys = np.stack(cols, axis=1)
    for i in np.argsort(shade):  # the best drawn last, on top
        ax.plot(range(len(names)), ys[i], color=cm.viridis(shade[i]), alpha=0.8, lw=1.4)
    for j, (ticks, labels) in enumerate(axes_ticks):
        ax.axvline(j, color="0.3", lw=0.8)
        for y, lab in zip(ticks, labels, strict=True):
            ax.text(j + 0.04, y, lab, fontsize=7, va="center", color="0.25")
    ax.set_xticks(range(len(names)), names, fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(names) - 0.6)
    ax.set_ylim(-0.08, 1.08)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    return fig


def importances(study) -> dict[str, float] | None:
    """optuna.importance's importances (its default evaluator), or None below 3 complete trials, where they say
    nothing (Optuna then warns and makes them all equal)."""
    import warnings

    import optuna
    from optuna.trial import TrialState

    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 3:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError, ZeroDivisionError):
        return None


def report_html(study, space: dict[str, Param], rows: list[dict], *, monitor: str, study_dir: Path, title: str) -> bytes:
    from idealfit.report.html import CSS, _diagnosis, figure_html, section_html
    from idealfit.run import read_json_object

    counts = {s: sum(r["state"] == s for r in rows) for s in ("complete", "pruned", "fail")}
    best = _best_or_none(study)
    lead = (f"{len(rows)} trials: {counts['complete']} complete, {counts['pruned']} pruned, {counts['fail']} failed. "
            f"Objective: {monitor} on the validation split ({study.direction.name.lower()}).")
    if best is not None:
        shown = ", ".join(f"{k}={_fmt(space[k].value_of(v))}" for k, v in best.params.items() if k in space)
        lead += f" Best: trial {best.number}, {best.value:.4g} ({shown}); its config is best.yaml."
    sections = [("summary", "Study", f"<p>{escape(lead)}</p>")]
    sections.append(("history", "Optimization history",
                     figure_html(history_figure(study, monitor), "history", "Every trial's value; the line is the best so far.")))
    imp = importances(study)
    body = (figure_html(importance_figure(imp), "importances", "How much each parameter decides the value "
                        "(optuna.importance's default evaluator).") if imp else
            '<p class="note">Importances need at least three complete trials.</p>')
    sections.append(("importance", "Parameter importances", body))
    par = parallel_figure(study, space, monitor)
    if par is not None:
        sections.append(("parallel", "Parallel coordinates", figure_html(
            par, "parallel", "One line per complete trial through each parameter's drawn value (axes span the "
            "space) and its value; colour: the value, best = yellow.")))
    sections.append(("slices", "Slice plots", figure_html(slice_figure(study, space, monitor), "slices",
                                                          "Value against each parameter; colour: trial number (later = yellow).")))
    if best is not None:
        run_dir = study_dir / best.user_attrs.get("run_dir", "")
        try:
            diag = _diagnosis(read_json_object(run_dir, "summary.json").get("diagnosis") or {})
        except Exception:  # noqa: BLE001 - a missing or damaged run folder must not cost the study's report
            diag = '<p class="note">The best trial\'s run folder has no readable summary.json.</p>'
        link = f'<p><a href="{escape(best.user_attrs.get("run_dir", ""))}/report.html">the best trial\'s run report</a></p>'
        sections.append(("best", f"Best trial ({best.number}): diagnosis", diag + link))
    sections.append(("trials", "Trials", _trials_table(rows, space)))
    body = "\n".join(section_html(sid, t, html) for sid, t, html in sections)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS} table.trials td {{ white-space: nowrap; }}</style></head><body><header><h1>{escape(title)}</h1>"
            f'<p class="meta">idealfit tune · {stamp}</p></header><main>{body}</main></body></html>\n')
    return page.encode("utf-8")


def _trials_table(rows: list[dict], space: dict[str, Param]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in ("trial", "state", "value", *space, "run"))
    body = []
    for r in rows:
        link = f'<a href="{escape(r["run_dir"])}/report.html">report</a>' if r["run_dir"] and r["state"] != "fail" else ""
        cells = [r["state"], _fmt(r["value"]), *(_fmt(r[k]) for k in space)]
        body.append(f"<tr><th>{r['number']}</th>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + f"<td>{link}</td></tr>")
    return f'<div class="scroll"><table class="trials"><tr>{head}</tr>{"".join(body)}</table></div>'


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _best_or_none(study):
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None


def write_outputs(study, space: dict[str, Param], *, study_dir: Path, monitor: str, config_file: str | None,
                  sets: dict[str, Any], title: str) -> dict[str, Path]:
    """trials.csv, best.yaml (once a trial is complete) and report.html in the study folder."""
    from idealfit.run_files import atomic_write

    rows = _rows(study, space)
    files = {"trials": atomic_write(study_dir / "trials.csv", trials_csv(rows))}
    best = _best_or_none(study)
    if best is not None:
        files["best"] = atomic_write(study_dir / "best.yaml", best_yaml(best, space, config_file=config_file, sets=sets))
    files["report"] = atomic_write(study_dir / "report.html", report_html(study, space, rows, monitor=monitor,
                                                                          study_dir=study_dir, title=title))
    return files
