"""The numbers the diagnosis reads from a run's per-epoch history (diagnose.py's rules judge them).

`evidence(history, metric, higher_better)` turns the rows a training run records (`epoch, train_loss, val_loss,
train_<metric>, val_<metric>`) into one dict: epochs, final and best losses, how much training loss fell (overall and
per epoch over the last STILL_FALLING_WINDOW epochs), the best validation epoch and how far validation rose since,
and the train-validation gap in the metric. `check_history` refuses a history, task or metric the rules cannot read.
"""

from __future__ import annotations

import difflib
import math
import numbers
from typing import Any

from idealfit.errors import UserError
from idealfit.tasks import TASKS

STILL_FALLING_WINDOW = 3  # epochs looked back on to judge whether training was still improving

# task -> metric -> higher is better
# Each task's metrics and whether higher is better: read from the task registry (the one direction table).
# R² is neither a bounded score nor an error, so it is not diagnosed.
METRICS = {name: {m: info.higher_is_better for m, info in t.metrics.items() if info.bounded or not info.higher_is_better}
           for name, t in TASKS.items()}


def _num(row: dict, key: str) -> float | None:
    """The row's value for `key` as a float, or None when absent/None (NaN is kept: it means diverged)."""
    v = row.get(key)
    if v is None:
        return None
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        raise UserError(f"diagnose: {key} must be a number, got {v!r} in epoch {row.get('epoch', '?')}")
    return float(v)


def _series(history: list[dict], key: str, *, required: bool = False) -> list[tuple[Any, float]]:
    """(epoch, value) pairs for the rows that have `key` (epochs default to 1, 2, ... by position)."""
    out = []
    for i, row in enumerate(history):
        v = _num(row, key)
        if v is None and required:
            raise UserError(f"diagnose: row {i} of the history has no {key!r}; every epoch needs one")
        if v is not None:
            out.append((row.get("epoch", i + 1), v))
    return out


