"""The training loop: plain PyTorch that fits on one screen.

Everything optional (early stopping, checkpoints, reports) hangs off `Callback` hooks; penalties
(L1/L2) and augmentation are plain callables applied in exactly one place each.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

import torch

from idealfit.train.callbacks import Callback, FitState
from idealfit.train.metrics import METRIC, compute_metrics, loss_fn, predict_batches


def fit(state: FitState, train_batches, val_batches, *, task: str, callbacks: Sequence[Callback] = (),
        penalty: Callable[[torch.nn.Module], torch.Tensor] | None = None,
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
        clip_grad: float | None = None, y_std: float = 1.0, progress: bool = True) -> FitState:
    """Train `state.model` from epoch `state.epoch + 1` to `state.epochs`; one history row per epoch.

    Args:
        train_batches / val_batches: iterables of (x, y) on the model's device (val may be None).
        task: "classification" (cross-entropy, accuracy) or "regression" (MSE, RMSE in data units via `y_std`).
        penalty: extra loss term on the model (e.g. L1 = λ/2·Σ|W|), logged beside the data loss.
        augment: applied to each training batch's inputs only.
        clip_grad: max gradient norm, None = off.
    """
    model, opt, sched = state.model, state.optimizer, state.scheduler
    criterion, metric = loss_fn(task), METRIC[task]
    steps = len(train_batches)
    bar = _ProgressBar(state, steps) if progress else None
    for cb in callbacks:
        cb.on_fit_start(state)
    try:
        while state.epoch < state.epochs and not state.stop:
            t0 = time.perf_counter()
            model.train()
            # Per-batch values stay tensors in lists (no sync, almost no ops); they are reduced once per epoch.
            losses, hits, pens, sizes = [], [], [], []
            for xb, yb in train_batches:
                out, loss, pen = train_step(model, opt, xb, yb, criterion=criterion, penalty=penalty,
                                            augment=augment, clip_grad=clip_grad)
                sched.step()
                losses.append(loss.detach())
                sizes.append(len(yb))
                if task == "classification":
                    hits.append((out.argmax(1) == yb).sum())
                if pen is not None:
                    pens.append(pen.detach())
                if bar is not None:
                    bar.step(losses, hits, sizes)
            state.epoch += 1
            row = _epoch_row(state, losses, hits, pens, sizes, metric=metric, y_std=y_std)
            if val_batches is not None:
                val = compute_metrics(*predict_batches(model, val_batches), task=task, y_std=y_std)
                row.update({"val_loss": val["loss"], f"val_{metric}": val[metric]})
            row["seconds"] = time.perf_counter() - t0
            state.history.append(row)
            if bar is not None:
                bar.epoch_done(row, metric)
            for cb in callbacks:
                cb.on_epoch_end(state)
    except KeyboardInterrupt:  # keep what was learned: best weights restored, outputs written by the caller
        state.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    for cb in callbacks:
        cb.on_fit_end(state)
    return state


def train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor, *,
               criterion: Callable, penalty: Callable | None = None, augment: Callable | None = None,
               clip_grad: float | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One optimizer step on one batch: augment, forward, loss (+ penalty), backward, clip, step.

    Returns (outputs, data loss, penalty or None); the caller steps the schedule.
    """
    if augment is not None:
        xb = augment(xb)
    out = model(xb)
    loss = criterion(out, yb)
    pen = penalty(model) if penalty is not None else None
    opt.zero_grad(set_to_none=True)
    (loss if pen is None else loss + pen).backward()
    if clip_grad is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    opt.step()
    return out, loss, pen


def _epoch_means(losses: list, hits: list, sizes: list) -> tuple[float, float | None]:
    """Sample-weighted mean loss and accuracy (None without hits) of the batches so far."""
    w = torch.tensor(sizes, dtype=torch.float32, device=losses[0].device)
    loss = float((torch.stack(losses) * w).sum() / w.sum())
    acc = float(torch.stack(hits).sum() / w.sum()) if hits else None
    return loss, acc


def _epoch_row(state: FitState, losses: list, hits: list, pens: list, sizes: list, *, metric: str,
               y_std: float) -> dict[str, float]:
    loss, acc = _epoch_means(losses, hits, sizes)
    # regression: RMSE = sqrt(mean MSE) in the data's units (targets are standardized for training)
    m = acc if acc is not None else (loss ** 0.5) * y_std
    row = {"epoch": state.epoch, "lr": state.optimizer.param_groups[0]["lr"], "train_loss": loss,
           f"train_{metric}": m}
    if pens:
        w = torch.tensor(sizes, dtype=torch.float32, device=pens[0].device)
        row["penalty"] = float((torch.stack(pens) * w).sum() / w.sum())
    return row


class _ProgressBar:
    """A tqdm bar over all steps, with the live loss and metric refreshed a few times a second.

    Reading the running sums costs a device sync, so it happens only when tqdm redraws.
    """

    def __init__(self, state: FitState, steps: int):
        from tqdm.auto import tqdm

        remaining = (state.epochs - state.epoch) * steps
        self.bar = tqdm(total=remaining, file=sys.stderr, unit="step", dynamic_ncols=True, leave=False,
                        mininterval=0.25, desc=f"epoch {state.epoch + 1}/{state.epochs}")
        self.state, self.last = state, 0.0
        self.val = ""

    def step(self, losses: list, hits: list, sizes: list) -> None:
        self.bar.update()
        now = time.monotonic()
        if now - self.last >= 0.25:
            self.last = now
            loss, acc = _epoch_means(losses, hits, sizes)
            live = f"loss {loss:.4f}" + (f" acc {acc:.3f}" if acc is not None else "")
            self.bar.set_postfix_str(live + self.val, refresh=False)

    def epoch_done(self, row: dict[str, float], metric: str) -> None:
        short = "acc" if metric == "accuracy" else metric
        if "val_loss" in row:
            self.val = f" | val loss {row['val_loss']:.4f} {short} {row[f'val_{metric}']:.3f}"
        self.bar.set_description(f"epoch {min(self.state.epoch + 1, self.state.epochs)}/{self.state.epochs}",
                                 refresh=False)

    def close(self) -> None:
        self.bar.close()
