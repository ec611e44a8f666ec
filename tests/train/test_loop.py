"""The loop's pieces against hand computations: early stopping, schedules, optimizers, determinism."""

import math

import pytest
import torch
from torch import nn

from idealfit.config import TrainConfig
from idealfit.data.batching import TensorBatches
from idealfit.errors import UserError
from idealfit.tasks import TASKS
from idealfit.train.callbacks import Callback, EarlyStopping, FitState
from idealfit.train.loop import fit
from idealfit.train.optim import build_optimizer, build_scheduler, lr_factor
from idealfit.train.step import SupervisedStep

CLS = TASKS["classification"]


def _state(model, epochs=5, *, lr=0.1, penalty=None, augment=None, clip=None):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    step = SupervisedStep(model, {"main": opt}, {"main": sched}, task=CLS, penalty=penalty, augment=augment,
                          clip_grad=clip)
    return FitState(step, epochs=epochs)


def test_early_stopping_restores_best_epoch_weights_whatever_ended_training():
    model = nn.Linear(2, 1)
    state = _state(model)
    es = EarlyStopping(monitor="val_loss", patience=2)
    es.on_fit_start(state)
    weights = {}
    for epoch, val in enumerate([1.0, 0.5, 0.7, 0.9], start=1):
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        weights[epoch] = model.weight.clone()
        state.epoch = epoch
        state.history.append({"epoch": epoch, "val_loss": val})
        es.on_epoch_end(state)
    assert state.stop and state.stopped_early and es.best_epoch == 2
    es.on_fit_end(state)
    assert torch.equal(model.weight, weights[2])


def test_early_stopping_higher_is_better_and_min_delta():
    es = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.01)
    es.reset()
    assert es.improved(0.5)
    es.best = 0.5
    assert not es.improved(0.505) and es.improved(0.52)


def test_early_stopping_missing_monitor_raises():
    state = _state(nn.Linear(1, 1))
    es = EarlyStopping(monitor="val_rmse", task="regression")
    state.history.append({"epoch": 1, "val_loss": 1.0})
    with pytest.raises(UserError, match="val_rmse"):
        es.on_epoch_end(state)
    with pytest.raises(UserError, match="not logged by a classification run; use one of val_loss, val_accuracy"):
        EarlyStopping(monitor="val_banana")
    with pytest.raises(UserError, match="not logged by a regression run; use one of val_loss, val_rmse"):
        EarlyStopping(monitor="val_accuracy", task="regression")


def test_misspelled_hook_is_refused():
    with pytest.raises(TypeError, match="on_epoch_ends"):
        class Bad(Callback):
            def on_epoch_ends(self, state):
                pass


def test_cosine_schedule_warms_up_then_decays_to_zero():
    kw = dict(schedule="cosine", total_steps=100, steps_per_epoch=10, warmup_steps=10, step_every=1, step_gamma=0.1)
    assert lr_factor(0, **kw) == pytest.approx(0.1)
    assert lr_factor(9, **kw) == pytest.approx(1.0)
    assert lr_factor(55, **kw) == pytest.approx(0.5 * (1 + math.cos(math.pi * 45 / 90)))
    assert lr_factor(100, **kw) == pytest.approx(0.0)


def test_step_schedule_and_constant():
    kw = dict(total_steps=100, steps_per_epoch=10, warmup_steps=0, step_every=3, step_gamma=0.5)
    assert [lr_factor(s, schedule="step", **kw) for s in (0, 29, 30, 60)] == [1.0, 1.0, 0.5, 0.25]
    assert lr_factor(77, schedule="constant", **kw) == 1.0


@pytest.mark.parametrize("schedule", ["constant", "step", "cosine", "onecycle"])
def test_every_schedule_changes_the_optimizer_rate_as_documented(schedule):
    cfg = TrainConfig(epochs=4, lr=0.1, schedule=schedule, warmup_epochs=1, step_every=2, step_gamma=0.1)
    opt = build_optimizer(nn.Linear(2, 1).parameters(), cfg)
    sched = build_scheduler(opt, cfg, steps_per_epoch=5)
    rates = []
    for _ in range(20):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    if schedule == "constant":
        assert set(rates) == {0.1}
    elif schedule == "step":
        assert rates[9] == pytest.approx(0.1) and rates[10] == pytest.approx(0.01)
    else:
        assert max(rates) == pytest.approx(0.1, rel=0.05) and rates[-1] < 0.02 and rates[0] < 0.05


