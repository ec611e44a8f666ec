"""Pruning inside training: an epoch-end callback that reports the monitored metric to an Optuna trial.

Optuna is imported by the caller (`idealfit tune`), never here: the callback only calls the trial's
`report` and `should_prune`, so any object with those two methods works (the tests use a stub).
"""

from __future__ import annotations

import math

from idealfit.errors import UserError
from idealfit.train.callbacks import Callback, FitState


class OptunaPruning(Callback):
    """Report the monitored validation metric to an Optuna trial after every epoch; stop training when the
    pruner says so. Training then ends as after early stopping (best weights kept, every file written), and
    summary.json records `"pruned": {"epoch": N}`.

    Args:
        trial: an `optuna.trial.Trial`.
        monitor: the history column to report, e.g. "val_loss" (the run's train.monitor).
        judge_after: epochs reported but never judged; the learning-rate warm-up's (`state.warmup_epochs`:
            cosine's, onecycle's ramp) are never judged either: pruning starts after both.
    """

    def __init__(self, trial, *, monitor: str, judge_after: int = 0):
        self.trial, self.monitor, self.judge_after = trial, monitor, judge_after
        self.pruned_at: int | None = None

    def on_fit_start(self, state: FitState) -> None:
        self.pruned_at = None

    def on_epoch_end(self, state: FitState) -> None:
        row = state.history[-1]
        if self.monitor not in row:
            raise UserError(f"train.monitor '{self.monitor}' is not logged; logged columns: {', '.join(row)}")
        value = row[self.monitor]
        if value is None or not math.isfinite(value):
            return
        self.trial.report(float(value), state.epoch)
        if state.epoch > max(self.judge_after, state.warmup_epochs) and self.trial.should_prune():
            self.pruned_at = state.epoch
            state.stop = True
            state.summary_extra["pruned"] = {"epoch": state.epoch, "value": float(value)}
