"""The task registry: what a run learns to predict. One small file per task (see base.Task)."""

from __future__ import annotations

from idealfit.errors import UserError
from idealfit.tasks.base import LOSS, MetricInfo, Task
from idealfit.tasks.classification import Classification
from idealfit.tasks.forecasting import Forecasting
from idealfit.tasks.reconstruction import Reconstruction
from idealfit.tasks.regression import Regression
from idealfit.tasks.segmentation import LOSSES as SEGMENTATION_LOSSES
from idealfit.tasks.segmentation import Segmentation
from idealfit.tasks.translation import Translation

TASKS: dict[str, Task] = {t.name: t for t in (Classification(), Regression(), Segmentation(), Reconstruction(), Translation(),
                                          Forecasting())}
# train.loss values each task accepts besides "auto" (its own loss)
TASK_LOSSES: dict[str, tuple[str, ...]] = {"segmentation": SEGMENTATION_LOSSES}
SEGMENTATION_DEFAULT_LOSS = "ce+dice"


# Every metric of every task, by name: the one table of which way each is better (names agree across tasks).
METRIC_INFO: dict[str, MetricInfo] = {m: info for t in TASKS.values() for m, info in t.metrics.items()}


def is_score(metric: str) -> bool:
    """A bounded score where higher is better (accuracy, Dice, IoU): shown in percent, gaps in points."""
    info = METRIC_INFO[metric]
    return info.bounded and info.higher_is_better


def get_task(name: str, *, loss: str = "auto") -> Task:
    """The task `name`, with `loss` (train.loss) where the task offers a choice."""
    if name not in TASKS:
        raise UserError(f"unknown task '{name}'; tasks: {', '.join(TASKS)}")
    valid = TASK_LOSSES.get(name, ())
    if loss != "auto" and loss not in valid:
        choices = ", ".join(("auto", *valid))
        raise UserError(f"train.loss={loss} does not apply to {name}; use {choices}"
                        + ("" if valid else f" ({name} has one loss)"))
    if name == "segmentation":
        return Segmentation(SEGMENTATION_DEFAULT_LOSS if loss == "auto" else loss)
    return TASKS[name]


__all__ = ["LOSS", "METRIC_INFO", "TASKS", "MetricInfo", "Task", "get_task", "is_score"]
