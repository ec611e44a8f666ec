"""The deck's experiments, one call each: every regularization remedy side by side, and the capacity trade-off.

`regularization_study` trains one over-parameterized model on a small training subset with no remedy (it
overfits), then with each of the deck's remedies alone and with all of them together; `capacity_study`
trains models of growing size and plots training and validation error against the parameter count
(underfit / ideal / overfit). Each writes a study folder: one run folder per variant and seed,
`study.json`, figure PNGs and a self-contained `report.html` (drawn by `idealfit.study_report`).

Measured: `python benchmarks/study_regularization.py` (the defaults: digits, 10% of the training split =
126 images, the pooling-free CNN below, 100 epochs, batch 32, Adam 3e-3 with cosine schedule), 1 seed, on
the 2-core CPU machine of our CI (torch 2.13, shared with other jobs, load ~1), wall time per run with its
report; whole study 48 s (3 seeds: 124 s):

    variant         train %  val %  test %  gap %  sparsity %  verdict      epochs  seconds
    baseline          100.0   93.0    90.0   10.0         3.3  overfitting     100      8.5
    early_stopping    100.0   92.6    90.4    9.6         3.3  overfitting      47      3.4
    l1                100.0   92.2    90.0   10.0        98.4  overfitting     100      6.6
    augmentation      100.0   94.4    95.2    4.8         2.8  overfitting     100      6.6
    dropout           100.0   93.0    91.5    8.5         2.9  overfitting     100      6.2
    batchnorm         100.0   93.7    92.2    7.8         3.5  overfitting     100      6.4
    all               100.0   95.9    96.7    3.3        46.6  overfitting     100      8.5

All remedies together close 67% of the baseline's train − test gap (3 seeds: 65%, test 89.9 ± 2.0% ->
96.2 ± 0.6%). Augmentation does most; L1 leaves accuracy alone but zeroes 98% of the weights (the deck's
"sparser weights"); early stopping keeps the best-validation-loss epoch, which here is not better on test.
The verdict is `idealfit.diagnose` on each run's whole curves: even `all` reads as overfitting, as its
validation loss rose 12% (0.098 -> 0.110) over the last 17 epochs while the training loss still fell.
The capacity study with its defaults (25% of the training split, 60 epochs, 1 seed): validation error
75.9% ([2]), 32.2% ([4]), 7.0% ([8]), 7.0% ([32]), 4.8% ([128], best), 5.2% ([512, 512]); training error
reaches 0 from [32] on. 17 s in all.

Example:
    >>> res = regularization_study(seeds=(0, 1, 2))   # doctest: +SKIP
    >>> print(res.table())                            # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from idealfit.diagnose import OVERFIT_ACCURACY_GAP, OVERFIT_ERROR_RATIO, OVERFIT_VAL_RISE
from idealfit.errors import UserError
from idealfit.study_report import (
    SPLITS,
    StudyResult,
    capacity_figure,
    overlaid_curves,
    train_test_bars,
    write_study_report,
)
from idealfit.tasks import is_score

# --- the regularization study's defaults (tuned so that the baseline clearly overfits on digits) -----------
# The over-parameterized model, per kind of data. Images and signals: a CNN without pooling, so 8·8·32
# features feed a 256-wide dense layer (~530k weights for ~125 digits); tables: a wide two-layer MLP.
REG_MODELS = {
    "image": {"model.name": "cnn", "model.widths": [16, 32], "model.pool": "none", "model.hidden": [256]},
    "signal": {"model.name": "cnn", "model.widths": [16, 32], "model.pool": "none", "model.hidden": [256]},
    "table": {"model.name": "mlp", "model.hidden": [512, 512]},
    "series": {"model.name": "mlp", "model.hidden": [512, 512]},  # forecasting: dense on the window
}
REG_EPOCHS = 100
REG_BATCH = 32
# "no remedy": every switch the study turns on is off here (config defaults have batch norm and early stopping on)
NO_REMEDY = {"model.dropout": 0.0, "model.batchnorm": False, "train.early_stopping": False, "train.l1": 0.0,
             "train.l2": 0.0, "data.augment": []}
REMEDIES: dict[str, tuple[str, dict[str, Any]]] = {  # name -> (what it does, config keys it sets)
    "early_stopping": ("keep the best validation-loss epoch; stop after 20 epochs without improvement",
                       {"train.early_stopping": True, "train.patience": 20}),
    "l1": ("L1 penalty λ/2·Σ|W| with λ = 1e-3", {"train.l1": 1e-3}),
    "augmentation": ("random crop (1 px), contrast and tint on every training batch",
                     {"data.augment": [{"name": "crop", "padding": 1}, "contrast", "tint"]}),
    "dropout": ("dropout p = 0.5 before every dense layer", {"model.dropout": 0.5}),
    "batchnorm": ("batch normalization after every conv and hidden layer", {"model.batchnorm": True}),
}
NEEDS_IMAGES = ("augmentation",)

# --- the capacity study's defaults ------------------------------------------------------------------------
CAPACITY_SIZES: tuple[tuple[int, ...], ...] = ((2,), (4,), (8,), (32,), (128,), (512, 512))
CAPACITY_EPOCHS = 60
CAPACITY_SUBSET = 0.25  # a small training set, so that the largest models have room to overfit


# --- shared machinery -------------------------------------------------------------------------------------


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """{"mean", "std"} of per-seed values; std is the sample std (ddof=1), 0.0 for a single seed."""
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return {"mean": float(arr.mean()), "std": std}


def _study_dir(out: str | Path | None, kind: str) -> Path:
    if out is not None:
        out = Path(out)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UserError(f"{out} already holds files; choose another --out for the study")
        return out
    from idealfit.train.rundir import claim_new_dir, stamped_name

    return claim_new_dir(stamped_name("study", kind))  # runs/<timestamp>-study-<kind>, created


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)):
        raise UserError(f"seeds is a list of seeds, e.g. seeds=range({seeds}) for {seeds} runs per variant")
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise UserError(f"seeds must be one or more whole numbers >= 0, e.g. (0, 1, 2); got {seeds}")
    return [int(s) for s in seeds]


def _dataset_kind(data: str, set: dict[str, Any] | None = None) -> tuple[str, bool]:
    """(kind, whether augmentation applies); fails early, before any folder is written, on a bad name.

    `set` holds the study's config keys: a CSV's data.target (and data.columns, data.encoding...) apply here too.
    """
    from idealfit.config import resolve
    from idealfit.data.prepare import load_dataset

    data_keys = {k: v for k, v in (set or {}).items() if k.startswith("data.")}
    ds = load_dataset(resolve(overrides={**data_keys, "data.name": data}).data)
    in_range = ds.paths is not None or (len(ds.x) > 0 and ds.x.min() >= 0 and ds.x.max() <= 1)
    return ds.kind, ds.kind == "image" and in_range  # augmentations need pixels in [0, 1]


def _one_run(name: str, overrides: dict[str, Any], *, data: str, seed: int, out: Path) -> tuple[dict, list]:
    """Train one variant with one seed; (per-seed record, history)."""
    from idealfit.api import train

    t0 = time.perf_counter()
    # a study never resumes one variant: skip the per-epoch checkpoint writes (about 20% of a run's time)
    run = train(data=str(data), seed=seed, out=out, set={"train.checkpoint_every": 0, **overrides},
                verbose=False, progress=False)
    seconds = time.perf_counter() - t0
    s, metric = run.summary, run.summary["metric"]
    m = {split: s["metrics"][split][metric] for split in SPLITS}
    gap = m["train"] - m["test"] if is_score(metric) else m["test"] - m["train"]
    # what an overfitting verdict rests on (VERDICT_NOTE): the validation loss's rise, and validation against training
    ev = s["diagnosis"]["evidence"]
    rise, vs = ev.get("val_loss_rise_rel"), ev.get("metric_gap") if is_score(metric) else ev.get("metric_ratio")
    rec = {"seed": seed, **{f"{k}_{metric}": v for k, v in m.items()}, "gap": gap, "verdict": s["diagnosis"]["verdict"],
           "val_loss_rise": None if rise is None else 100 * rise,
           "val_vs_train": None if vs is None else 100 * vs if is_score(metric) else vs,
           "epochs": s["epochs_run"], "best_epoch": s["best_epoch"], "seconds": round(seconds, 2),
           "params": s["params"], "sparsity": s.get("sparsity"), "run_dir": out.name}
    return rec, run.history


def _aggregate(name: str, description: str, overrides: dict, records: list[dict], metric: str) -> dict:
    row: dict[str, Any] = {"variant": name, "description": description, "settings": overrides}
    for key in [f"{s}_{metric}" for s in SPLITS] + ["gap", "val_loss_rise", "val_vs_train", "sparsity", "epochs",
                                                    "seconds"]:
        if all(r.get(key) is not None for r in records):
            row[key] = mean_std([r[key] for r in records])
    row["verdict"] = Counter(r["verdict"] for r in records).most_common(1)[0][0]
    row["params"] = records[0]["params"]
    row["per_seed"] = records
    return row


@contextlib.contextmanager
def _one_thread():
    """Train on one intra-op thread, then restore the setting.

    The study models are tiny (minibatches of 32 digits), and torch's threads wait on each other whenever
    another process holds a core. On our 2-core machine, one baseline run (30 epochs): 2.2 s on 1 thread vs
    3.7 s on 2 with one core busy; a training step 4 ms vs 63 ms under a load of ~3.6 (our test suite
    running beside it); idle, 2 threads are ~13% faster (100 epochs: 5.7 s vs 6.5 s). Results are identical.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run_all(variants: list[tuple[str, str, dict]], *, data: str, seeds: list[int], study_dir: Path,
             progress: Callable[[str], Any] | None) -> tuple[list[dict], dict[str, list], str]:
    """Every variant with every seed; (rows, histories by variant, metric)."""
    say = progress or (lambda *_: None)
    rows, histories, metric = [], {}, "accuracy"
    total, k = len(variants) * len(seeds), 0
    for name, description, overrides in variants:
        records, histories[name] = [], []
        for seed in seeds:
            k += 1
            try:
                with _one_thread():
                    rec, hist = _one_run(name, overrides, data=data, seed=seed, out=study_dir / f"{name}-seed{seed}")
            except UserError:  # e.g. a subset too small to stratify: leave no empty study folder behind
                if not any(study_dir.iterdir()):
                    study_dir.rmdir()
                raise
            metric = next(key for key in rec if key.startswith("test_")).removeprefix("test_")
            records.append(rec)
            histories[name].append(hist)
            say(f"[{k}/{total}] {name:<15} seed {seed}: train {_fmt(rec[f'train_{metric}'], metric)}  "
                f"test {_fmt(rec[f'test_{metric}'], metric)}  {rec['verdict']:<12} {rec['seconds']:.1f} s")
        rows.append(_aggregate(name, description, overrides, records, metric))
    return rows, histories, metric


