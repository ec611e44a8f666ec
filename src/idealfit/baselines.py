"""scikit-learn baselines beside every run: is the network worth it?

Fitted on the run's own training split and its own preprocessing output (`Prepared.x`), scored on
every split with the run's metrics (accuracy; rmse, mae, r2 in the data's units):

    majority / mean   the training split's most frequent class / mean target (every kind of data)
    linear            LogisticRegression (C = 1) / RidgeCV (alpha from 1e-3..1e3 by leave-one-out)
    boosting          HistGradientBoostingClassifier / Regressor with scikit-learn's defaults
    naive_bayes       text: multinomial naive Bayes on character 1-3-gram counts of the text alone (instead of
                      linear and boosting, which text beside table columns gets too, on those columns alone)

`linear` and `boosting` run on tables (and on the table columns beside a text); images, signals and audio held in
memory get a `linear` of their own (`idealfit.baselines_arrays`: logistic / ridge regression on at most 50 principal
components, fitted on at most 2,000 training samples). Above MAX_ROWS training rows they fit on a random
subsample of MAX_ROWS rows, and say so in their entry's "note". Other tasks write their own baselines
(`Task.baselines`: segmentation's per-pixel model, reconstruction's identity and PCA, translation's mean
image); `NAMES` says which of each task's entries the diagnosis weighs the network against.

Shape of the result (stored as summary["baselines"]):
    {"majority" | "mean": {"train": {metric: v}, "val": {...}, "test": {...}, "seconds": s},
     "linear": {...same...}, "boosting": {...same...}}       # an entry may also carry "note": str

Example:
    >>> b = fit_baselines(prep, seed=0)                      # doctest: +SKIP
    >>> b["boosting"]["val"]["accuracy"]                     # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from idealfit.baselines_arrays import ARRAY_KINDS
from idealfit.tasks import is_score

SPLITS = ("train", "val", "test")
MAX_ROWS = 200_000  # linear and boosting fit on a subsample above this many training rows
UNDERFIT_BASELINE_GAP = 0.02  # diagnosis: train accuracy over 2 points below the better baseline's = underfitting
UNDERFIT_BASELINE_RATIO = 1.10  # diagnosis: train rmse/mae over 1.1x the better baseline's = underfitting


@dataclass(frozen=True)
class Rival:
    """A baseline the diagnosis weighs the network against, and how it names it."""

    words: str  # how the diagnosis names it: "a linear model"
    fitted: bool  # a model fitted on the data; else a constant or the input itself (no learning at all)
    reference: bool = False  # strong enough to replace the fixed underfitting thresholds (tuned models, PCA)


# Per task, the entries of summary["baselines"] that are models to beat, in order of preference on a tie.
# Entries not listed are not rivals: a table's majority class / mean (the floor, shown beside the run) and
# translation's "real" (the real targets scored by an FCN: an upper bound, not a baseline).
TABLE_RIVALS = {"linear": Rival("a linear model", fitted=True, reference=True),
                "boosting": Rival("gradient boosting", fitted=True, reference=True)}
NAMES: dict[str, dict[str, Rival]] = {
    # text runs have naive_bayes (and majority) instead of linear and boosting; each run has one or the other
    "classification": {**TABLE_RIVALS, "naive_bayes": Rival("a character 1-3-gram naive Bayes", fitted=True,
                                                            reference=True)},
    "regression": TABLE_RIVALS,
    "segmentation": {"per_pixel": Rival("a per-pixel logistic regression on colour", fitted=True),
                     "majority": Rival("the majority class at every pixel", fitted=False)},
    # PCA with the code's size is the best linear autoencoder: a reference. The identity is the corrupted
    # input itself (a denoising run's noisy input); without corruption it is the clean target (error 0),
    # a copy and no rival: an autoencoder's point is then its bottleneck.
    "reconstruction": {"pca": Rival("PCA with as many components as the code", fitted=True,
                                    reference=True),
                       "identity": Rival("the corrupted input returned unchanged", fitted=False),
                       "mean": Rival("the training split's mean (the same output for every input)", fitted=False)},
    "translation": {"mean": Rival("the training split's mean target image", fitted=False)},
    "forecasting": {"ar": Rival("a linear autoregressive model (least squares on the training windows)", fitted=True,
                          reference=True),
                    "seasonal_naive": Rival("the seasonal naive forecast (the value one season before)", fitted=False),
                    "naive": Rival("the naive forecast (the last value)", fitted=False)},
}


# Per task, the constant baseline (no learning at all) that the network must beat on validation: a network no
# better than it has learned nothing, so the diagnosis never calls that run a good fit (`constant_does_as_well`).
# Forecasting has its own rule (the naive forecasts: idealfit.diagnose_forecast); reconstruction's identity is the
# input itself, not a constant: its constant is the mean target (about 1 in its standardized units).
CONSTANTS: dict[str, tuple[str, str]] = {
    "classification": ("majority", "the majority class (the training split's most frequent class, always)"),
    "regression": ("mean", "the training mean (the same value for every row)"),
    "segmentation": ("majority", NAMES["segmentation"]["majority"].words),
    "translation": ("mean", NAMES["translation"]["mean"].words),
    "reconstruction": ("mean", NAMES["reconstruction"]["mean"].words),
}


def _scores(task: str, y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The run's metrics for predicted classes (classification) or values in the data's units."""
    if task == "classification":
        return {"accuracy": float((pred == y_true).mean())}
    err = pred.astype(np.float64) - y_true.astype(np.float64)
    ss_tot = float(((y_true - y_true.mean()) ** 2).sum()) or 1e-12
    return {"rmse": math.sqrt(float((err ** 2).mean())), "mae": float(np.abs(err).mean()),
            "r2": 1.0 - float((err ** 2).sum()) / ss_tot}


