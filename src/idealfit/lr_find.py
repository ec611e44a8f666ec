"""The learning-rate range test (Smith 2015; fastai's and Lightning's `lr_find`).

Train a fresh model for `steps` minibatches while the learning rate grows geometrically from `start` to
`end` (lr_i = start · (end/start)^(i/(steps−1))), record the loss smoothed by a bias-corrected
exponential moving average, and stop once the smoothed loss exceeds 4× the best seen (or the loss is no
longer finite): past that point the rate is too large. The average uses β = 0.9, not fastai's and
Lightning's 0.98: over a 100-step sweep 0.98 averages about 50 steps, so the smoothed curve trails the
minibatch loss by some three decades of learning rate (on digits its minimum sat at 0.16 while the loss
had bottomed out near 0.03); 0.9 trails by about 10 steps and is still smooth enough to read. The model
is thrown away afterwards; nothing is written but the plot.

The suggestion rule ("steepest descent before the minimum", robust to early spikes and noisy minibatches):

1. skip the first `skip` share (10%) of the recorded steps, where a fresh model's loss is noisy and a
   spike's fall would look like a steep descent;
2. find the minimum of the smoothed loss in the rest; beyond it the loss only rises (diverges);
3. suggest the learning rate where the loss falls fastest against log10(lr) between the two, the slope
   at each point being that of a least-squares line through the minibatch losses within half a decade
   either side (`window` = 1 decade, some 16 steps of a 100-step sweep over 6 decades): the middle of
   the descent, not its end, where training is already on the edge. If the loss never descended after
   the skip but clearly rises from its first rates, suggest a tenth of the rate at the minimum (fastai's
   "lr_min / 10" rule).
4. suggest nothing when the sweep shows no clear descent: the minibatch losses of the decade up to the
   minimum must lie below those of the first decade after the skip by at least CLEAR standard errors
   (medians, their spread from the median absolute deviation, so a spike does not count as spread; the
   losses past the minimum belong to the divergence and are left out). A forecasting run starts at its
   AR fit, so its sweep is flat: its "minimum" is a dip of the noise (daily sales: 2.85e-05, 0.0
   standard errors below the start), and a rate read off it is arbitrary; the command then says so and
   keeps the default rate. Measured, default sweeps on 1 thread: flat 0.0 (a daily-sales CSV) and 0.6
   (sunspots); descents 53 (digits mlp), 95 (digits cnn), 34 (mnist1d), 39 (wine), 5.0 (diabetes), 4.7
   (a 3-class text CSV), 4.0 (digits mlp, plain SGD from 1e-3, a test's sweep); pure noise (25% minibatch
   noise) reaches 3 in 4 of 400 simulated sweeps, a 50% descent under that noise in all of 200
   (`benchmarks/lr_find.py` prints the forecasting sweeps and the noise count).

Why a fitted line and not the smoothed curve's point slope (central differences, the rule before): on a
few hundred rows one minibatch of 32 is a noisy loss, and a 2-3 step dip of the average looked like the
steepest descent. On diabetes (353 training rows) that rule suggested 9.3e-6 for seed 0 (test R² 0.05
against 0.39 with the default 1e-3); the line through one decade suggests 2.8e-3 to 3.8e-3 for seeds
0-2 (measured in `benchmarks/lr_find.py`, numbers in its header).

Example:
    >>> res = lr_find(data="digits", model="cnn")   # doctest: +SKIP
    >>> res.suggestion, res.figure_path             # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from idealfit.errors import UserError

BETA = 0.9  # smoothing of the recorded loss (see the module doc for why not 0.98)
DIVERGE = 4.0  # stop when the smoothed loss exceeds this many times the best
SKIP = 0.1  # share of the first recorded steps the suggestion ignores
WINDOW = 1.0  # decades of learning rate each slope's least-squares line spans
CLEAR = 3.0  # standard errors the loss must fall by for a descent to count (rule 4 in the module doc)


@dataclass
class LRFindResult:
    """The range test's curve and suggestion."""

    lrs: list[float]  # learning rate of each recorded step, increasing geometrically
    losses: list[float]  # smoothed (bias-corrected EMA) training loss at each step
    raw_losses: list[float]  # the minibatch loss itself at each step
    suggestion: float | None  # the suggested learning rate (rule in the module doc); None: no clear descent
    figure_path: Path  # the PNG written
    diverged: bool  # True when the sweep stopped before `end` because the loss blew up
    clarity: float  # standard errors the loss falls by to its minimum (`descent_clarity`; under CLEAR: flat)
    default_lr: float  # the rate `idealfit train` would use on this data (kept when there is no suggestion)
    threads: int  # CPU threads the sweep ran on (train.threads, resolved as train resolves it)


