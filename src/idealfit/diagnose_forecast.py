"""Forecasting rules beside the curves' verdict: forecasts far worse than "tomorrow as today", and a trend
beyond the training range.

A network whose validation error is several times the naive baseline's has not merely underfitted: on a
trending series (macrodata's realgdp: the test part lies above every training value) a network that reads
levels cannot reach values it never saw, and training longer does not fix that. The linear AR path follows the
trend (the mlp, cnn and rnn start at the AR fit on series: config.SERIES_FAMILY_DEFAULTS). Seen with the GRU
alone on realgdp: test MAE 2316 against the naive baseline's 86, "underfitting, train longer" before this rule.

With the AR path a trending series still costs: on realgdp every validation quarter lies above the training
part, the default mlp's validation error jumps from epoch to epoch (seed 1: 68, 47, 45, 63, 50 ... 137), and
early stopping keeps a lucky low that ends 19-25% above AR on the test quarters (1.225x AR over seeds 0-9).
Forecasting the changes (data.difference=true, models/difference.py) keeps the inputs in the training range:
1.016x AR over the same seeds, its curve smooth. When most of the validation part lies outside the training
range and the network reads levels, the diagnosis names that remedy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAR_WORSE = 2.0  # validation error at least this many times the naive baseline's
BEYOND = 0.5  # a trend: at least this share of the validation part's target values outside the training range
DIFFERENCE_ADVICE = ("Forecast the changes instead of the levels: data.difference=true (the network reads the window's "
                     "differences, which stay in the range it trained on, and adds its forecast change to the last "
                     "value seen).")


def series_context(cfg, ds) -> dict[str, Any]:
    """Forecasting runs: whether the network has the linear AR path (`wide`) and reads differences
    (`difference`), its `horizon` and `window`, and `val_beyond_train`, the share of the validation part's target values outside the
    training part's range (a trend). {} for other runs."""
    info = ds.meta.get("series") if ds.kind == "series" else None
    if not info or "train_end" not in info:
        return {}
    target = ds.values[:, 0]
    train, val = target[: info["train_end"]], target[info["train_end"] : info["val_end"]]
    beyond = float(np.mean((val > train.max()) | (val < train.min()))) if len(val) else 0.0
    return {"wide": bool(cfg.model.wide), "difference": bool(cfg.data.difference), "val_beyond_train": beyond,
            "horizon": int(info["horizon"]), "window": int(info["window"])}


def far_worse_than_naive(ev: dict[str, Any], baselines: dict[str, dict] | None, metric: str,
                         context: dict[str, Any] | None) -> tuple[str, str] | None:
    """(reason, advice) when the network's validation `metric` is FAR_WORSE times the naive baseline's or
    more, else None."""
    naive = ((baselines or {}).get("naive") or {}).get("val", {}).get(metric)
    net = ev.get("final_val_metric")
    if naive is None or net is None or naive <= 0 or net < FAR_WORSE * naive:
        return None
    family = (context or {}).get("model")
    reason = (f"validation {metric} {net:.4g} is {net / naive:.1f}x the naive baseline's ({naive:.4g}, the last value "
              "seen): the forecasts drift away from the series' recent level, as on a trending series whose later "
              "values lie outside the training range, which training longer does not fix")
    if (context or {}).get("wide", family in ("mlp", "cnn")):
        advice = DIFFERENCE_ADVICE
    else:
        advice = (f"Use the linear AR path{f' (this {family} has none)' if family else ''}, which follows a trend: "
                  "model.wide=true and model.wide_init=linear (the mlp's, cnn's and rnn's series defaults); or "
                  "forecast the changes instead of the levels (data.difference=true).")
    return reason, advice


