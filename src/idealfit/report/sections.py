"""HTML for the report's tables for people: evidence in words, per-class scores, confusion matrix,
baselines, confidence interval, and which columns were treated how.

Tables are plain HTML: cheaper to build than a figure, readable by screen readers, copyable.
Every function returns an HTML fragment with all text escaped.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

from idealfit.data.preprocess import clip_rule
from idealfit.report.evidence import RELATIVE, describe
from idealfit.report.stats import (
    bootstrap_dice_interval,
    bootstrap_mean_interval,
    bootstrap_rmse_interval,
    per_class_scores,
    per_image_counts,
    wilson_interval,
)

KEY = ' class="key"'


def fmt(value) -> str:
    """A number for a table: ints with thousands separators, floats to 4 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return escape(str(value))


def evidence_table(evidence: dict) -> str:
    """One row per evidence key: its plain name (the key beneath, for summary.json readers), value, meaning."""
    rows = []
    for key, value in evidence.items():
        name, meaning = describe(str(key))
        shown = f"{100 * value:.1f}%" if key in RELATIVE and isinstance(value, float) and math.isfinite(value) \
            else fmt(value)
        rows.append(f'<tr><th>{escape(name)}<br><code>{escape(str(key))}</code></th><td>{shown}</td>'
                    f'<td class="meaning">{escape(meaning)}</td></tr>')
    return ('<table class="evidence"><tr><th>evidence</th><th>value</th><th>what it means</th></tr>'
            f'{"".join(rows)}</table>')


def interval(task: str, y_true, y_pred, *, n_classes: int = 0, target: dict | None = None) -> tuple[str, str, str]:
    """(metric, estimate, 95% interval) on the test split, as text: Wilson for accuracy, bootstrap for RMSE
    (over test pairs) and Dice (over test images).

    `target`: a reconstruction run's {"mean", "std"} per channel (preprocess.json): its predictions.npz is
    in data units, its metrics and baselines in standardized ones; the headline is put in the latter, or
    it read 0.065 beside an identity baseline of 0.249 for a model 4x *worse* than that baseline."""
    if task == "segmentation":
        t, p, i = (c.sum(axis=0) for c in per_image_counts(y_true, y_pred, n_classes))
        with np.errstate(invalid="ignore", divide="ignore"):
            dice = float(np.nanmean(np.where(t + p > 0, 2 * i / (t + p), np.nan)[1:]))
        lo, hi = bootstrap_dice_interval(y_true, y_pred, n_classes)
        return "dice", f"{dice:.1%}", f"{lo:.1%} – {hi:.1%}"
    if task in ("reconstruction", "translation", "forecasting"):  # bootstrap per sample, not per value
        t, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
        standardized = task == "reconstruction" and target is not None
        err = ((p - t) / _channel_std(target, p)) ** 2 if standardized else (p - t) ** 2 if task == "reconstruction" \
            else np.abs(p - t)
        per_sample = err.reshape(len(t), -1).mean(axis=1)
        name = {"reconstruction": f"mse ({'standardized' if standardized else 'data'} units)", "translation": "l1",
                "forecasting": "mae"}[task]
        lo, hi = bootstrap_mean_interval(per_sample)
        return name, f"{per_sample.mean():.4g}", f"{lo:.4g} – {hi:.4g}"
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if task == "classification":
        correct = int(np.sum(y_true == y_pred))
        lo, hi = wilson_interval(correct, y_true.size)
        return "accuracy", f"{correct / y_true.size:.1%}", f"{lo:.1%} – {hi:.1%}"
    rmse = float(np.sqrt(np.mean((y_pred.astype(float) - y_true.astype(float)) ** 2)))
    lo, hi = bootstrap_rmse_interval(y_true, y_pred)
    return "rmse", f"{rmse:.4g}", f"{lo:.4g} – {hi:.4g}"


def _channel_std(target: dict, x: np.ndarray) -> np.ndarray:
    """The training split's std per channel, shaped to broadcast over x (N, C, ...); a scalar for one."""
    from idealfit.tasks.reconstruction import per_channel  # the shaping test_metrics uses (in float64 here)

    return per_channel(np.asarray(target["std"], dtype=float), x)