def _start(variants: list[tuple[str, str, dict]], *, data: str, seeds: Sequence[int], out, kind: str):
    """Check every variant's config (all user errors before any work), then create the study folder."""
    from idealfit.config import resolve

    seeds = _check_seeds(seeds)
    for _, _, overrides in variants:
        resolve(overrides={"data.name": data, **overrides})
    study_dir = _study_dir(out, kind)
    study_dir.mkdir(parents=True, exist_ok=True)
    return seeds, study_dir


def _fmt(v: float, metric: str) -> str:
    return f"{100 * v:.1f}%" if is_score(metric) else f"{v:.4g}"


def _write_json(study_dir: Path, payload: dict) -> None:
    from idealfit.run_files import atomic_write

    atomic_write(study_dir / "study.json", (json.dumps(payload, indent=2) + "\n").encode("utf-8"))


# --- the regularization study -------------------------------------------------------------------------------


def regularization_variants(*, kind: str = "image", augment: bool = True, subset: float = 0.1,
                            epochs: int = REG_EPOCHS, set: dict[str, Any] | None = None) -> list[tuple[str, str, dict]]:
    """(name, description, config overrides) of the baseline, each remedy alone, and all together.

    Args:
        kind: the dataset's kind ("image", "signal", "table"): picks the model.
        augment: include the augmentation remedy (default True; only images with pixels in [0, 1] take it).
        subset: `data.train_subset` (a share <= 1 or a count > 1 of the training split). Default 0.1.
        epochs: epochs of every variant (early stopping may end sooner). Default REG_EPOCHS.
        set: config keys for every variant (default None); a remedy's own keys still win in its variant.
    """
    base = {**REG_MODELS[kind], **NO_REMEDY, "data.train_subset": subset, "train.epochs": epochs,
            "train.batch_size": REG_BATCH, **(set or {})}
    names = [n for n in REMEDIES if (augment and kind == "image") or n not in NEEDS_IMAGES]
    variants = [("baseline", "no remedy: the over-parameterized model alone", dict(base))]
    variants += [(n, REMEDIES[n][0], {**base, **REMEDIES[n][1]}) for n in names]
    combined = {k: v for n in names for k, v in REMEDIES[n][1].items()}
    variants.append(("all", "every remedy above together", {**base, **combined}))
    return variants


