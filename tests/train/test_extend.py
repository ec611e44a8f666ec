"""`train --resume` of a run that had ended (train/extend.py): left alone, or trained on with a warm restart."""

import csv
import json
import math
import shutil

import pytest
import torch
from safetensors.torch import load_file

import idealfit as fit
from idealfit.cli import main
from idealfit.train.callbacks import Callback

QUICK = {"train.progress": False}
FILES = ("summary.json", "metrics.csv", "model.safetensors", "config.yaml", "checkpoint.pt", "report.html")


def _rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def _lrs(run_dir):
    return [float(r["lr"]) for r in _rows(run_dir)]


def _snapshot(run_dir):
    return {name: (run_dir / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A cosine run of 3 epochs that trained them all (early stopping never fires at patience 8)."""
    out = tmp_path_factory.mktemp("ext") / "done"
    fit.train(data="xo", epochs=3, lr=0.01, out=out, set=QUICK, verbose=False)
    return out


def test_more_epochs_on_a_finished_cosine_run_restart_its_schedule(finished, tmp_path, capsys):
    out = shutil.copytree(finished, tmp_path / "r")
    assert _lrs(out)[-1] < 0.02 * 0.01  # the cosine plan had run down to ~0 at its last epoch's last step
    assert main(["train", "--resume", str(out), "--epochs", "5"]) == 0
    printed = capsys.readouterr().out
    assert f"{out} had finished its 3 epochs; training 2 more (to 5), with a new cosine cycle" in printed
    assert "warm restart" in printed and f"resuming {out}" not in printed
    rows, lrs = _rows(out), _lrs(out)
    assert rows[:3] == _rows(finished)  # the first 3 epochs' rows are untouched
    # the added epochs train at a real learning rate: half a cosine over 2 epochs is at ~0.5 after the first
    # (the old plan re-planned over 5 epochs gave 0 -> 0.13 of train.lr -> 0)
    assert lrs[3] > 0.4 * 0.01 and lrs[4] < lrs[3]
    before = load_file(str(finished / "model.safetensors"))
    after = load_file(str(out / "model.safetensors"))
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_resuming_a_finished_run_without_more_changes_nothing(finished, tmp_path, capsys):
    out = shutil.copytree(finished, tmp_path / "r")
    before = _snapshot(out)
    assert main(["train", "--resume", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{out} is already finished: it trained all its 3 epochs; nothing to do (to train on: --epochs above 3)" in printed
    assert f"resuming {out}" not in printed and "accuracy" in printed  # its results, as they were
    assert _snapshot(out) == before


class _CtrlC(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, state):
        if state.epoch == self.at:
            raise KeyboardInterrupt


def test_an_extended_run_interrupted_resumes_on_its_restarted_schedule(finished, tmp_path):
    """The restart is in the checkpoint: Ctrl-C in the added epochs, then --resume, equals not stopping."""
    whole = shutil.copytree(finished, tmp_path / "whole")
    fit.train(resume=whole, set={"train.epochs": 6}, verbose=False)
    cut = shutil.copytree(finished, tmp_path / "cut")
    run = fit.train(resume=cut, set={"train.epochs": 6}, callbacks=[_CtrlC(5)], verbose=False)
    assert run.summary["interrupted"] and run.summary["epochs_run"] == 5
    fit.train(resume=cut, verbose=False)
    assert _rows(cut) == _rows(whole)
    a, b = load_file(str(whole / "model.safetensors")), load_file(str(cut / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_early_stopped_run_is_finished_unless_more_is_asked(tmp_path, capsys):
    # min_delta so large that only the first epoch counts as an improvement: patience 1 stops at epoch 2 (no
    # warm-up, whose epochs early stopping would not judge: tests/train/test_warmup.py)
    out = tmp_path / "es"
    fit.train(data="xo", epochs=6, out=out, set={**QUICK, "train.patience": 1, "train.min_delta": 1e9,
                                                 "train.warmup_epochs": 0}, verbose=False)
    before = _snapshot(out)
    assert main(["train", "--resume", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (f"{out} is already finished: early stopping stopped it at epoch 2 of 6 (best epoch 1); nothing to do "
            "(to train on: --epochs above 2, or a larger --set train.patience)") in printed
    assert f"resuming {out}" not in printed and _snapshot(out) == before
    # a larger patience trains on: counted afresh from epoch 2, so 2 more epochs without improvement stop it at 4
    assert main(["train", "--resume", str(out), "--set", "train.patience=2"]) == 0
    printed = capsys.readouterr().out
    assert (f"{out} was stopped early at epoch 2 (best epoch 1); training on to epoch 6: early stopping counts its "
            "patience (2) afresh and keeps epoch 1's weights") in printed
    assert "epochs: 4 (stopped early), best epoch 1" in printed
    lrs = _lrs(out)
    # a new cosine cycle over epochs 3-6 from train.lr (3e-3), no warm-up: each row the rate of its epoch's
    # last step, so a quarter and half of the cycle done but for one step
    assert len(lrs) == 4
    n = math.ceil(json.loads((out / "summary.json").read_text())["train_samples"] / 64)  # steps per epoch
    assert lrs[2:] == pytest.approx([3e-3 * 0.5 * (1 + math.cos(math.pi * (k * n - 1) / (4 * n))) for k in (1, 2)],
                                    rel=1e-4)


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_an_interrupted_run_resumed_with_more_epochs_replans_its_schedule(schedule, tmp_path, capsys):
    """Ctrl-C at epoch 2 of 6, then --resume --epochs 10: the schedule is planned over 10 epochs and continues from
    the step reached, so epochs 3-10 train at the learning rates of a 10-epoch run (a one-cycle once raised
    "Tried to step 121 times" past its old total, 6 epochs' steps)."""
    settings = {**QUICK, "train.schedule": schedule, "train.early_stopping": False}
    whole = tmp_path / "whole"
    fit.train(data="xo", epochs=10, lr=0.01, out=whole, set=settings, verbose=False)
    out = tmp_path / "cut"
    run = fit.train(data="xo", epochs=6, lr=0.01, out=out, set=settings, callbacks=[_CtrlC(2)], verbose=False)
    assert run.summary["interrupted"] and run.summary["epochs_run"] == 2
    assert run.summary["diagnosis"]["reasons"][0].startswith("you interrupted training after epoch 2 of 6")
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "10"]) == 0
    printed = capsys.readouterr().out
    assert (f"resuming {out} after epoch 2/10; its {schedule} schedule, planned over 6 epochs, is planned again "
            "over 10 and continues from the step it had reached") in printed
    lrs = _lrs(out)
    assert len(lrs) == 10 and lrs[2:] == pytest.approx(_lrs(whole)[2:], rel=1e-9)
    assert lrs[1] != pytest.approx(_lrs(whole)[1])  # epoch 2 ran on the 6-epoch plan


def test_the_onecycle_plan_keys_are_what_torch_saves():
    """keep_plan drops these keys of OneCycleLR's saved state: a torch that renames them fails here, not in a resume."""
    from idealfit.train.step import ONECYCLE_PLAN

    opt = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)
    assert set(ONECYCLE_PLAN) <= set(torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=4).state_dict())