@pytest.mark.parametrize("name,cls", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)])
def test_optimizers(name, cls):
    cfg = TrainConfig(optimizer=name, lr=0.01, momentum=0.8, nesterov=name == "sgd", weight_decay=0.1)
    opt = build_optimizer(nn.Linear(2, 1).parameters(), cfg)
    assert isinstance(opt, cls) and opt.param_groups[0]["weight_decay"] == 0.1
    if name == "sgd":
        assert opt.param_groups[0]["nesterov"] and opt.param_groups[0]["momentum"] == 0.8


def test_nesterov_without_momentum_is_a_user_error():
    with pytest.raises(UserError, match="momentum"):
        build_optimizer(nn.Linear(2, 1).parameters(), TrainConfig(optimizer="sgd", nesterov=True, momentum=0))


def _toy(seed=0, n=64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def _fit_toy(seed, *, epochs=3, clip=None, penalty=None):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    x, y = _toy()
    state = _state(model, epochs=epochs, clip=clip, penalty=penalty)
    batches = TensorBatches(x, y, batch_size=16, generator=torch.Generator().manual_seed(seed))
    fit(state, batches, TensorBatches(x, y, batch_size=64, shuffle=False), task=CLS, progress=False)
    return state


def test_same_seed_same_weights_and_history():
    a, b = _fit_toy(1), _fit_toy(1)
    for (ka, va), (_, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert torch.equal(va, vb), ka
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in a.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in b.history]
    c = _fit_toy(2)
    assert not torch.equal(a.model[0].weight, c.model[0].weight)


def test_history_rows_have_documented_columns_and_metrics_match_the_model():
    state = _fit_toy(0, epochs=2, penalty=lambda m: 0 * m[0].weight.sum() + 0.25)
    assert [r["epoch"] for r in state.history] == [1, 2]
    assert list(state.history[0]) == ["epoch", "lr", "train_loss", "train_accuracy", "penalty", "val_loss",
                                      "val_accuracy", "seconds"]
    x, y = _toy()
    state.model.eval()
    with torch.no_grad():
        out = state.model(x)
    assert state.history[-1]["val_accuracy"] == pytest.approx(float((out.argmax(1) == y).float().mean()))
    assert state.history[-1]["val_loss"] == pytest.approx(float(nn.functional.cross_entropy(out, y)), rel=1e-5)
    assert state.history[-1]["penalty"] == pytest.approx(0.25)  # logged beside the loss, not inside it


def test_gradient_clipping_bounds_the_update():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    before = model.weight.detach().clone()
    x, y = _toy()
    state = _state(model, epochs=1, lr=1.0, clip=0.01)
    fit(state, TensorBatches(x * 1000, y, batch_size=64, shuffle=False), None, task=CLS, progress=False)
    assert (model.weight - before).norm() <= 0.01 + 1e-6


def test_augment_runs_on_training_batches_only():
    seen = []

    def spy(xb):
        seen.append(len(xb))
        return xb

    model = nn.Linear(4, 2)
    x, y = _toy()
    fit(_state(model, epochs=1, augment=spy), TensorBatches(x, y, batch_size=16),
        TensorBatches(x, y, batch_size=64, shuffle=False), task=CLS, progress=False)
    assert seen == [16, 16, 16, 16]


def test_ctrl_c_ends_cleanly_with_best_weights():
    class Interrupt(Callback):
        def on_epoch_end(self, state):
            if state.epoch == 2:
                raise KeyboardInterrupt

    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    x, y = _toy()
    state = _state(model, epochs=10)
    es = EarlyStopping(monitor="val_loss", patience=None)
    fit(state, TensorBatches(x, y, batch_size=16), TensorBatches(x, y, batch_size=64, shuffle=False),
        task=CLS, callbacks=[es, Interrupt()], progress=False)
    assert state.interrupted and state.epoch == 2 and es.best_weights is not None
    assert torch.equal(model.weight, es.best_weights["weight"])


def test_no_progress_bar_frames_in_a_piped_log(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "idealfit", "train", "--data", "xo", "--epochs", "2", "--out",
                        str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "step/s" not in r.stderr  # a log gets the summary, not bar frames
    assert "accuracy" in r.stdout


def test_the_bar_is_shown_where_someone_watches(monkeypatch):
    import io
    import sys

    from idealfit.train.loop import watched

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    assert watched()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not watched()