def format_lr(lr: float) -> str:
    """A rate as printed everywhere (plot, suggestion, the command to use it): 3 significant digits, rounded."""
    return f"{lr:.3g}"


def lr_schedule(start: float, end: float, steps: int) -> np.ndarray:
    """`steps` learning rates from `start` to `end`, each a constant factor above the previous."""
    return start * (end / start) ** (np.arange(steps) / max(1, steps - 1))


def smooth(losses: list[float], *, beta: float = BETA) -> list[float]:
    """Bias-corrected exponential moving average: s_i = EMA_i / (1 − β^(i+1)), EMA_i = β·EMA_{i−1} + (1−β)·l_i."""
    avg, out = 0.0, []
    for i, v in enumerate(losses):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def suggest_lr(lrs, losses, *, raw=None, skip: float = SKIP, window: float = WINDOW,
               clear: float = CLEAR) -> float | None:
    """The suggested rate for a recorded curve: steepest descent after the skip, before the minimum;
    None when the curve shows no clear descent (rule 4 in the module doc).

    Args:
        lrs: (n,) increasing learning rates.
        losses: (n,) smoothed losses at those rates (their minimum bounds the search).
        raw: (n,) the minibatch losses the slopes are fitted to (default None: `losses` themselves).
        skip: share of the first points ignored (default 0.1).
        window: decades of learning rate in each slope's least-squares line (default 1.0).
        clear: standard errors of descent below which nothing is suggested (default CLEAR, 3.0; 0 turns
            rule 4 off: the rule before it, which read a rate off any curve).
    """
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    fitted = losses if raw is None else np.asarray(raw, dtype=float)
    n = len(losses)
    if n < 3 or len(lrs) != n or len(fitted) != n:
        raise UserError(f"the lr finder recorded only {n} steps; raise --steps or lower --start")
    k = min(int(round(skip * n)), n - 3)
    i_min = k + int(np.argmin(losses[k:]))
    logs = np.log10(lrs)  # rule 4 compares losses over WINDOW decades, whatever `window` is
    if i_min - k < 2:  # no descent after the skip: fastai's fallback, if the loss then clearly rises
        at_min = fitted[np.abs(logs - logs[i_min]) <= WINDOW / 2 + 1e-12]
        after = fitted[logs > logs[i_min] + WINDOW / 2]
        return float(max(lrs[0], lrs[i_min] / 10)) if clear <= 0 or _clear_drop(after, at_min) >= clear else None
    if clear > 0 and descent_clarity(lrs, losses, raw=raw, skip=skip) < clear:  # flat: a dip of the noise
        return None
    x = np.log10(lrs[k:])
    slope = local_slopes(x, fitted[k:], window=window)  # the skipped start is in no line
    # only lines with their whole left half after the skip: a half-window line rests on half the points
    first = min(int(np.searchsorted(x, x[0] + window / 2 - 1e-12)), i_min - k)
    return float(lrs[k + first + int(np.argmin(slope[first:i_min - k + 1]))])


def descent_clarity(lrs, losses, *, raw=None, skip: float = SKIP) -> float:
    """How clearly the sweep descends (rule 4 in the module doc): the standard errors by which the minibatch
    losses of the decade up to the smoothed minimum lie below those of the first decade after the skip.

    Args: as for `suggest_lr`. Returns 0.0 when the minimum is within 2 steps of the skip.
    """
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    fitted = losses if raw is None else np.asarray(raw, dtype=float)
    n = len(losses)
    k = max(0, min(int(round(skip * n)), n - 3))
    i_min = k + int(np.argmin(losses[k:]))
    if i_min - k < 2:
        return 0.0
    logs = np.log10(lrs)
    # the first decade after the skip, and the decade up to the minimum (the losses past it belong to the
    # divergence); at least 3 steps each, as a short sweep (--steps 10 over 6 decades) has fewer per decade
    start = fitted[k:max(k + 3, int(np.searchsorted(logs, logs[k] + WINDOW + 1e-12, side="right")))]
    before_min = fitted[min(i_min - 2, int(np.searchsorted(logs, logs[i_min] - WINDOW - 1e-12))):i_min + 1]
    return _clear_drop(start, before_min)