def linear_model(task: str) -> Any:
    """The unfitted `linear` baseline of a task (also what `model.wide_init=linear` starts a network at)."""
    from sklearn.linear_model import LogisticRegression, RidgeCV

    if task == "classification":
        return LogisticRegression(C=1.0, max_iter=2000)
    return RidgeCV(alphas=np.logspace(-3, 3, 13))


def _models(task: str, seed: int) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    boosting = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    return {"linear": linear_model(task), "boosting": boosting(random_state=seed)}


def fit_baselines(prep, *, seed: int = 0, max_rows: int = MAX_ROWS, threads: int | None = None) -> dict[str, dict[str, Any]]:
    """The baselines of one prepared run (see the module doc for the shape).

    Args:
        prep: `idealfit.data.prepare.Prepared`: x and y per split, y standardized for regression.
        seed: seeds the subsample and boosting's own randomness (default 0).
        max_rows: linear and boosting fit on at most this many training rows (default MAX_ROWS).
        threads: CPU threads for scikit-learn (default None: torch's, the count the run chose). Boosting's
            OpenMP threads spin-wait: on a busy 2-core machine all cores made wine's fit 12 s instead of 0.25 s.
    """
    import torch
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads or torch.get_num_threads()):
        return _fit_all(prep, seed=seed, max_rows=max_rows)


def _fit_all(prep, *, seed: int, max_rows: int) -> dict[str, dict[str, Any]]:
    task = prep.dataset.task
    tgt = prep.state.get("target")
    # regression targets are standardized for training: back to the data's units for the metrics
    y = {s: (prep.y[s] * tgt["std"] + tgt["mean"]) if tgt else prep.y[s] for s in SPLITS}
    out: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    if task == "classification":
        const = np.bincount(y["train"]).argmax()
        name = "majority"
    else:
        const, name = float(y["train"].mean()), "mean"
    out[name] = {s: _scores(task, y[s], np.full(len(y[s]), const)) for s in SPLITS}
    out[name]["seconds"] = round(time.perf_counter() - t0, 3)
    x, note = prep.x, None
    if prep.dataset.kind == "text" and task == "classification":
        out["naive_bayes"] = naive_bayes(prep, y)
        features = int((prep.state.get("norm") or {}).get("table_features", 0))
        if not features:
            return out
        # text beside table columns (data/text_table.py): linear and boosting on the table features alone, naive
        # Bayes on the text alone; the network is the one that sees both
        x, note = {s: x[s][:, :features] for s in SPLITS}, "on the table columns only (not the text)"
    elif any(len(x[s]) != len(y[s]) for s in SPLITS):
        return out  # image folders streamed from disk: only the trivial baseline is cheap
    elif prep.dataset.kind in ARRAY_KINDS:  # images, signals, audio: a linear model on principal components
        from idealfit.baselines_arrays import array_linear

        entry = array_linear(task, x, y, seed=seed, scores=_scores)
        return {**out, "linear": entry} if entry else out
    elif prep.dataset.kind != "table":
        return out
    xt, yt = x["train"], y["train"]
    if len(xt) > max_rows:
        pick = np.sort(np.random.default_rng(seed).choice(len(xt), size=max_rows, replace=False))
        xt, yt = xt[pick], yt[pick]
        note = "; ".join(filter(None, [note, f"fitted on a random {max_rows:,} of the {len(x['train']):,} training rows"]))
    if task == "classification" and len(np.unique(yt)) < 2:
        return out  # a subsample with one class: nothing to fit
    for key, model in _models(task, seed).items():
        t0 = time.perf_counter()
        model.fit(xt.astype(np.float64), yt)
        out[key] = {s: _scores(task, y[s], model.predict(x[s].astype(np.float64))) for s in SPLITS}
        out[key]["seconds"] = round(time.perf_counter() - t0, 3)
        if note:
            out[key]["note"] = note
    return out


