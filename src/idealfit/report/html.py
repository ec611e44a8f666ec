"""The run report: one self-contained report.html built from a run folder alone.

A run folder holds summary.json (required), metrics.csv, config.yaml, model.txt, predictions.npz,
preprocess.json and extras.json (all optional). Any tool can add material with `add_extra` and rebuild
the report with `build_run_report`. Charts are hand-written SVG (report.svg), numbers are HTML tables
(report.sections), images are base64 data URLs: the file needs no network and no other file.

Example:
    >>> add_extra("runs/x", section="Saliency", caption="digit 3", path="saliency/3.png")
    >>> build_run_report("runs/x")  # -> Path("runs/x/report.html")
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

import numpy as np

from idealfit.diagnose_evidence import best_epoch_words
from idealfit.diagnose_forecast import naive_on_test
from idealfit.report import sections as tables
from idealfit.report import svg

# Reading the folder lives in run_folder.py; these names stay importable from here, where callers know them.
from idealfit.report.run_folder import Extra, RunFiles, add_extra, load_run, set_section
from idealfit.report.stats import roc_curve_points
from idealfit.run_files import atomic_write, is_file, run_file

__all__ = ["Extra", "RunFiles", "add_extra", "badge", "build_run_report", "figure_html", "load_run",
           "render_report", "section_html", "set_section"]

# Metric rows shown first, in this order, when present; other keys follow as found.
_METRIC_ORDER = ("loss", "accuracy", "rmse", "mae", "r2", "dice", "miou", "pixel_accuracy")
_VERDICT_CLASS = {"underfitting": "under", "good fit": "good", "overfitting": "over", "unfinished": "under"}

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d8dee4; --bg: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); line-height: 1.5;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 1.5rem; }
header { padding-top: 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .2rem; }
h1 .sep { color: var(--muted); font-weight: 400; }
h2 { font-size: 1.25rem; margin: 0 0 .8rem; padding-bottom: .3rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
.meta, .note, figcaption { color: var(--muted); font-size: .9rem; }
.note.warn { color: inherit; border-left: 3px solid #bf8700; padding-left: .5rem; }
nav { display: flex; flex-wrap: wrap; gap: .4rem; margin: .8rem 0 0; }
nav a { color: var(--accent); text-decoration: none; border: 1px solid var(--line); background: #fff;
        border-radius: 999px; padding: .1rem .75rem; font-size: .85rem; }
nav a:hover { border-color: var(--accent); }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
          padding: 1.1rem 1.4rem; margin: 1.2rem 0; }
table { border-collapse: collapse; margin: .4rem 0; }
/* a table wider than its card (pix2pix's baselines, a study's runs) scrolls inside the card, not the page */
section table { display: block; max-width: 100%; overflow-x: auto; }
th, td { padding: .3rem .9rem; border-bottom: 1px solid var(--line); text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; }
tr:first-child th { background: var(--bg); }
tr.key { font-weight: 600; background: #ddf4ff; }
dl.facts { display: flex; flex-wrap: wrap; gap: .6rem; margin: 0 0 1rem; }
dl.facts div { border: 1px solid var(--line); border-radius: 8px; padding: .35rem .8rem; min-width: 8rem; }
dt { color: var(--muted); font-size: .8rem; }
dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; vertical-align: middle; border-radius: 999px; padding: .1rem .8rem;
         font-size: .85rem; font-weight: 600; color: #fff; letter-spacing: .02em; background: #6e7781; }
.badge-good { background: #1a7f37; } .badge-under { background: #bf8700; } .badge-over { background: #cf222e; }
.diagnosis { border-left: 5px solid #6e7781; padding-left: 1rem; }
.diagnosis-good { border-color: #1a7f37; } .diagnosis-under { border-color: #bf8700; }
.diagnosis-over { border-color: #cf222e; }
.verdict { font-size: 1.05rem; margin: 0; }
ul.advice { margin: .2rem 0; padding-left: 1.3rem; }
figure { margin: .4rem 0; }
img { max-width: 100%; height: auto; display: block; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem;
      overflow: auto; max-height: 36rem; font-size: .82rem; line-height: 1.4; }
.extra + .extra { margin-top: 1.2rem; }
td.text { text-align: left; }
td.meaning { text-align: left; color: var(--muted); font-size: .88rem; }
table.evidence code { color: var(--muted); font-weight: 400; font-size: .78rem; }
tr.total { font-weight: 600; }
table.confusion td { padding: .25rem .55rem; text-align: center; }
table.confusion td.diag { font-weight: 600; }
.scroll { overflow-x: auto; }
.thumbs { display: flex; flex-wrap: wrap; gap: .8rem; }
figure.thumb { margin: 0; text-align: center; font-size: .8rem; }
figure.thumb img { image-rendering: pixelated; border: 1px solid var(--line); margin: 0 auto .2rem; }
figure.thumb .file { font-family: monospace; word-break: break-all; }
"""

