"""Early stopping and tune's pruner judge no epoch of the learning-rate warm-up (cosine's, onecycle's ramp)."""

import json

import pytest
import torch
from torch import nn

from idealfit.config import TrainConfig
from idealfit.train.callbacks import EarlyStopping, FitState, NonFiniteGuard
from idealfit.train.optim import build_optimizer, build_scheduler, warmup_epochs
from idealfit.train.session import train


def _peak_epoch(cfg: TrainConfig, steps_per_epoch: int) -> int:
    """The epoch (1-based) of the highest rate the optimizer really used: the reference."""
    opt = build_optimizer(nn.Linear(1, 1).parameters(), cfg)
    sched = build_scheduler(opt, cfg, steps_per_epoch=steps_per_epoch)
    rates = []
    for _ in range(cfg.epochs * steps_per_epoch):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return max(range(len(rates)), key=rates.__getitem__) // steps_per_epoch + 1


@pytest.mark.parametrize("schedule, epochs, steps, warmup, want", [
    ("onecycle", 60, 2, 1.0, 18), ("onecycle", 20, 1, 1.0, 6), ("onecycle", 10, 3, 1.0, 3),
    ("cosine", 30, 5, 1.0, 1), ("cosine", 10, 4, 2.5, 3), ("cosine", 2, 1, 5.0, 1)])
def test_the_warm_up_ends_where_the_schedule_peaks(schedule, epochs, steps, warmup, want):
    cfg = TrainConfig(epochs=epochs, schedule=schedule, warmup_epochs=warmup)
    assert warmup_epochs(cfg, steps_per_epoch=steps) == want == _peak_epoch(cfg, steps)


def test_no_warm_up_for_constant_and_step():
    for schedule in ("constant", "step"):
        assert warmup_epochs(TrainConfig(epochs=10, schedule=schedule), steps_per_epoch=3) == 0


def _epochs(vals, *, warmup, patience=2, early=True):
    """Feed `vals` as val_loss epoch by epoch (epoch k's weight = k); returns (state, early, guard)."""
    model = nn.Linear(1, 1, bias=False)
    state = FitState(step=type("S", (), {"model": model})(), epochs=len(vals), warmup_epochs=warmup)
    es = EarlyStopping(monitor="val_loss", patience=patience) if early else None
    guard = NonFiniteGuard(early=es)
    cbs = [c for c in (es, guard) if c is not None]
    for c in cbs:
        c.on_fit_start(state)
    for epoch, val in enumerate(vals, start=1):
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        state.epoch = epoch
        state.history.append({"epoch": epoch, "val_loss": val, "train_loss": 1.0})
        for c in cbs:
            c.on_epoch_end(state)
        if state.stop:
            break
    for c in cbs:
        c.on_fit_end(state)
    return state, es, guard


def test_early_stopping_waits_out_the_warm_up_and_keeps_no_warm_up_epoch():
    # the autoencoder's case: validation rises while the rate ramps up, then falls below epoch 1's
    vals = [1.0, 1.1, 1.2, 1.3, 0.9, 1.0, 1.1, 0.1]
    state, es, _ = _epochs(vals, warmup=3)
    assert state.stopped_early and state.epoch == 7 and es.best_epoch == 5
    assert float(state.step.model.weight.detach()) == 5.0
    before, es0, _ = _epochs(vals, warmup=0)  # what it did before: stopped inside the ramp, kept epoch 1
    assert before.epoch == 3 and es0.best_epoch == 1


def test_a_run_that_ends_inside_the_warm_up_keeps_its_last_weights():
    state, es, _ = _epochs([1.0, 2.0, 3.0], warmup=5, patience=1)
    assert not state.stopped_early and es.best_weights is None and float(state.step.model.weight.detach()) == 3.0
    state, _, guard = _epochs([1.0, 2.0, float("nan"), 0.5], warmup=5)  # diverged in the warm-up
    assert guard.diverged["kept_epoch"] == 2 and float(state.step.model.weight.detach()) == 2.0