def units_note(summary: dict, preprocess: dict | None, y_true, y_pred) -> str:
    """A reconstruction run's units, said once under its tables: standardized, with the data units' test mse
    beside it (named as such) for a learner who thinks in pixel values."""
    target = (preprocess or {}).get("target")
    if summary.get("task") != "reconstruction" or not isinstance(target, dict):
        return ""
    noise = ((preprocess or {}).get("reconstruction") or {}).get("noise") or 0.0
    ident = f", returning the noisy input about data.noise² = {noise ** 2:.4g}" if noise else ""
    raw = ""  # a table comes standardized from its preprocessor: no other units to give
    if preprocess.get("kind") != "table" and y_true is not None and np.asarray(y_true).size:
        mse = float(np.mean((np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)) ** 2))
        raw = f" In the data's own units (e.g. pixel values) the test mse is {mse:.4g}, not comparable with the numbers above."
    return ('<p class="note">Units: the headline, the table and the baselines give mse and mae in standardized '
            "units (each channel scaled to mean 0 and std 1 on the training split), so predicting each channel's "
            "mean scores about 1, and the baseline <code>mean</code> (each value's training mean: the mean image) "
            f"at most that{ident}.{raw}</p>")


def interval_note(task: str, n: int) -> str:
    how = {"classification": "Wilson score interval",
           "segmentation": "bootstrap: 1000 resamples of the test images, seed 0",
           "reconstruction": "bootstrap: 1000 resamples of the test samples, seed 0",
           "translation": "bootstrap: 1000 resamples of the test images, seed 0",
           "forecasting": "bootstrap: 1000 resamples of the test windows, seed 0; neighbouring windows share "
                          "time steps and errors, so the true range is wider"}.get(
        task, "bootstrap: 1000 resamples of the test pairs, seed 0")
    return (f'<p class="note">Test set: {n:,} samples. The 95% interval ({how}) is the range the score on '
            "new data from the same source would likely fall in; a small test set gives a wide one.</p>")


# what a task's baselines are, where not the table ones (linear, boosting, a constant)
def baselines_table(summary: dict, order: tuple[str, ...]) -> str:
    """The network beside the simple baselines in summary["baselines"], on validation and test."""
    baselines = summary.get("baselines")
    if not isinstance(baselines, dict) or not baselines:
        return ""
    models = {"this network": summary.get("metrics") or {}}
    models.update({str(k): v for k, v in baselines.items() if isinstance(v, dict)})
    splits = [s for s in ("val", "test") if any(isinstance(m.get(s), dict) for m in models.values())]
    # Only the metrics the baselines report: the network's loss has no counterpart in a boosting model.
    found = {k for b in list(models.values())[1:] for s in splits for k, v in (b.get(s) or {}).items()
             if not isinstance(v, list)}  # per-class lists have their own table
    names = [m for m in order if m in found] + sorted(found - set(order))
    key = summary.get("metric")
    head = "".join(f'<th{KEY if n == key else ""}>{escape(s)} {escape(n)}</th>' for s in splits for n in names)
    rows = []
    for model, splits_of in models.items():
        cells = "".join(f"<td>{fmt((splits_of.get(s) or {}).get(n))}</td>" for s in splits for n in names)
        cls = ' class="key"' if model == "this network" else ""
        rows.append(f"<tr{cls}><th>{escape(model)}</th>{cells}</tr>")
    return ('<h3>Beside simple baselines</h3><p class="note">A model is only good beside a baseline: the same '
            f"splits; {escape(_baseline_words(summary.get('task'), list(models)[1:], baselines))}.</p>"
            f'<table class="baselines"><tr><th>model</th>{head}</tr>{"".join(rows)}</table>')


OTHER_BASELINES = {"real": "the real images themselves, scored by the same segmenter (the FCN-score's upper bound)",
                   "majority": "the training split's most frequent class, always", "mean": "the training mean, always"}


