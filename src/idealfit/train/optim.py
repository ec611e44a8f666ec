"""Optimizers (SGD with momentum/Nesterov, Adam, AdamW) and per-step learning-rate schedules."""

from __future__ import annotations

import math

import torch

from idealfit.config import TrainConfig
from idealfit.errors import UserError


def build_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named by `cfg.optimizer`; AdamW's weight decay is decoupled, SGD's and Adam's are L2-like."""
    if cfg.optimizer == "sgd":
        if cfg.nesterov and cfg.momentum <= 0:
            raise UserError("train.nesterov needs train.momentum > 0; set train.momentum=0.9")
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_factor(step: int, *, schedule: str, total_steps: int, steps_per_epoch: int, warmup_steps: int,
              step_every: int, step_gamma: float) -> float:
    """Multiplier of the peak learning rate at optimizer step `step` (0-based).

    constant: 1. step: `step_gamma` ** (epochs done // `step_every`). cosine: linear warm-up over
    `warmup_steps`, then half a cosine from 1 down to 0 at `total_steps`.
    """
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return step_gamma ** ((step // steps_per_epoch) // step_every)
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


# OneCycleLR's own default, named here because early stopping and tune's pruner must know it too: the
# rate rises from train.lr / 25 to train.lr over the first 30% of the steps (18 of 60 epochs), then anneals.
ONECYCLE_PCT_START = 0.3


def _cosine_warmup_steps(cfg: TrainConfig, total_steps: int, steps_per_epoch: int) -> int:
    return min(int(round(cfg.warmup_epochs * steps_per_epoch)), total_steps // 2)


def warmup_epochs(cfg: TrainConfig, *, steps_per_epoch: int) -> int:
    """How many epochs the learning rate rises for (the last epoch of the warm-up, 1-based; 0: none).

    cosine: its linear warm-up (`train.warmup_epochs`, at most half the run); onecycle: its ramp up to
    train.lr (the first ONECYCLE_PCT_START of the steps: 18 of 60 epochs); constant and step: 0.
    Early stopping and tune's pruner judge no epoch up to it: there the metric measures the warm-up.
    """
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "onecycle":  # OneCycleLR peaks at step pct_start * total - 1 (0-based; may be fractional)
        last = math.ceil(round(ONECYCLE_PCT_START * total - 1, 6))
    elif cfg.schedule == "cosine":
        last = _cosine_warmup_steps(cfg, total, steps_per_epoch) - 1
    else:
        return 0
    return last // steps_per_epoch + 1 if last >= 0 else 0


def build_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, *, steps_per_epoch: int):
    """A scheduler stepped once per optimizer step (so every schedule is smooth within an epoch)."""
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total,
                                                   pct_start=ONECYCLE_PCT_START)
    warmup = _cosine_warmup_steps(cfg, total, steps_per_epoch)
    kw = dict(schedule=cfg.schedule, total_steps=total, steps_per_epoch=steps_per_epoch, warmup_steps=warmup,
              step_every=cfg.step_every, step_gamma=cfg.step_gamma)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, **kw))
