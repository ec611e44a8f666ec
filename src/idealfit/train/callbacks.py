"""Callbacks: the loop's only extension point, with a small fixed set of named hooks.

A callback subclasses `Callback` and overrides some of `HOOKS`; a method named like a hook but
misspelled (`on_epoch_ends`) raises at construction instead of silently never running.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from idealfit.errors import UserError
from idealfit.tasks import TASKS, Task

HOOKS = ("on_fit_start", "on_epoch_end", "on_fit_end")


@dataclass
class FitState:
    """What the loop shares with its callbacks; each callback touches only what it owns."""

    step: Any  # a training step (train.step.SupervisedStep): the model, its optimizers and schedulers
    epochs: int
    epoch: int = 0  # last completed epoch, 1-based; 0 before the first
    history: list[dict[str, float]] = field(default_factory=list)
    stop: bool = False  # set by a callback to end training after this epoch
    stopped_early: bool = False
    interrupted: bool = False  # Ctrl-C: the loop ends cleanly, best weights restored, outputs written
    restart_epoch: int = 0  # the epoch after which the schedule's current cycle began (a finished run extended)
    # the last epoch of the learning-rate warm-up (cosine's, onecycle's ramp; train.optim.warmup_epochs), 0 for
    # none: early stopping and tune's pruner judge no epoch up to it, where the metric measures the warm-up
    warmup_epochs: int = 0
    summary_extra: dict[str, Any] = field(default_factory=dict)  # facts a callback adds to summary.json (e.g. "pruned")

    @property
    def model(self) -> torch.nn.Module:
        """The raw model (never a DDP or compiled wrapper): what callbacks copy and restore."""
        return self.step.model


class Callback:
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        unknown = [n for n in vars(cls) if n.startswith("on_") and n not in HOOKS]
        if unknown:
            raise TypeError(f"{cls.__name__}.{unknown[0]} is not a callback hook; hooks are {', '.join(HOOKS)}")

    def on_fit_start(self, state: FitState) -> None: ...

    def on_epoch_end(self, state: FitState) -> None: ...

    def on_fit_end(self, state: FitState) -> None: ...


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs; restore the best weights.

    The best weights come back at the end *whatever* ended training: patience, the last epoch or Ctrl-C.
    Epochs of the learning-rate warm-up (up to `state.warmup_epochs`) are not judged: they neither count
    towards patience nor become the best (as Keras' `start_from_epoch`). One-cycle's 18-epoch ramp of a
    60-epoch run otherwise ended it at epoch 9 and kept epoch 1's weights, a 3.4x worse model. A run
    that ends inside the warm-up keeps its last weights (or `start_from`'s, which are no warm-up epoch's).

    Args:
        monitor: a history column, e.g. "val_loss" (lower is better) or "val_accuracy" (higher is better).
        task: the run's task, which says which columns it logs and which way each is better.
        patience: epochs without improvement before stopping (None = never stop, only restore the best).
        min_delta: smallest change that counts as an improvement.

    Example:
        >>> es = EarlyStopping(monitor="val_loss", patience=5)
    """

    def __init__(self, *, monitor: str = "val_loss", patience: int | None = 8, min_delta: float = 0.0,
                 task: Task | str = "classification"):
        task = TASKS[task] if isinstance(task, str) else task
        if monitor not in task.monitors():
            raise UserError(f"train.monitor '{monitor}' is not logged by a {task.name} run; use one of "
                            f"{', '.join(task.monitors())}")
        info = task.check_metric(monitor)
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.higher = info.higher_is_better
        self._start: tuple[float, dict[str, torch.Tensor]] | None = None  # start_from's (score, weights)
        self.reset()

    def reset(self) -> None:
        self.best = -math.inf if self.higher else math.inf
        self.best_epoch = 0
        self.wait = 0
        self.best_weights: dict[str, torch.Tensor] | None = None

    def start_from(self, value: float, model: torch.nn.Module) -> None:
        """Make the untrained weights (scored `value` on `monitor`) epoch 0's candidate of a fresh fit, so
        that they stay when no epoch beats them (e.g. a forecaster started at the AR fit)."""
        self._start = (value, copy.deepcopy(model.state_dict()))

    def on_fit_start(self, state: FitState) -> None:
        if state.epoch == 0:  # a fresh fit; a resumed one keeps the state loaded from the checkpoint
            self.reset()
            if self._start is not None and math.isfinite(self._start[0]):
                self.best, self.best_weights = self._start

    def improved(self, value: float) -> bool:
        return value > self.best + self.min_delta if self.higher else value < self.best - self.min_delta

    def on_epoch_end(self, state: FitState) -> None:
        row = state.history[-1]
        if self.monitor not in row:
            raise UserError(f"train.monitor '{self.monitor}' is not logged; logged columns: {', '.join(row)}")
        if state.epoch <= state.warmup_epochs:
            return
        value = row[self.monitor]
        if value is not None and math.isfinite(value) and self.improved(value):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            self.best_weights = copy.deepcopy(state.model.state_dict())
            return
        self.wait += 1
        if self.patience is not None and self.wait >= self.patience:
            state.stop = state.stopped_early = True

    def on_fit_end(self, state: FitState) -> None:
        if self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "best_weights": self.best_weights}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.wait, self.best_weights = d["best"], d["best_epoch"], d["wait"], d["best_weights"]


