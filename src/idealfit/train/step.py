"""A training step owns the model and a *named* set of optimizers and schedulers.

The loop calls `train(batch)` and `eval(batch)` and never touches an optimizer, so a model of two
networks that train in turns (a GAN's generator and discriminator) runs through the same loop and
its checkpoints; `SupervisedStep` is the one-network, one-loss case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from idealfit.tasks.base import Task
from idealfit.train.runtime import Runtime


class SupervisedStep:
    """Augment, forward, the task's loss (+ penalty), backward, clip, one optimizer step, one schedule step.

    Args:
        model: the raw module (its state_dict is what is saved; `runtime.wrap` gives the forward one).
        optimizers / schedulers: by name; this step uses "main".
        task: gives the loss and the per-batch statistics.
        penalty: extra loss term on the model (e.g. L1 = λ/2·Σ|W|), logged as "penalty".
        augment: applied to each training batch's inputs (and, when the task's targets are images
            such as masks, to the targets with the same geometric draw).
        clip_grad: max gradient norm, None = off.
    """

    def __init__(self, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                 schedulers: dict[str, Any], *, task: Task, penalty: Callable | None = None,
                 augment: Callable | None = None, clip_grad: float | None = None, runtime: Runtime | None = None):
        self.model, self.optimizers, self.schedulers = model, optimizers, schedulers
        self.task, self.penalty, self.augment, self.clip_grad = task, penalty, augment, clip_grad
        self.runtime = runtime or Runtime(next(model.parameters()).device)
        self.forward = self.runtime.wrap(model)
        self._used_lrs: dict[str, float] | None = None  # the rates of the latest optimizer step (`lrs`)

    def train(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        xb, yb = batch
        if self.augment is not None:
            if self.task.augments_targets:
                xb, yb = self.augment(xb, mask=yb)
            else:
                xb = self.augment(xb)
        opt = self.optimizers["main"]
        with self.runtime.autocast():
            out = self.forward(xb).float()  # bf16 autocast: the loss and the metrics in float32
            loss = self.task.loss(out, yb)
        pen = self.penalty(self.model) if self.penalty is not None else None
        opt.zero_grad(set_to_none=True)
        (loss if pen is None else loss + pen).backward()
        if self.clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad)
        opt.step()
        self.step_schedules()
        stats = self.task.stats(out.detach(), yb, loss)
        if pen is not None:
            stats["penalty"] = pen.detach() * stats["n"]
        return stats

    @torch.no_grad()
    def eval(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """(statistics, outputs) of one batch; the caller puts the model in eval mode."""
        xb, yb = batch
        with self.runtime.autocast():
            out = self.forward(xb).float()  # bf16 autocast: metrics and saved predictions in float32
        return self.task.stats(out, yb, self.task.loss(out, yb)), out

    def step_schedules(self) -> None:
        """After the optimizer steps: note the rates they just used, then advance every schedule."""
        self._used_lrs = self._current_lrs()
        for sched in self.schedulers.values():
            sched.step()

    def lrs(self) -> dict[str, float]:
        """The learning rate of each optimizer's latest step ("lr" for a single one, "lr_<name>" otherwise): a
        metrics.csv row's rate is its epoch's last one, for every schedule. The rate the schedules set for the
        *next* step instead ended cosine at 0 (never used) and repeated one-cycle's previous row at the end
        (OneCycleLR past its last step), so a plotted one-cycle curve never came down."""
        return dict(self._used_lrs) if self._used_lrs is not None else self._current_lrs()

    def _current_lrs(self) -> dict[str, float]:
        if len(self.optimizers) == 1:
            return {"lr": next(iter(self.optimizers.values())).param_groups[0]["lr"]}
        return {f"lr_{k}": o.param_groups[0]["lr"] for k, o in self.optimizers.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(),
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()}}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        self.model.load_state_dict(d["model"])
        for k, o in self.optimizers.items():
            o.load_state_dict(d["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(keep_plan(s, d["schedulers"][k]))


# OneCycleLR saves its plan (the total step count and the phases' end steps) in its state; a cosine schedule's
# plan is its lambda, which is never saved. A resumed run (`--resume RUN --epochs N`) keeps the plan it was
# built with for its own epochs, and the step count it reached: both schedules then continue over the new total
# from the current step, and a one-cycle asked for more epochs does not raise past its old total.
ONECYCLE_PLAN = ("total_steps", "_schedule_phases")


def keep_plan(sched, saved: dict[str, Any]) -> dict[str, Any]:
    """`saved` (a scheduler's state) without the keys that would replace `sched`'s own plan (ONECYCLE_PLAN)."""
    if isinstance(sched, torch.optim.lr_scheduler.OneCycleLR):
        return {k: v for k, v in saved.items() if k not in ONECYCLE_PLAN}
    return saved


@torch.no_grad()
def evaluate(step, batches, *, keep_outputs: bool = False):
    """Summed statistics over `batches` in eval mode (restored afterwards), and the outputs and
    targets concatenated on the CPU when `keep_outputs`."""
    from idealfit.train.meter import Meter

    model = step.model
    was_training = model.training
    model.eval()
    meter, outs, ys = Meter(step.runtime.all_reduce_sum), [], []
    try:
        for batch in batches:
            stats, out = step.eval(batch)
            meter.add(stats)
            if keep_outputs:
                outs.append(out.cpu())
                ys.append(batch[1].cpu())
    finally:
        model.train(was_training)
    if keep_outputs:
        return meter, torch.cat(outs), torch.cat(ys)
    return meter