def regularization_study(*, data: str | Path = "digits", subset: float = 0.1, seeds: Sequence[int] = (0,),
                         epochs: int = REG_EPOCHS, set: dict[str, Any] | None = None,
                         out: str | Path | None = None,
                         progress: Callable[[str], Any] | None = print) -> StudyResult:
    """The same over-parameterized model with no remedy, each of the deck's remedies alone, and all together.

    Args:
        data: embedded dataset or path (default "digits"); augmentation is skipped for data other than
            images with pixels in [0, 1].
        subset: share (<= 1) or count (> 1) of the training split to train on, stratified (default 0.1).
        seeds: one run per seed per variant (default (0,)); each seed also draws its own split and subset.
        epochs: epochs per variant (default REG_EPOCHS).
        set: config keys for every variant, e.g. {"model.pool": "max"} for larger images (default None).
        out: study folder (default runs/<timestamp>-study-regularization).
        progress: called with one line per finished run (default print; None = silent).
    """
    from idealfit.train.distributed import ONLY_TRAIN, refuse_under_torchrun

    refuse_under_torchrun("study regularization", ONLY_TRAIN)
    data = str(data)
    kind, augment = _dataset_kind(data, set)
    variants = regularization_variants(kind=kind, augment=augment, subset=subset, epochs=epochs, set=set)
    seeds, study_dir = _start(variants, data=data, seeds=seeds, out=out, kind="regularization")
    rows, histories, metric = _run_all(variants, data=data, seeds=seeds, study_dir=study_dir, progress=progress)
    result = StudyResult("regularization", rows, study_dir, metric=metric)
    closed = gap_closed(rows)
    skipped = [n for n in REMEDIES if n not in {r["variant"] for r in rows}]
    _write_json(study_dir, {"study": "regularization", "data": data, "metric": metric, "seeds": seeds,
                            "subset": subset, "epochs": epochs, "gap_closed": closed, "skipped": skipped,
                            "rows": rows})
    from idealfit.report.figures import save_png

    curves, bars = overlaid_curves(histories, metric=metric), train_test_bars(rows, metric=metric)
    result.figures = [save_png(curves, study_dir / "curves.png"), save_png(bars, study_dir / "gap.png")]
    lead = (f"Baseline gap ({gap_words(metric)}) {closed['baseline_gap']:.3f}; all remedies together: "
            f"{closed['all_gap']:.3f}: {100 * closed['share']:.0f}% of the gap closed; {describe_test_change(closed, metric)}. "
            f"{VERDICT_NOTE}")
    result.report = write_study_report(result, title=f"Regularization study · {data}", lead=lead, figures=[
        ("Validation curves", curves, "Validation loss and metric per epoch of every variant (mean over seeds)."),
        ("Train vs test", bars, "Train and test metric per variant (mean ± std over seeds): the gap is overfitting."),
    ])
    return result