def check_history(history: Any, task: Any, metric: Any) -> bool:
    """Validate the arguments; return whether the metric is higher-is-better."""
    if not isinstance(history, (list, tuple)) or not history or not all(isinstance(r, dict) for r in history):
        raise UserError(
            "diagnose: history must be a non-empty list of per-epoch dicts (train for an epoch first)"
        )
    if task not in METRICS:
        raise UserError(f"diagnose: unknown task {task!r}; valid: {', '.join(METRICS)}")
    if metric not in METRICS[task]:
        close = difflib.get_close_matches(str(metric), list(METRICS[task]), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(
            f"diagnose: unknown {task} metric {metric!r}{hint}; valid: {', '.join(METRICS[task])}"
        )
    return METRICS[task][metric]


def evidence(history: list[dict], metric: str, higher_better: bool,
              final: dict[str, dict] | None = None, kept_epoch: int | None = None) -> dict[str, Any]:
    """The numbers every rule reads (None where the history cannot provide one)."""
    train = _series(history, "train_loss", required=True)
    val = _series(history, "val_loss")
    tm, vm = _series(history, f"train_{metric}"), _series(history, f"val_{metric}")
    if final and metric in final.get("train", {}):
        # The epoch rows' train metric is a running mean with dropout and augmentation on; the kept
        # weights' metric in eval mode is what the user gets, so the final-metric rules read that.
        tm = tm[:-1] + [(len(history), final["train"][metric])]
        if vm and metric in final.get("val", {}):
            vm = vm[:-1] + [(len(history), final["val"][metric])]
    tl = [v for _, v in train]
    ev: dict[str, Any] = {
        "epochs": len(history),
        "has_validation": bool(val),
        "final_train_loss": tl[-1],
        "best_train_loss": min((v for v in tl if math.isfinite(v)), default=math.nan),
        "train_loss_drop": 1.0 - tl[-1] / tl[0] if len(tl) > 1 and tl[0] > 0 else None,
        "recent_train_drop": None,
        "final_train_metric": tm[-1][1] if tm else None,
        "final_val_metric": vm[-1][1] if vm else None,
        "final_metrics_from": "kept weights, eval mode" if final else "last epoch's running mean",
    }
    w = STILL_FALLING_WINDOW
    if len(tl) > w and tl[-1 - w] > 0:
        ev["recent_train_drop"] = (1.0 - tl[-1] / tl[-1 - w]) / w  # mean relative drop per epoch
    if higher_better and tm and not all(0.0 <= v <= 1.0 for _, v in tm + vm):
        raise UserError(f"diagnose: {metric} must be a fraction in [0, 1], not a percentage")
    if val:
        _add_val_evidence(ev, train, val)
        if kept_epoch is not None and kept_epoch in dict(val) and kept_epoch < val[-1][0]:
            _judge_at_kept_epoch(ev, dict(val)[kept_epoch], kept_epoch)
    if tm and vm:
        ev["metric_gap"] = (tm[-1][1] - vm[-1][1]) if higher_better else (vm[-1][1] - tm[-1][1])
        if not higher_better:  # an error ratio only exists for error metrics (rmse, mae): no empty row for accuracy
            ev["metric_ratio"] = vm[-1][1] / tm[-1][1] if tm[-1][1] > 0 else math.inf
    return ev


def _add_val_evidence(ev: dict, train: list, val: list) -> None:
    """Best validation epoch, how far validation loss rose since, and what training loss did meanwhile."""
    vl = [v for _, v in val]
    i_best = min(range(len(vl)), key=vl.__getitem__)
    best_epoch = val[i_best][0]
    train_at = dict(train)
    best = vl[i_best]
    w = min(STILL_FALLING_WINDOW, len(vl) - 1)
    ev.update(
        final_val_loss=vl[-1],
        best_val_loss=best,
        best_val_epoch=best_epoch,
        val_loss_rise=vl[-1] - best,
        val_loss_rise_rel=(vl[-1] - best) / best if best > 0 else (math.inf if vl[-1] > best else 0.0),
        loss_gap=vl[-1] - ev["final_train_loss"],
        train_loss_change_since_best_val=(
            ev["final_train_loss"] - train_at[best_epoch] if best_epoch in train_at else None
        ),
        # a run shorter than the window (3 epochs) looks back over what it has: 2 epochs are a trend too
        val_still_improving=w > 0 and vl[-1] < vl[-1 - w],
        recent_val_drop=(1.0 - vl[-1] / vl[-1 - w]) / w if w > 0 and vl[-1 - w] > 0 else None,
    )


def _judge_at_kept_epoch(ev: dict, val_at_kept: float, kept_epoch: int) -> None:
    """Early stopping kept an earlier epoch's weights: the validation rise after it was discarded.

    The rise stays in the evidence (`val_loss_rise_discarded`), but the U-shape rule then reads the
    rise at the kept epoch, and "still improving" no longer applies: training went on and did not help.
    """
    best = ev["best_val_loss"]
    ev["kept_epoch"] = kept_epoch
    ev["val_loss_rise_discarded"] = ev["val_loss_rise_rel"]
    ev["val_loss_rise"] = val_at_kept - best
    ev["val_loss_rise_rel"] = (val_at_kept - best) / best if best > 0 else 0.0
    ev["val_still_improving"] = False
    ev["recent_val_drop"] = None


def best_epoch_words(s: dict) -> str:
    """The summary's best epoch (the kept weights'), with why it is not the diagnosis's "epoch of lowest validation
    loss" when they differ: an epoch in the learning-rate warm-up is never kept by early stopping (its loss is
    measured while the lr still climbs), so "best epoch 2" beside "best_val_epoch 1" read as a contradiction."""
    best, ev = s.get("best_epoch"), ((s.get("diagnosis") or {}).get("evidence") or {})
    low, warm = ev.get("best_val_epoch"), s.get("warmup_epochs") or 0
    if not isinstance(low, int) or not isinstance(best, int) or low == best:
        return f"{best}"
    if low <= warm:
        return (f"{best} (validation loss was lowest at epoch {low}, in the learning-rate warm-up, which early "
                "stopping does not judge)")
    return f"{best} (the kept weights; validation loss was lowest at epoch {low})"