def naive_bayes(prep, y: dict[str, np.ndarray]) -> dict[str, Any]:
    """Text: multinomial naive Bayes on counts of character 1-3-grams (inside word boundaries, lowercased), fitted
    on the raw texts of the training split."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    from idealfit.data.text import as_texts, text_cells

    t0 = time.perf_counter()
    texts = {s: as_texts(text_cells(prep.dataset.x[prep.indices[s]])) for s in SPLITS}
    model = make_pipeline(CountVectorizer(analyzer="char_wb", ngram_range=(1, 3), lowercase=True), MultinomialNB())
    model.fit(texts["train"], y["train"])
    entry: dict[str, Any] = {s: _scores("classification", y[s], model.predict(texts[s])) for s in SPLITS}
    entry["seconds"] = round(time.perf_counter() - t0, 3)
    return entry


def rivals(task: str | None) -> dict[str, Rival]:
    """The baselines `task` weighs its network against (NAMES); None: a table task's (linear, boosting)."""
    return NAMES.get(task, TABLE_RIVALS) if task is not None else TABLE_RIVALS


def best_baseline(baselines: dict[str, dict[str, Any]] | None, metric: str, *, higher_better: bool,
                  task: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """(name, entry) of the task's rival (see NAMES) that scores best on validation, or None.

    Args:
        task: the run's task (default None: the table rivals linear and boosting). Entries without a finite
            validation `metric` are skipped (translation's "real" has none), and so is a constant with an error
            of exactly 0: a copy of the targets (a reconstruction's identity when nothing corrupts the input).
    """
    found = []
    for key, rival in rivals(task).items():  # in order of preference: max keeps the first of equals
        entry = (baselines or {}).get(key)
        val = entry.get("val", {}).get(metric) if isinstance(entry, dict) else None
        if isinstance(val, bool) or not isinstance(val, numbers.Real) or not math.isfinite(val):
            continue
        if not rival.fitted and not higher_better and val == 0:
            continue
        found.append((key, entry))
    if not found:
        return None
    sign = 1 if higher_better else -1
    return max(found, key=lambda kv: sign * kv[1]["val"][metric])


def _words(task: str | None, key: str) -> str:
    return rivals(task)[key].words


def is_reference(task: str | None, key: str | None) -> bool:
    """Whether baseline `key` replaces the fixed underfitting thresholds (a tuned model, PCA) or adds to them."""
    rival = rivals(task).get(key) if key else None
    return rival is not None and rival.reference


# --- the diagnosis's rules that read the baselines (idealfit.diagnose applies them) ---------------------


def baseline_underfit(ev: dict, task: str, metric: str) -> list[str]:
    """Rule 2b with baselines: clearly worse than the better baseline on training data, and no better on validation."""
    net, base = ev["final_train_metric"], ev["baseline_train_metric"]
    net_val, base_val = ev["final_val_metric"], ev["baseline_val_metric"]
    if net is None or base is None:
        return []
    name = _words(task, ev["baseline"])
    if is_score(metric):  # a gap in points for scores (accuracy), a ratio for errors
        if base - net > UNDERFIT_BASELINE_GAP and (net_val is None or net_val <= base_val):
            return [f"the model reaches {net:.3f} {metric} on its own training data, {base - net:.3f} below "
                    f"{name} ({base:.3f})"]
    elif net > UNDERFIT_BASELINE_RATIO * base and (net_val is None or net_val >= base_val):
        return [f"the model's training {metric} {net:.4g} is {net / base:.2f}x that of {name} ({base:.4g}; "
                f"more than {UNDERFIT_BASELINE_RATIO}x)"]
    return []


def beats(score: float, other: float, higher_better: bool) -> bool:
    """Whether `score` is strictly better than `other` (a tie is no win)."""
    return score > other if higher_better else score < other


RIVAL_TIE = 0.02  # a rival within 2 points (scores) or 2% (errors) of the network on validation does as well


def tie_limit(ev: dict, higher_better: bool) -> float:
    """How far a rival may be ahead on validation and still only "do as well": RIVAL_TIE, and for scores on a small
    validation split at least two of its samples (the same tolerance as the overfitting rule's gap: on 27 rows one
    row is 0.037, noise)."""
    n = ev.get("val_samples")
    return max(RIVAL_TIE, 2 / n) if higher_better and n else RIVAL_TIE


def rival_ahead(ev: dict, higher_better: bool) -> float:
    """How far the rival is ahead of the network on validation: points for scores, relative for errors."""
    net, base = ev["final_val_metric"], ev["baseline_val_metric"]
    return base - net if higher_better else (net / base - 1 if base > 0 else 0.0)


def baseline_does_as_well(ev: dict, metric: str, higher_better: bool, *, task: str | None = None) -> str | None:
    """The reason when the better baseline scores at least as well as the network on validation: "does better" only
    when it is ahead by more than `tie_limit`, else the network "does no better" than it."""
    net, base = ev.get("final_val_metric"), ev.get("baseline_val_metric")
    if net is None or base is None or beats(net, base, higher_better):
        return None
    fmt = "{:.3f}" if higher_better else "{:.4g}"
    scores = f"val {metric} {fmt.format(base)} vs the network's {fmt.format(net)}"
    name = _words(task, ev["baseline"])
    if rival_ahead(ev, higher_better) > tie_limit(ev, higher_better):
        return f"{name} does better than the network ({scores}): the network falls short of it here"
    rows = ev.get("val_samples")
    diff = round(abs(base - net) * rows) if higher_better and rows and base != net else 0
    noise = f", {diff} of {rows} validation samples apart" if diff else ""
    return f"the network does no better than {name} ({scores}{noise}): it adds nothing here"


def constant_does_as_well(ev: dict, baselines: dict[str, dict[str, Any]] | None, metric: str, higher_better: bool, *,
                          task: str) -> tuple[str, str, float] | None:
    """(reason, advice, the constant's validation `metric`) when the network's validation `metric` is no better than the task's constant baseline's
    (CONSTANTS; a tie counts, as in `baseline_does_as_well`), else None. Validation only: the verdict reads nothing
    else."""
    key, words = CONSTANTS.get(task, (None, ""))
    entry = (baselines or {}).get(key) if key else None
    base = entry.get("val", {}).get(metric) if isinstance(entry, dict) else None
    net = ev.get("final_val_metric")
    if net is None or isinstance(base, bool) or not isinstance(base, numbers.Real) or not math.isfinite(base):
        return None
    if beats(net, base, higher_better):
        return None
    if base == (1.0 if higher_better else 0.0):
        return None  # a perfect constant (validation holds one class, or a constant target): nothing to beat
    fmt = "{:.3f}" if higher_better else "{:.4g}"
    reason = (f"the network does no better than {words} on validation (val {metric} {fmt.format(base)} vs "
              f"{fmt.format(net)}): it has learned nothing beyond a constant")
    advice = (f"The network does no better than {words}, which involves no learning at all: try the steps below, "
              "and check that the targets belong to their inputs (a target that is noise, or rows shuffled apart "
              "from their labels, leaves nothing to learn).")
    return reason, advice, float(base)


def baseline_advice(ev: dict, c: dict[str, Any] | None, *, task: str | None = None, gan: bool = False,
                    verdict: str = "good fit", higher_better: bool = True) -> str:
    """The advice that goes with `baseline_does_as_well`: a tie with a fitted model favours the simpler model;
    a loss asks for more; against a constant (or the input itself) the network has learned nothing useful yet.
    `gan`: a GAN run, which `idealfit lr-find` cannot sweep (it has two optimizers). `verdict`: the diagnosis's,
    which "a better chance" follows (`idealfit.diagnose_advice.better_chance`): an overfitting network is not told
    to train longer or widen, and the advice that follows it names each step. A rival within `tie_limit` is as good
    (and simpler), so it is preferred."""
    from idealfit.diagnose_advice import better_chance

    name, rival = _words(task, ev["baseline"]), rivals(task)[ev["baseline"]]
    chance = better_chance(verdict, ev, c, task=task, gan=gan)
    if not rival.fitted:
        return f"The network does no better than {name}, which involves no learning at all: {chance}."
    if ev.get("final_val_metric") is not None and rival_ahead(ev, higher_better) <= tie_limit(ev, higher_better):
        return (f"Prefer {name} here: it is as good and simpler (its numbers are in summary.json's baselines); "
                "keep the network only if you need it.")
    return (f"Use {name} for this data (its numbers are in summary.json's baselines), or give the network a "
            f"better chance: {chance}.")


def format_baselines(baselines: dict[str, dict[str, Any]], metric: str, *, pct: bool | None = None) -> str:
    """One line for the terminal: each baseline's validation and test `metric` (a percentage if `pct`;
    default: for accuracy)."""
    pct = metric == "accuracy" if pct is None else pct
    fmt = (lambda v: f"{100 * v:.2f}%") if pct else (lambda v: f"{v:.4g}")
    parts = [f"{k} val {fmt(v['val'][metric])} test {fmt(v['test'][metric])}" for k, v in baselines.items()
             if metric in v.get("test", {})]  # not an upper bound scored otherwise (translation's "real")
    return f"{'baselines':>10}: " + "; ".join(parts)