def _baseline_words(task: str | None, keys: list[str], baselines: dict | None = None) -> str:
    """What each baseline of the table is, in the diagnosis's own words (baselines.NAMES), with the entry's own
    note where it has one (how an image's linear model was fitted, a subsample)."""
    from idealfit.baselines import rivals

    named, baselines = rivals(task), baselines or {}
    notes = {k: f" ({v['note']})" if isinstance(v, dict) and isinstance(v.get("note"), str) else ""
             for k, v in baselines.items()}
    return "; ".join(f"{k}: {named[k].words if k in named else OTHER_BASELINES.get(k, k)}{notes.get(k, '')}"
                     for k in keys)


def confusion_table(y_true, y_pred, names: list[str]) -> str:
    """Rows true class, columns predicted; each cell's shade grows with its share of the largest count."""
    k = len(names)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    top = max(int(counts.max()), 1)
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    rows = []
    for i, name in enumerate(names):
        cells = []
        for j in range(k):
            a = counts[i, j] / top
            ink = "#fff" if a > 0.55 else "inherit"
            cls = ' class="diag"' if i == j else ""
            cells.append(f'<td{cls} style="background:rgba(9,105,218,{a:.2f});color:{ink}">{counts[i, j]}</td>')
        rows.append(f"<tr><th>{escape(name)}</th>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table class="confusion"><tr><th>true ↓ · predicted →</th>{head}</tr>'
            f'{"".join(rows)}</table></div>')


def per_class_table(y_true, y_pred, names: list[str]) -> str:
    """Precision, recall, F1 and support per class, then their unweighted (macro) mean over the classes that have
    test samples: a class with none (too few examples to reach every split) has no recall, and counting its
    zeros would pull the average down for a reason that is not the model's (scikit-learn's macro average
    likewise leaves out a label absent from both the truth and the predictions)."""
    s = per_class_scores(y_true, y_pred, len(names))
    present = s["support"] > 0
    rows = [f"<tr><th>{escape(n)}</th><td>{s['precision'][i]:.3f}</td><td>{s['recall'][i]:.3f}</td>"
            f"<td>{s['f1'][i]:.3f}</td><td>{int(s['support'][i]):,}</td></tr>" if present[i] else
            f"<tr><th>{escape(n)}</th><td>n/a</td><td>n/a</td><td>n/a</td><td>0</td></tr>" for i, n in enumerate(names)]
    absent = [n for n, p in zip(names, present, strict=True) if not p]
    label = "macro average" + (f" ({int(present.sum())} of {len(names)} classes)" if absent else "")
    rows.append(f'<tr class="total"><th>{label}</th><td>{s["precision"][present].mean():.3f}</td>'
                f'<td>{s["recall"][present].mean():.3f}</td><td>{s["f1"][present].mean():.3f}</td>'
                f'<td>{int(s["support"].sum()):,}</td></tr>')
    left_out = (f' {escape(", ".join(absent))} {"has" if len(absent) == 1 else "have"} no test samples: n/a, and '
                "left out of the macro average.") if absent else ""
    return ('<p class="note">Precision: of the samples predicted as the class, the share that are. Recall: of '
            "the samples of the class, the share found. F1: their harmonic mean. Support: test samples."
            f'{left_out}</p><table class="per-class"><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>'
            f'<th>support</th></tr>{"".join(rows)}</table>')


def _numeric_treatment(table: dict, k: int, column: str = "") -> str:
    opts = table.get("options") or {}
    parts = []
    if table.get("clip"):
        lows, highs = table["clip"]
        parts.append(f"clipped to [{lows[k]:.4g}, {highs[k]:.4g}] ({clip_rule(opts)})")
        far = (table.get("far_clipped") or {}).get(column)  # typos clipped at train (data/far_values.py)
        if isinstance(far, dict):
            parts.append(f"{far.get('count')} training value(s) far beyond those bounds: "
                         f"{', '.join(map(str, (far.get('examples') or [])[:5]))}; typos? fix or drop those rows")
    missing = table.get("missing")  # per column, in training (None: a run from before it was recorded)
    if table.get("fill") is not None and missing is not None and not missing[k]:
        parts.append(f"no missing values in training (one at predict time would get {table['fill'][k]:.4g}, the "
                     f"training {opts.get('impute', 'median')})")
    elif table.get("fill") is not None:
        count = f"{missing[k]:,} " if missing is not None else ""
        parts.append(f"{count}missing values filled with {table['fill'][k]:.4g} (the training "
                     f"{opts.get('impute', 'median')})")
    elif opts.get("impute") == "drop":
        parts.append("rows with a missing value dropped")
    if table.get("scales") is not None:
        how = "standardised" if opts.get("scale", "standard") == "standard" else "min-max scaled"
        off = table["offsets"][k]  # "x + 0.3" rather than "x − -0.3"
        parts.append(f"{how}: (x {'+' if off < 0 else '−'} {abs(off):.4g}) / {table['scales'][k]:.4g}")
    else:
        parts.append("not scaled")
    if k in (table.get("indicator") or []):
        parts.append("plus a 0/1 missing-indicator column")
    return "; ".join(parts)


