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


def build_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, *, steps_per_epoch: int):
    """A scheduler stepped once per optimizer step (so every schedule is smooth within an epoch)."""
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total)
    warmup = min(int(round(cfg.warmup_epochs * steps_per_epoch)), total // 2)
    kw = dict(schedule=cfg.schedule, total_steps=total, steps_per_epoch=steps_per_epoch, warmup_steps=warmup,
              step_every=cfg.step_every, step_gamma=cfg.step_gamma)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, **kw))
