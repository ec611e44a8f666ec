"""metrics.csv's lr: the rate of each epoch's last optimizer step, for every schedule."""

import csv
import math

import pytest

import idealfit as fit
from idealfit.config import TrainConfig
from idealfit.train.optim import build_optimizer, build_scheduler

EPOCHS = 4


def _rates_used(schedule: str, steps_per_epoch: int) -> list[float]:
    """The reference: the rate every optimizer step of the run used, from the same schedule stepped by hand."""
    import torch

    cfg = TrainConfig(epochs=EPOCHS, schedule=schedule)
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    sched = build_scheduler(opt, cfg, steps_per_epoch=steps_per_epoch)
    rates = []
    for _ in range(EPOCHS * steps_per_epoch):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "step"])
def test_each_row_holds_its_epochs_last_rate(tmp_path, schedule):
    run = fit.train(data="xo", epochs=EPOCHS, schedule=schedule, out=tmp_path / schedule, verbose=False,
                    set={"train.progress": False, "train.threads": "1", "train.early_stopping": False})
    with open(run.dir / "metrics.csv") as fh:
        logged = [float(r["lr"]) for r in csv.DictReader(fh)]
    per_epoch = math.ceil(run.summary["train_samples"] / run.config.train.batch_size)
    used = _rates_used(schedule, per_epoch)
    assert logged == pytest.approx([used[e * per_epoch - 1] for e in range(1, EPOCHS + 1)], rel=1e-5)  # 6 digits
    if schedule == "onecycle":  # comes down to its end value (train.lr / 25 / 1e4), not the row before's
        assert logged[-1] == pytest.approx(3e-3 / 25 / 1e4) and logged[-1] < logged[-2]
    if schedule == "cosine":  # the last step's small rate, not the 0 that no step used
        assert 0 < logged[-1] < logged[-2]