def warmup_note(state: FitState, *, schedule: str) -> str | None:
    """The line saying which epochs early stopping judges, when the warm-up still ahead is longer than one
    epoch (cosine's default single epoch goes unsaid; summary.json records it either way)."""
    end = state.warmup_epochs
    if end - state.epoch <= 1:
        return None
    ramp = "the one-cycle schedule's ramp" if schedule == "onecycle" else f"the {schedule} schedule's warm-up"
    return (f"early stopping judges epochs {end + 1}-{state.epochs} only: the learning rate rises until epoch {end} "
            f"({ramp}), where the validation score measures the warm-up, not the model")


class NonFiniteGuard(Callback):
    """Stop at the first epoch whose loss is NaN, infinite or exploded (above EXPLODED), and keep the
    last good weights. Also, after Ctrl-C mid-epoch, keep the weights of the last completed epoch
    (not a half-trained one that no metrics row describes) when early stopping has none to restore.

    Without it a diverged run trained on for `patience` more NaN epochs and could keep NaN weights.
    With early stopping on, its best epoch (always a finite one) is what stays; without it (or while it
    has none yet: the learning-rate warm-up's epochs are not its candidates), this callback keeps a copy
    of the weights after every finite epoch (one state_dict, as early stopping keeps on each
    improvement) and restores the last one. Put it after `early` and before
    the checkpointer, so the checkpoint of the diverged epoch is already marked stopped.

    Args:
        early: the run's EarlyStopping, or None.
    """

    COLUMNS = ("train_loss", "val_loss", "penalty", "train_d_loss", "train_g_adv")  # the last two: a GAN's
    # Our losses are cross-entropy and MSE on standardized targets: a few units at the start. Far above
    # this the steps have blown up even while the numbers are still finite (lr 1e9 gives ~3e18).
    EXPLODED = 1e6

    def __init__(self, *, early: EarlyStopping | None):
        self.early = early
        self.diverged: dict[str, Any] | None = None  # {"epoch", "column", "value", "kept_epoch"}

    def on_fit_start(self, state: FitState) -> None:
        self.diverged = None
        self.kept_epoch = state.epoch
        self.weights = _copy_weights(state.model)

    def on_epoch_end(self, state: FitState) -> None:
        row = state.history[-1]
        bad = [c for c in self.COLUMNS if row.get(c) is not None
               and (not math.isfinite(row[c]) or (c != "penalty" and row[c] > self.EXPLODED))]
        if bad:
            value = row[bad[0]]
            shown = str(value) if not math.isfinite(value) else f"{value:.3g} (exploded)"
            self.diverged = {"epoch": state.epoch, "column": bad[0], "value": shown}
            state.stop = True
        elif self.early is None or self.early.best_weights is None:
            self.weights, self.kept_epoch = _copy_weights(state.model), state.epoch

    def on_fit_end(self, state: FitState) -> None:
        restored_by_early = self.early is not None and self.early.best_weights is not None
        if self.diverged is None:
            if state.interrupted and not restored_by_early and self.kept_epoch == state.epoch:
                state.model.load_state_dict(self.weights)  # undo the half epoch Ctrl-C cut short
            return
        if restored_by_early:
            self.kept_epoch = self.early.best_epoch
        else:
            state.model.load_state_dict(self.weights)
        self.diverged["kept_epoch"] = self.kept_epoch


def _copy_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def divergence_message(diverged: dict[str, Any], *, lr: float) -> str:
    """One plain sentence about a diverged run, e.g. "the training loss became nan at epoch 4; ..."."""
    what = {"train_loss": "training loss", "val_loss": "validation loss", "penalty": "penalty",
            "train_d_loss": "discriminator's loss", "train_g_adv": "generator's adversarial loss"}[diverged["column"]]
    kept = diverged["kept_epoch"]
    keep = f"the weights of epoch {kept} are kept" if kept else "the initial weights are kept"
    return (f"the {what} became {diverged['value']} at epoch {diverged['epoch']} and training stopped; {keep}. "
            f"The steps were too large: try a lower train.lr (now {lr:g}), train.clip_grad=1, or batch normalization")