# Counts figures that decoded; the browser test reads body[data-figures] ("loaded/total").
_FIGURE_CHECK = """window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (img) { return img.complete && img.naturalWidth > 0; });
  document.body.dataset.figures = ok.length + "/" + imgs.length;
});"""


_fmt = tables.fmt  # the one number format of every table in the page


def _img(png: bytes, alt: str, mime: str = "image/png") -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:{mime};base64,{data}" alt="{escape(alt)}">'


def figure_html(fig, alt: str, caption: str) -> str:
    """A matplotlib figure as an embedded PNG with its caption (the study report uses this)."""
    from idealfit.report.figures import to_png  # matplotlib only for callers that bring a figure

    return f"<figure>{_img(to_png(fig), alt)}<figcaption>{escape(caption)}</figcaption></figure>"


def svg_html(document: str, alt: str, caption: str) -> str:
    """A chart from report.svg, embedded as an <img> data URL: isolated from the page's CSS, and counted
    by the page's figure check like any other image."""
    return f"<figure>{_img(document.encode('utf-8'), alt, 'image/svg+xml')}<figcaption>{escape(caption)}</figcaption></figure>"


def section_html(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}">\n<h2>{escape(title)}</h2>\n{body}\n</section>'


def _metrics_table(summary: dict) -> str:
    """Rows are metrics (loss, accuracy / rmse, mae, r2), columns the splits train, val, test."""
    splits = {k: v for k, v in (summary.get("metrics") or {}).items() if isinstance(v, dict)}
    if not splits:
        return '<p class="note">summary.json has no metrics.</p>'
    names = [m for m in _METRIC_ORDER if any(m in s for s in splits.values())]
    names += sorted({m for s in splits.values() for m, v in s.items() if not isinstance(v, list)} - set(names))
    head = "".join(f"<th>{escape(s)}</th>" for s in splits)
    rows = []
    for name in names:
        cls = ' class="key"' if name == summary.get("metric") else ""
        cells = "".join(f"<td>{_fmt(s.get(name))}</td>" for s in splits.values())
        rows.append(f"<tr{cls}><th>{escape(name)}</th>{cells}</tr>")
    best = summary.get("best_epoch")
    kept = f" (epoch {best})" if isinstance(best, int) and best else ""
    # one run reported three "training losses" (this table's, and the diagnosis's final and lowest epoch means)
    # with nothing saying why they differ: each is labelled where it appears
    note = (f'<p class="note">Kept weights{kept}, evaluated: every split measured after training in eval mode '
            "(no dropout, no augmentation). The learning curves and the diagnosis's losses &ldquo;during "
            "training&rdquo; are each epoch's running mean in train mode, so they differ.</p>")
    return f'<table class="metrics"><tr><th>metric</th>{head}</tr>{"".join(rows)}</table>{note}'


def _facts(summary: dict, run: RunFiles | None = None) -> str:
    seconds = summary.get("seconds")
    test = {}
    if run is not None and run.y_true is not None and np.asarray(run.y_true).size:
        metric, estimate, ci = tables.interval(summary["task"], run.y_true, run.y_pred,
                                               n_classes=len(summary.get("class_names") or []),
                                               target=(run.preprocess or {}).get("target"))
        test = {"test samples": len(run.y_true), f"test {metric}": estimate, f"test {metric}, 95% interval": ci}
    facts = {
        "task": summary.get("task"),
        "parameters": summary.get("params"),
        "epochs run": summary.get("epochs_run"),
        "best epoch": best_epoch_words(summary) if isinstance(summary.get("best_epoch"), int) else None,
        "stopped early": summary.get("stopped_early"),
        "learning-rate warm-up, not judged by early stopping": _warmup(summary.get("warmup_epochs")),
        "training time": f"{seconds:.1f} s" if isinstance(seconds, (int, float)) else None,
        "speed paths": _speed_paths(summary.get("speed")),
        "processes": _processes(summary.get("distributed"), summary.get("threads")),
        "training samples": summary.get("train_samples"),
        # the deck: "L1 leads to sparser weights" — the share of weights with |w| < 1e-3
        "weight sparsity": f"{100 * sparsity:.1f}%" if isinstance(sparsity := summary.get("sparsity"), float) else None,
        **test,
    }
    items = "".join(
        f"<div><dt>{escape(k)}</dt><dd>{_fmt(v)}</dd></div>" for k, v in facts.items() if v is not None
    )
    return f'<dl class="facts">{items}</dl>'