def test_a_tiny_onecycle_run_is_not_stopped_inside_its_ramp(tmp_path):
    """20 epochs of one step: onecycle rises until epoch 6. With no epoch good enough to count as an improvement
    (min_delta huge) and patience 2, early stopping ended this run at epoch 3 and kept epoch 1 before."""
    lines = []
    run = train(overrides={"data.name": "digits", "data.task": "reconstruction", "data.train_subset": 60,
                           "model.widths": [4], "model.latent": 2, "train.epochs": 20, "train.patience": 2,
                           "train.min_delta": 1e9, "train.threads": "1", "train.progress": False,
                           "out": str(tmp_path / "run")}, echo=lines.append)
    s = run.summary
    assert run.config.train.schedule == "onecycle"  # the autoencoder's default
    assert s["warmup_epochs"] == 6 and s["stopped_early"] and s["epochs_run"] == 9 and s["best_epoch"] == 7
    assert "early stopping judges epochs 7-20 only: the learning rate rises until epoch 6" in "\n".join(lines)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["warmup_epochs"] == 6


def test_an_extended_run_waits_out_its_new_cycles_ramp_only():
    from types import SimpleNamespace

    from idealfit.train.setup import warmup_end

    setup = SimpleNamespace(train_batches=[0, 0])  # two steps an epoch
    onecycle, cosine = TrainConfig(epochs=30, schedule="onecycle"), TrainConfig(epochs=30, schedule="cosine")
    assert warmup_end(setup, onecycle) == 9 and warmup_end(setup, cosine) == 1
    # extended after epoch 10: a new one-cycle over epochs 11-30 ramps for 6 of them; cosine restarts without one
    assert warmup_end(setup, onecycle, restart_epoch=10) == 16 and warmup_end(setup, cosine, restart_epoch=10) == 10


def _cycle_rows(lrs):
    return [{"epoch": i + 1, "lr": lr, "train_loss": 1.0 / (i + 1), "val_loss": 1.1 / (i + 1),
             "train_accuracy": 0.99, "val_accuracy": 0.97} for i, lr in enumerate(lrs)]


def test_a_one_cycle_run_cut_short_by_early_stopping_is_told_so():
    from idealfit.diagnose import diagnose

    ctx = {"kind": "table", "schedule": "onecycle", "early_stopping": True, "stopped_early": True, "epochs": 60,
           "patience": 3, "lr": 1e-3}
    high = _cycle_rows([0.2, 0.6, 1.0, 0.95, 0.87])  # stopped at 87% of the peak, epoch 5 of 60
    tips = diagnose(high, task="classification", metric="accuracy", context=ctx)["advice"]
    assert tips[-1].startswith("Early stopping ended this one-cycle run at epoch 5 of 60, with the learning rate "
                               "still at 87% of its peak") and "train.early_stopping=false" in tips[-1]
    assert not any(t.startswith("Keep this setup") for t in tips)
    for rows, changed in [(_cycle_rows([0.2, 1.0, 0.5, 0.1, 0.05]), {}),  # the cycle had annealed: nothing to say
                          (high, {"schedule": "cosine"}), (high, {"stopped_early": False}),
                          ([{k: v for k, v in r.items() if k != "lr"} for r in high], {})]:  # no lr recorded
        tips = diagnose(rows, task="classification", metric="accuracy", context={**ctx, **changed})["advice"]
        assert not any("one-cycle run" in t for t in tips)


def test_a_real_one_cycle_run_stopped_early_gets_the_advice(tmp_path):
    import idealfit as fit

    run = fit.train(data="digits", model="mlp", epochs=60, out=tmp_path / "oc", verbose=False,
                    set={"train.schedule": "onecycle", "train.patience": 2, "train.threads": "1",
                         "train.progress": False, "model.hidden": [16]})
    s = run.summary
    assert s["stopped_early"] and s["epochs_run"] < 40  # stopped long before the cycle's end
    assert any("one-cycle run at epoch" in a for a in s["diagnosis"]["advice"])