def trend_beyond_training(context: dict[str, Any] | None) -> tuple[str, str] | None:
    """(reason, advice) when most of the validation part lies outside the training range (a trend) and the
    network reads levels (data.difference off), else None."""
    ctx = context or {}
    share = ctx.get("val_beyond_train", 0.0)
    if ctx.get("difference") or share < BEYOND:
        return None
    reason = (f"{share:.0%} of the validation part's values lie outside the training range (the series trends): "
              "the network reads levels it never saw there, its validation error jumps from epoch to epoch, and "
              "the epoch early stopping keeps need not do as well on the later test steps")
    return reason, DIFFERENCE_ADVICE


# The forecasts that involve no learning. A network that does not beat them on validation has learned nothing
# usable, whatever its curves look like: the verdict is then never "good fit". Seen on macrodata's tbilrate
# (quarterly, default mlp): val MAE 0.320 against the last value's 0.306, test 0.355 against 0.343.
NAIVE_WORDS = {"naive": 'the naive forecast (the last value seen: "tomorrow as today")',
               "seasonal_naive": "the seasonal naive forecast (the value one season before)"}


def _best_naive(baselines: dict[str, dict] | None, metric: str, split: str) -> tuple[str, float] | None:
    """(name, value) of the naive baseline with the lowest `metric` on `split`, or None."""
    found = []
    for key in NAIVE_WORDS:
        value = ((baselines or {}).get(key) or {}).get(split, {}).get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
            found.append((key, float(value)))
    return min(found, key=lambda kv: kv[1]) if found else None


def naive_remedies(context: dict[str, Any] | None) -> str:
    """What to try when the network does not beat the last value, naming only what the run can still change."""
    ctx = context or {}
    tries = [] if ctx.get("difference") else [
        "forecasting the changes (data.difference=true: a network that forecasts no change then gives the last "
        "value, and learns only what improves on it)"]
    if (ctx.get("horizon") or 1) > 1:
        tries.append(f"a shorter horizon (data.horizon, now {ctx['horizon']})")
    window = f", now {ctx['window']}" if ctx.get("window") else ""
    tries.append(f"more history: a longer window (data.window{window}) or a longer series")
    return ("Until the network beats the last value, forecast with the last value (its numbers are in "
            "summary.json's baselines). To give the network a chance, try " + "; ".join(tries) + ". A series "
            "that moves like a random walk (interest rates, prices) may hold nothing more to learn.")


def no_better_than_naive(ev: dict[str, Any], baselines: dict[str, dict] | None, metric: str,
                         context: dict[str, Any] | None) -> tuple[str, str] | None:
    """(reason, advice) when the network's validation `metric` is no lower than the best naive baseline's (the
    last value, or the value one season before), else None. Validation only: the verdict may use nothing else."""
    net, best = ev.get("final_val_metric"), _best_naive(baselines, metric, "val")
    if net is None or best is None or net < best[1]:
        return None
    reason = (f"the network does not beat {NAIVE_WORDS[best[0]]} on validation ({metric} {net:.4g} vs "
              f"{best[1]:.4g}): it has learned nothing that copying {'the last value' if best[0] == 'naive' else 'last season'} "
              "does not already give")
    return reason, naive_remedies(context)


def naive_on_test(summary: dict[str, Any]) -> str | None:
    """A forecasting run's test result beside the naive baselines', when the network does not beat them there.

    Reported only (the test split chooses nothing): a verdict reached on validation may not hold on the later
    test steps, and the summary and report must not leave the reader believing it does."""
    metric = summary.get("metric")
    net = ((summary.get("metrics") or {}).get("test") or {}).get(metric)
    best = _best_naive(summary.get("baselines"), metric, "test") if summary.get("task") == "forecasting" else None
    if net is None or best is None or net < best[1]:
        return None
    val_net = ((summary.get("metrics") or {}).get("val") or {}).get(metric)
    val_best = _best_naive(summary.get("baselines"), metric, "val")
    beat_on_val = val_net is not None and val_best is not None and val_net < val_best[1]
    return (f"on the test steps the network does not beat {NAIVE_WORDS[best[0]]}: test {metric} {net:.4g} vs "
            f"{best[1]:.4g}" + (" (it did on validation, which the verdict reads: the later steps differ)"
                                if beat_on_val else ""))