def _warmup(end) -> str | None:
    """"epochs 1–18" (summary.json's warmup_epochs: train.optim.warmup_epochs); None without one."""
    if not isinstance(end, int) or isinstance(end, bool) or end < 1:
        return None
    return "epoch 1" if end == 1 else f"epochs 1–{end}"


def _processes(dist: dict | None, threads: int | None) -> str:
    """"2 (gloo), 1 thread each" under torchrun (train/distributed.py's record); "1" for one process."""
    if not isinstance(dist, dict):
        return "1" + (f", {threads} thread{'s' if threads > 1 else ''}" if isinstance(threads, int) else "")
    nodes = dist.get("nodes")
    on = f" on {nodes} nodes" if isinstance(nodes, int) and nodes > 1 else ""
    each = f", {threads} thread{'s' if threads > 1 else ''} each" if isinstance(threads, int) else ""
    return f"{dist.get('processes')}{on} ({dist.get('backend')}){each}"


def _speed_paths(speed: dict | None) -> str | None:
    """"bf16, channels_last, compiled" (train/speed.py's options in effect), None at the defaults. Written out
    here rather than imported from train.speed, which imports torch: building a report does not."""
    if not isinstance(speed, dict):
        return None
    on = ([str(speed["precision"])] if speed.get("precision", "fp32") != "fp32" else []) + (
        ["channels_last"] if speed.get("channels_last") else []) + (["compiled"] if speed.get("compile") else [])
    return ", ".join(on) or None


def badge(verdict: str) -> str:
    cls = _VERDICT_CLASS.get(verdict, "other")
    return f'<span class="badge badge-{cls}">{escape(verdict)}</span>'


def _diagnosis(diagnosis: dict) -> str:
    verdict = str(diagnosis.get("verdict", "unknown"))
    evidence = diagnosis.get("evidence") or {}
    advice = "".join(f"<li>{escape(str(a))}</li>" for a in diagnosis.get("advice") or [])
    body = f'<p class="verdict">Verdict: {badge(verdict)}</p>'
    reasons = "".join(f"<li>{escape(str(r))}</li>" for r in diagnosis.get("reasons") or [])
    if reasons:  # the plain-English rules that fired: the "why" before the numbers
        body += f'<h3>Why</h3><ul class="advice">{reasons}</ul>'
    if evidence:
        body += f"<h3>Evidence</h3>{tables.evidence_table(evidence)}"
    if advice:
        body += f'<h3>Advice</h3><ul class="advice">{advice}</ul>'
    return f'<div class="diagnosis diagnosis-{_VERDICT_CLASS.get(verdict, "other")}">{body}</div>'


def _class_names(run: RunFiles) -> list[str]:
    names = run.summary.get("class_names")
    if not names:
        n = int(max(np.max(run.y_true, initial=0), np.max(run.y_pred, initial=0))) + 1
        names = [str(i) for i in range(n)]
    return [str(n) for n in names]


def _learning_curves(history: list[dict], metric: str, best_epoch) -> str:
    panels = []
    for name in ("loss", metric):
        series = {}
        for split, label in (("train", "train"), ("val", "validation")):
            pts = [(r.get("epoch", i + 1), r[f"{split}_{name}"]) for i, r in enumerate(history)
                   if r.get(f"{split}_{name}") is not None]
            series[label] = (tuple(p[0] for p in pts), tuple(p[1] for p in pts))
        if any(xs for xs, _ in series.values()):
            panels.append((name, series))
    if not panels:
        return '<p class="note">metrics.csv has no loss column to plot.</p>'
    vline = (best_epoch, f"best epoch ({best_epoch})") if isinstance(best_epoch, int) else None
    chart = svg.line_panels(panels, xlabel="epoch", vline=vline)
    caption = "Loss and metric per epoch, train and validation; the dashed line marks the best epoch."
    return svg_html(chart, "learning curves", caption)