def _target_row(state: dict) -> list[tuple[str, str, str]]:
    """The regression target's row: how it was scaled, and its training values far outside the rest (typos),
    which are never clipped (the model must predict the target as given)."""
    target, name = state.get("target"), (state.get("meta") or {}).get("target")
    if state.get("task") != "regression" or not isinstance(target, dict) or "mean" not in target or not name:
        return []
    how = f"the target: trained standardised, (y − {target['mean']:.4g}) / {target['std']:.4g}; not clipped"
    far = target.get("far")
    if isinstance(far, dict):
        shown = ", ".join(f"{v:.6g} ({r})" for r, v in list(zip(far["rows"], far["values"], strict=False))[:5])
        how += (f"; {far['count']} training value(s) far outside the rest (beyond Tukey's fences "
                f"[{far['fences'][0]:.4g}, {far['fences'][1]:.4g}], k = {far['k']:g}): {shown}; typos? fix or drop "
                "those rows")
    return [(str(name), "target", how)]


def columns_table(state: dict) -> str:
    """Which columns were treated how, from preprocess.json (table runs); "" for other kinds of data."""
    table = state.get("table")
    if state.get("kind") != "table" or not isinstance(table, dict):
        return ""
    columns = table.get("columns") or state.get("columns") or []
    rows = _target_row(state)
    for k, j in enumerate(table.get("numeric") or []):
        rows.append((columns[j], "numeric", _numeric_treatment(table, k, columns[j])))
    for j, cats in zip(table.get("categorical") or [], table.get("categories") or [], strict=False):
        # an empty cell is its own category, "" in preprocess.json: named as the mistakes table names it
        shown = ", ".join(str(c) if c != "" else "missing" for c in cats[:5]) + (", …" if len(cats) > 5 else "")
        rows.append((columns[j], "categorical",
                     f"one-hot: {len(cats)} categories ({shown}); a value not seen in training → all zeros"))
    ids = state.get("identifiers") or table.get("identifiers") or []
    rows += [(name, "identifier", "left out: a row ID, not a feature") for name in ids]
    meta = state.get("meta") or {}
    rows += [(name, "free text", "left out: a different text on nearly every row, so no category to learn")
             for name in meta.get("free_text") or []]
    body = "".join(f"<tr><th>{escape(str(c))}</th><td class=\"text\">{escape(kind)}</td>"
                   f"<td class=\"text\">{escape(how)}</td></tr>" for c, kind, how in rows)
    note = ""
    if meta.get("unlabelled_rows"):
        n, lines = meta["unlabelled_rows"], meta.get("unlabelled_lines") or []
        shown = ", ".join(map(str, lines[:10])) + (", …" if n > len(lines[:10]) else "")
        note += (f'<p class="note">{n} row{"s" * (n != 1)} with no value in the target left out before the split '
                 f"(line{'s' * (n != 1)} {shown}).</p>")
    if table.get("pca"):
        note += (f'<p class="note">Then PCA: the encoded columns are projected onto '
                f"{len(table['pca']['components'])} principal components.</p>")
    return ('<p class="note">Every statistic was fitted on the training split only, then applied to all '
            f'splits.</p><table class="columns"><tr><th>column</th><th>type</th><th>treatment</th></tr>{body}'
            f"</table>{note}")
