"""The task registry: what a run learns to predict. One small file per task (see base.Task)."""

from __future__ import annotations

from idealfit.errors import UserError
from idealfit.tasks.base import LOSS, MetricInfo, Task
from idealfit.tasks.classification import Classification
from idealfit.tasks.regression import Regression

TASKS: dict[str, Task] = {t.name: t for t in (Classification(), Regression())}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise UserError(f"unknown task '{name}'; tasks: {', '.join(TASKS)}") from None


__all__ = ["LOSS", "TASKS", "MetricInfo", "Task", "get_task"]