def _prediction_sections(run: RunFiles) -> list[tuple[str, str, str]]:
    """Classification: confusion matrix, per-class scores, ROC (two classes), confident mistakes.
    Regression: predicted vs true."""
    if run.summary["task"] == "segmentation":
        from idealfit.report import segmentation

        return segmentation.sections(run)
    if run.summary["task"] == "translation":
        return _gan_losses(run)  # its examples are figures the task wrote (an extra section)
    if run.summary["task"] in ("reconstruction", "forecasting"):
        return []  # its examples are figures the task wrote (an extra section)
    n_test = np.asarray(run.y_true).size
    if run.summary["task"] == "regression":
        y_true, y_pred = np.asarray(run.y_true, dtype=float).ravel(), np.asarray(run.y_pred, dtype=float).ravel()
        rmse = float(np.sqrt(np.mean((y_pred - y_true) ** 2))) if n_test else float("nan")
        chart = svg.scatter_identity(y_true, y_pred, title=f"Predicted vs true (n={n_test}, RMSE {rmse:.4g})",
                                     xlabel="true", ylabel="predicted")
        caption = f"Test split ({n_test} values): points on the dashed line are predicted exactly."
        return [("predictions", "Predicted vs true", svg_html(chart, "predicted vs true", caption))]
    names = _class_names(run)
    caption = (f'<p class="note">Test split ({n_test} samples): rows are the true class, columns the '
               "prediction; the diagonal is correct.</p>")
    out = [("predictions", "Confusion matrix", tables.confusion_table(run.y_true, run.y_pred, names) + caption),
           ("per-class", "Per-class scores", tables.per_class_table(run.y_true, run.y_pred, names))]
    if run.proba is not None and len(names) == 2 and len(np.unique(run.y_true)) == 2:
        fpr, tpr, auc = roc_curve_points(run.y_true, run.proba[:, 1])
        caption = (f"ROC-AUC {auc:.3f}: the chance that a random '{names[1]}' test sample gets a higher "
                   f"'{names[1]}' probability than a random '{names[0]}' one (0.5 = guessing, 1 = perfect).")
        out.append(("roc", "ROC curve", svg_html(svg.roc_chart(fpr, tpr, auc=auc), "ROC curve", caption)))
    if (run.preprocess or {}).get("kind") == "audio":  # waveforms and spectrograms, accuracy per voice group
        from idealfit.report import audio

        out += audio.sections(run, names)
    if run.proba is not None and run.index is not None and run.run_dir is not None:
        # Imported here: it loads the dataset, which only a classification run with predictions needs.
        from idealfit.report.examples import mistakes_html

        body = mistakes_html(run.run_dir, run.y_true, run.y_pred, run.proba, run.index, names)
        out.append(("mistakes", "Most confident mistakes", body))
    return out


GAN_READING = (
    "How to read them: the two losses pull against each other, so neither falls like a supervised loss, and "
    "there is no under/overfitting U-shape to look for (the diagnosis reads the validation L1 instead). A "
    "discriminator loss near 0.69 (ln 2) with a generator loss near 0.69 is the balance a GAN aims for: the "
    "discriminator cannot tell generated pairs from real ones. A discriminator loss falling toward 0 while the "
    "generator's adversarial loss climbs means the discriminator has won and the generator learns little from "
    "it (lower the discriminator's lr, or rely more on L1: model.l1_weight). Losses that jump to large values "
    "or NaN mean the steps are too large. Judge the result by the images and by the validation L1 and "
    "sharpness ratio.")


def _gan_losses(run: RunFiles) -> list[tuple[str, str, str]]:
    """pix2pix: the discriminator's loss and the generator's adversarial and L1 parts per epoch, and how to read them."""
    hist = run.history or []
    if not any(r.get("train_d_loss") is not None for r in hist):
        return []
    def series(key: str) -> tuple[tuple, tuple]:
        pts = [(r.get("epoch", i + 1), r[key]) for i, r in enumerate(hist) if r.get(key) is not None]
        return tuple(p[0] for p in pts), tuple(p[1] for p in pts)
    panels = [("adversarial losses", {"discriminator": series("train_d_loss"), "generator (adversarial)":
                                      series("train_g_adv")}),
              ("L1", {"train": series("train_l1"), "validation": series("val_l1")})]
    chart = svg.line_panels(panels, xlabel="epoch")
    note = (run.summary.get("gan") or {}).get("note", "")
    body = svg_html(chart, "GAN losses", "Training losses per epoch: the discriminator's and the generator's "
                    "adversarial part (left), the L1 part on training and validation (right).")
    body += f'<p class="note">{escape(GAN_READING)}</p>' + (f"<p><strong>This run:</strong> {escape(note)}</p>"
                                                             if note else "")
    return [("gan-losses", "Generator and discriminator", body)]


