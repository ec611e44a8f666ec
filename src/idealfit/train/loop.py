"""The training loop: plain PyTorch that fits on one screen, and knows no task.

The step (train/step.py) does the work on a batch, the task (tasks/) turns summed per-batch
statistics into metrics once per epoch, and everything optional (early stopping, checkpoints)
hangs off `Callback` hooks.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from idealfit.tasks.base import Task
from idealfit.train.callbacks import Callback, FitState
from idealfit.train.meter import Meter
from idealfit.train.step import evaluate


def fit(state: FitState, train_batches, val_batches, *, task: Task, targets: dict | None = None,
        callbacks: Sequence[Callback] = (), progress: bool = True) -> FitState:
    """Train `state.step` from epoch `state.epoch + 1` to `state.epochs`; one history row per epoch.

    Args:
        train_batches / val_batches: iterables of (x, y) on the model's device (val may be None).
        task: turns each epoch's summed statistics into its metrics (train_* and val_* columns).
        targets: the task's fitted target state (`Task.fit_targets`), for metrics in the data's units.
    """
    step = state.step
    bar = _ProgressBar(state, len(train_batches), task, targets) if progress and watched() else None
    for cb in callbacks:
        cb.on_fit_start(state)
    try:
        with step.runtime.interrupts() as poll:  # torchrun: Ctrl-C acts between steps (train/runtime.py)
            while state.epoch < state.epochs and not state.stop:
                _epoch(state, train_batches, val_batches, task=task, targets=targets, callbacks=callbacks, bar=bar,
                       poll=poll)
            poll()
    except KeyboardInterrupt:  # keep what was learned: best weights restored, outputs written by the caller
        if step.runtime.world_size > 1:
            # torchrun: the other processes wait in this step's collective and cannot know; this process leaves,
            # which closes its connections, so theirs fail at once (not after IDEALFIT_DIST_TIMEOUT) (session.py)
            raise
        state.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    for cb in callbacks:
        cb.on_fit_end(state)
    return state


def _epoch(state: FitState, train_batches, val_batches, *, task: Task, targets, callbacks, bar, poll) -> None:
    """One epoch: train on every batch, one history row, the epoch-end hooks."""
    step, t0 = state.step, time.perf_counter()
    meter = Meter(step.runtime.all_reduce_sum)
    step.model.train()
    for batch in train_batches:
        meter.add(step.train(batch))
        poll()
        if bar is not None:
            bar.step(meter)
    state.epoch += 1
    row = {"epoch": state.epoch, **step.lrs(), **epoch_values(task, meter.sums(), "train", targets)}
    if val_batches is not None:
        row.update(epoch_values(task, evaluate(step, val_batches).sums(), "val", targets))
    row["seconds"] = time.perf_counter() - t0
    state.history.append(row)
    if bar is not None:
        bar.epoch_done(row)
    for cb in callbacks:
        cb.on_epoch_end(state)


def epoch_values(task: Task, sums: dict[str, float], split: str, targets: dict | None) -> dict[str, float]:
    """The history columns of one split: `<split>_loss`, `<split>_<metric>` per epoch metric, and the
    penalty (training only)."""
    if not sums:
        return {}
    values = task.finish(sums, targets)
    row = {f"{split}_{k}": values[k] for k in ("loss", *task.epoch_metrics, *task.epoch_extras) if k in values}
    if "penalty" in sums:
        row["penalty"] = sums["penalty"] / sums["n"]
    return row


def watched() -> bool:
    """A live bar only where someone watches it: a terminal, or a Jupyter kernel (tqdm.auto draws a widget
    there, though stderr is no TTY). Piped into a log, a bar is hundreds of \r-separated frames."""
    if getattr(sys.stderr, "isatty", lambda: False)():
        return True
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


class _ProgressBar:
    """A tqdm bar over all steps, with the live loss and metric refreshed a few times a second.

    Reading the running sums costs a device sync, so it happens only when tqdm redraws.
    """

    def __init__(self, state: FitState, steps: int, task: Task, targets: dict | None):
        from tqdm.auto import tqdm

        remaining = (state.epochs - state.epoch) * steps
        self.bar = tqdm(total=remaining, file=sys.stderr, unit="step", dynamic_ncols=True, leave=False,
                        mininterval=0.25, desc=f"epoch {state.epoch + 1}/{state.epochs}")
        self.state, self.task, self.targets, self.last = state, task, targets, 0.0
        self.val = ""

    def _short(self, values: dict[str, float], prefix: str) -> str:
        m = self.task.metric
        name = "acc" if m == "accuracy" else m
        return f"loss {values[f'{prefix}loss']:.4f} {name} {values[f'{prefix}{m}']:.3f}"

    def step(self, meter: Meter) -> None:
        self.bar.update()
        now = time.monotonic()
        if now - self.last >= 0.25:
            self.last = now
            live = self._short(epoch_values(self.task, meter.sums(), "train", self.targets), "train_")
            self.bar.set_postfix_str(live + self.val, refresh=False)

    def epoch_done(self, row: dict[str, float]) -> None:
        if "val_loss" in row:
            self.val = " | val " + self._short(row, "val_")
        self.bar.set_description(f"epoch {min(self.state.epoch + 1, self.state.epochs)}/{self.state.epochs}",
                                 refresh=False)

    def close(self) -> None:
        self.bar.close()