def _clear_drop(high: np.ndarray, low: np.ndarray) -> float:
    """How many standard errors the median of `low` lies below that of `high`: 0 if either has under 3 values.

    Medians and the median absolute deviation (σ ≈ 1.4826·MAD, a median's standard error ≈ 1.253·σ/√n):
    the last steps before divergence can spike, and a mean would count a spike as spread."""
    if len(high) < 3 or len(low) < 3:
        return 0.0
    drop = float(np.median(high) - np.median(low))
    var = sum((1.253 * 1.4826 * np.median(np.abs(v - np.median(v)))) ** 2 / len(v) for v in (high, low))
    if var == 0:  # noise-free losses (a test's curve): any drop is clear
        return math.inf if drop > 0 else 0.0
    return drop / math.sqrt(var)


def local_slopes(x: np.ndarray, y: np.ndarray, *, window: float) -> np.ndarray:
    """(n,) slope of the least-squares line through the points with |x − x_i| <= window / 2, at each i."""
    slopes = np.empty(len(x))
    for i in range(len(x)):
        near = np.abs(x - x[i]) <= window / 2 + 1e-12
        if near.sum() < 3:  # a window narrower than the spacing: the neighbours' central difference
            near = np.abs(np.arange(len(x)) - i) <= 1
        xs, ys = x[near] - x[near].mean(), y[near]
        slopes[i] = float(xs @ (ys - ys.mean()) / (xs @ xs)) if xs @ xs > 0 else 0.0
    return slopes