# the verdict column is each run's diagnosis of its own curves, not the test gap: a learner comparing the two
# columns needs to know why a smaller gap can still read "overfitting"
VERDICT_NOTE = ("The verdict is each run's diagnosis of its own curves and validation split, not the test gap: "
                f"overfitting when validation loss rose more than {100 * OVERFIT_VAL_RISE:.0f}% above its best while "
                "training loss fell (val loss rise, at the kept weights), or validation is far worse than training "
                f"(train−val above {100 * OVERFIT_ACCURACY_GAP:.0f} points for scores, val/train above "
                f"{OVERFIT_ERROR_RATIO}x for errors).")


def gap_words(metric: str) -> str:
    """Which way the gap is taken: train − test for scores (accuracy), test − train for errors (rmse): positive
    means worse on test either way."""
    return "train − test" if is_score(metric) else "test − train"


def gap_closed(rows: list[dict]) -> dict[str, float]:
    """How much of the baseline's gap (`gap_words`) the combined remedy closes, the test metric before and after, and
    the gain (positive = better: a lower rmse is a gain)."""
    by = {r["variant"]: r for r in rows}
    base, comb = by["baseline"], by["all"]
    test = next(k for k in base if k.startswith("test_"))
    b, a = base["gap"]["mean"], comb["gap"]["mean"]
    sign = 1.0 if is_score(test.removeprefix("test_")) else -1.0  # a lower rmse is a gain
    return {"baseline_gap": b, "all_gap": a, "share": (b - a) / b if b > 0 else 0.0,
            "baseline_test": base[test]["mean"], "all_test": comb[test]["mean"],
            "test_gain": sign * (comb[test]["mean"] - base[test]["mean"])}