def _extras_sections(extras: list[Extra]) -> list[tuple[str, str, str]]:
    """(id, title, html) per section, in order of first appearance."""
    groups: dict[str, list[Extra]] = {}
    for extra in extras:
        groups.setdefault(extra.section, []).append(extra)
    out = []
    for i, (title, items) in enumerate(groups.items(), start=1):
        parts = []
        for e in items:
            part = f'<div class="extra"><h3>{escape(e.caption)}</h3>'
            if e.image is not None:
                part += f"<figure>{_img(e.image, e.caption, e.mime)}</figure>"
            if e.missing is not None:
                part += f'<p class="note">Image {escape(e.missing)} is missing or not an image file.</p>'
            if e.text is not None:
                part += f"<pre>{escape(e.text)}</pre>"
            parts.append(part + "</div>")
        out.append((f"extra-{i}", title, "\n".join(parts)))
    return out


def _explain_page(run: RunFiles) -> list[tuple[str, str, str]]:
    """A link to explain.html (`idealfit explain RUN --page`) for a classifier of images or signals, or how to
    make it."""
    kind = (run.preprocess or {}).get("kind")
    if run.run_dir is None or run.summary.get("task") != "classification" or kind not in ("image", "signal"):
        return []
    if is_file(run.run_dir, "explain.html"):
        body = ('<p><a href="explain.html">explain.html</a>: this network layer by layer on test examples '
                "(or your own drawing), with the arithmetic of every feature map.</p>")
    else:
        body = (f"<p>Run <code>idealfit explain {escape(str(run.run_dir))} --page</code> to write explain.html: "
                "this network layer by layer, with the arithmetic of every feature map.</p>")
    return [("explain-page", "Inside the network", body)]


def render_report(run: RunFiles) -> str:
    """The whole report page as an HTML string (self-contained: CSS inline, figures as data URLs).

    Args:
        run: the run folder's content, from `load_run`.
    """
    s = run.summary
    results = (_facts(s, run) + _metrics_table(s) + tables.baselines_table(s, _METRIC_ORDER)
               + tables.units_note(s, run.preprocess, run.y_true, run.y_pred))
    if note := naive_on_test(s):  # reported only: the test split chose nothing, but must not be left unsaid
        results += f'<p class="note warn">{escape(note[0].upper() + note[1:])}.</p>'
    if run.y_true is not None and np.asarray(run.y_true).size:
        results += tables.interval_note(s["task"], len(run.y_true))
    if isinstance(s.get("test_copies"), dict):  # test inputs that are copies of training ones (data/overlap.py)
        results += f'<p class="note">{escape(str(s["test_copies"].get("note", "")))}.</p>'
    sections = [("results", "Results", results)]  # (id, title, body html)
    diagnosis = s.get("diagnosis") if isinstance(s.get("diagnosis"), dict) else None
    if diagnosis:
        sections.append(("diagnosis", "Diagnosis", _diagnosis(diagnosis)))
    if run.history:
        sections.append(("curves", "Learning curves",
                          _learning_curves(run.history, s.get("metric", "accuracy"), s.get("best_epoch"))))
    if run.y_true is not None and run.y_pred is not None:
        sections += _prediction_sections(run)
    columns = tables.columns_table(run.preprocess or {})
    if columns:
        sections.append(("columns", "How each column was prepared", columns))
    if run.model_text is not None:
        sections.append(("model", "Model", f"<pre>{escape(run.model_text)}</pre>"))
    if run.config_text is not None:
        sections.append(("config", "Config", f"<pre>{escape(run.config_text)}</pre>"))
    sections += _explain_page(run) + _extras_sections(run.extras)

    data, model = str(s.get("data", "?")), str(s.get("model", "?"))
    title_badge = badge(str(diagnosis.get("verdict", "unknown"))) if diagnosis else ""
    nav = "".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title, _ in sections)
    body = "\n".join(section_html(sid, title, html) for sid, title, html in sections)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>idealfit · {escape(data)} · {escape(model)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{escape(data)} <span class="sep">·</span> {escape(model)} {title_badge}</h1>
<p class="meta">idealfit run report · {escape(run.date)}</p>
<nav>{nav}</nav>
</header>
<main>
{body}
</main>
<script>{_FIGURE_CHECK}</script>
</body>
</html>
"""


def build_run_report(run_dir: str | Path) -> Path:
    """Write run_dir/report.html from the run folder's files (atomically) and return its path.

    Args:
        run_dir: the folder `idealfit train` printed; must contain summary.json.
    """
    run_dir = Path(run_dir)
    page = render_report(load_run(run_dir))
    return atomic_write(run_file(run_dir, "report.html"), page.encode("utf-8"))