def _cycle(batches) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Minibatches without end: a fresh pass (and shuffle) each time the data runs out."""
    while True:
        yielded = False
        for xb, yb in batches:
            yielded = True
            yield xb, yb
        if not yielded:
            raise UserError("the training split is empty; the lr finder needs training data")


def _setup(*, data: str, model: str, seed: int, overrides: dict[str, Any]):
    """(training step without a schedule, training batches, threads, default lr), built as `idealfit
    train` builds them: the threads resolved from train.threads, the lr train would use on this data."""
    from idealfit.config import resolve
    from idealfit.train.setup import build_setup, build_step

    cfg = resolve(overrides={"data.name": str(data), "model.name": model, "train.seed": seed, **overrides})
    s = build_setup(cfg)  # applies the data kind's defaults (a table's lr 1e-3) to cfg
    return build_step(s, cfg.train, schedule=False), s.train_batches, s.threads, float(cfg.train.lr)


def _sweep(step, batches, lrs: np.ndarray) -> tuple[list, bool]:
    """Raw losses of one step per rate in `lrs`, until the smoothed loss exceeds DIVERGE× its best."""
    raw: list[float] = []
    avg, best = 0.0, math.inf
    opt = step.optimizers["main"]
    step.model.train()
    for i, (lr, batch) in enumerate(zip(lrs, _cycle(batches), strict=False)):
        for group in opt.param_groups:
            group["lr"] = float(lr)
        stats = step.train(batch)  # the loss that is minimized: data loss + penalty, per sample
        value = float((stats["loss"] + stats.get("penalty", 0.0)) / stats["n"])
        if not math.isfinite(value):
            return raw, True
        raw.append(value)
        avg = BETA * avg + (1 - BETA) * value
        smoothed = avg / (1 - BETA ** (i + 1))
        best = min(best, smoothed)
        if smoothed > DIVERGE * best:
            return raw, True
    return raw, False


def lr_find(*, data: str | Path = "digits", model: str = "auto", start: float = 1e-6, end: float = 1.0,
            steps: int = 100, set: dict[str, Any] | None = None, seed: int = 0,
            out: str | Path | None = None) -> LRFindResult:
    """Sweep the learning rate geometrically over minibatches and suggest one (rule in the module doc).

    Args:
        data: embedded dataset or path, as for `idealfit train` (default "digits").
        model: "cnn", "mlp" or "auto" (default: by the data's kind).
        start, end: first and last learning rate (default 1e-6 and 1).
        steps: minibatches in the sweep (default 100); the training split is cycled as needed.
        set: further dotted config keys (optimizer, batch size, model shape, penalties...); not `train.lr`,
            which the sweep sets itself (refused).
        seed: seed of the split, the initial weights and the batch order (default 0).
        out: the plot's PNG path (default None: runs/<timestamp>-<data>-<model>-lr-find.png).
    """
    from idealfit.train.distributed import ONLY_TRAIN, refuse_under_torchrun

    refuse_under_torchrun("lr-find", ONLY_TRAIN)
    if not (isinstance(start, (int, float)) and isinstance(end, (int, float)) and 0 < start < end):
        raise UserError(f"the lr finder needs 0 < start < end; got start={start}, end={end}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 5:
        raise UserError(f"the lr finder needs at least 5 steps; got {steps}")
    from idealfit.report.figures import png_path, save_png

    out = png_path(out) if out is not None else None  # before the sweep: a name it cannot write stops it first
    if "train.lr" in (set or {}):
        raise UserError("the lr finder sweeps the learning rate itself (from --start to --end), so it takes no "
                        "train.lr; drop it, and set the range with --start and --end")
    step, batches, threads, default_lr = _setup(data=str(data), model=model, seed=seed, overrides=dict(set or {}))
    if "main" not in step.optimizers:  # pix2pix: a discriminator and a generator, two optimizers in a game
        raise UserError(f"the lr finder sweeps one optimizer's rate on a falling loss; {data} trains a GAN (two "
                        "optimizers, no loss that should fall): keep the paper's lr 2e-4, or add "
                        "--set model.gan_weight=0 to sweep the L1-only generator")
    lrs = lr_schedule(start, end, steps)
    from idealfit.train.threads import num_threads

    with num_threads(threads):  # as `idealfit train` does: --set train.threads=1 pins the sweep too
        raw, diverged = _sweep(step, batches, lrs)
    lrs, smoothed = lrs[:len(raw)], smooth(raw)
    suggestion, clarity = suggest_lr(lrs, smoothed, raw=raw), descent_clarity(lrs, smoothed, raw=raw)
    path = save_png(lr_find_figure(lrs, smoothed, raw=raw, suggestion=suggestion), out or _default_out(data, model))
    return LRFindResult([float(v) for v in lrs], smoothed, raw, suggestion, path, diverged, clarity, default_lr,
                        threads)


def _default_out(data: str | Path, model: str) -> Path:
    from idealfit.train.rundir import stamped_name

    return Path("runs") / f"{stamped_name(data, model, 'lr-find')}.png"


def lr_find_figure(lrs, losses, *, raw=None, suggestion: float | None, skip: float = SKIP) -> Figure:
    """Loss against learning rate (log x): raw and smoothed loss, the skipped start shaded, the suggestion
    marked (None: the title says the sweep shows no clear descent)."""
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    if raw is not None:
        ax.plot(lrs, raw, color="0.75", linewidth=0.8, label="minibatch loss")
    ax.plot(lrs, losses, color="C0", linewidth=2, label="smoothed loss")
    k = min(int(round(skip * len(lrs))), len(lrs) - 3)
    if k > 0:
        ax.axvspan(lrs[0], lrs[k], color="0.9", label=f"skipped (first {100 * skip:.0f}%)")
    if suggestion is not None:
        i = int(np.argmin(np.abs(np.log(lrs) - math.log(suggestion))))
        ax.axvline(suggestion, color="crimson", linestyle="--", linewidth=1)
        ax.plot([suggestion], [losses[i]], marker="o", color="crimson", markersize=8, linestyle="none",
                label=f"suggested lr = {format_lr(suggestion)}")
    i_min = k + int(np.argmin(losses[k:]))
    top = float(np.max(losses[: i_min + 1]))
    low = float(losses[i_min])
    ax.set_ylim(low - 0.1 * (top - low + 1e-12), top + 0.15 * (top - low + 1e-12))
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title("Learning-rate finder" + ("" if suggestion is not None else ": no clear descent, no suggestion"))
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return fig