def describe_test_change(closed: dict[str, float], metric: str) -> str:
    """"test rmse 71.45 -> 62.48 (better by 8.969)": the values themselves, so a lower-is-better metric's sign
    cannot be misread."""
    word = "better" if closed["test_gain"] > 0 else "worse" if closed["test_gain"] < 0 else "unchanged"
    by = f" by {abs(closed['test_gain']):.4g}" if closed["test_gain"] else ""
    return f"test {metric} {closed['baseline_test']:.4g} -> {closed['all_test']:.4g} ({word}{by})"


# --- the capacity study ----------------------------------------------------------------------------------------


def capacity_study(*, data: str | Path = "digits", sizes: Sequence[Sequence[int]] = CAPACITY_SIZES,
                   seeds: Sequence[int] = (0,), epochs: int = CAPACITY_EPOCHS, subset: float | None = CAPACITY_SUBSET,
                   set: dict[str, Any] | None = None, out: str | Path | None = None,
                   progress: Callable[[str], Any] | None = print) -> StudyResult:
    """MLPs of growing width/depth, no regularization: training and validation error against parameter count.

    Args:
        data: embedded dataset or path (default "digits").
        sizes: hidden-layer widths of each model, smallest first (default [2], [4], [8], [32], [128], [512, 512]).
        seeds: one run per seed per size (default (0,)).
        epochs: epochs per model (default CAPACITY_EPOCHS); early stopping is off.
        subset: `data.train_subset` (default CAPACITY_SUBSET; None = the whole training split).
        set: config keys for every model (default None); `model.hidden` comes from `sizes`.
        out: study folder (default runs/<timestamp>-study-capacity).
        progress: called with one line per finished run (default print; None = silent).
    """
    from idealfit.train.distributed import ONLY_TRAIN, refuse_under_torchrun

    refuse_under_torchrun("study capacity", ONLY_TRAIN)
    data = str(data)
    if not sizes or any(not list(s) for s in sizes):
        raise UserError("sizes must be one or more lists of hidden widths, e.g. [[8], [32], [128, 128]]")
    _dataset_kind(data, set)
    base = {**NO_REMEDY, "model.name": "mlp", "train.epochs": epochs, "data.train_subset": subset,
            "train.batch_size": REG_BATCH, **(set or {})}
    variants = [("mlp-" + "x".join(map(str, s)), f"MLP with hidden widths {list(s)}",
                 {**base, "model.hidden": [int(w) for w in s]}) for s in sizes]
    seeds, study_dir = _start(variants, data=data, seeds=seeds, out=out, kind="capacity")
    rows, _, metric = _run_all(variants, data=data, seeds=seeds, study_dir=study_dir, progress=progress)
    for row in rows:  # error = 1 − accuracy, or the RMSE itself
        for split in SPLITS:
            row[f"{split}_error"] = mean_std([_error(r[f"{split}_{metric}"], metric) for r in row["per_seed"]])
    best = min(rows, key=lambda r: r["val_error"]["mean"])["variant"]
    result = StudyResult("capacity", rows, study_dir, metric=metric, best=best)
    _write_json(study_dir, {"study": "capacity", "data": data, "metric": metric, "seeds": seeds,
                            "subset": subset, "epochs": epochs, "best": best, "rows": rows})
    from idealfit.report.figures import save_png

    fig = capacity_figure(rows, best=best, metric=metric)
    result.figures = [save_png(fig, study_dir / "capacity.png")]
    lead = f"Lowest validation error: {best}. Smaller models underfit; larger ones fit their training data ever closer."
    result.report = write_study_report(result, title=f"Capacity study · {data}", lead=lead, figures=[
        ("Error against capacity", fig, "Training and validation error (mean ± std over seeds) against the "
         "parameter count; the star marks the lowest validation error.")])
    return result


def _error(value: float, metric: str) -> float:
    return 1.0 - value if is_score(metric) else value
