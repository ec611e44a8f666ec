"""Never a lost run: atomic run folders, locks, divergence, Ctrl-C, restarts, file modes."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

import idealfit as fit
from idealfit.cli import main
from idealfit.config import RunConfig
from idealfit.data.batching import TensorBatches, batch_bounds
from idealfit.errors import UserError
from idealfit.tasks import TASKS
from idealfit.train.callbacks import Callback, FitState, NonFiniteGuard
from idealfit.train.rundir import RunLock, claim_run_dir
from idealfit.train.step import SupervisedStep

QUICK = {"train.progress": False}
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _cli(*args):
    return [sys.executable, "-m", "idealfit.cli", *args]


def _wait_for(path, proc, timeout=120):
    deadline = time.time() + timeout
    while not path.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert path.exists(), f"{path} never appeared"


def test_two_runs_in_the_same_second_get_two_folders(tmp_path):
    cfg = RunConfig()
    a, created_a = claim_run_dir(cfg, root=tmp_path)
    b, created_b = claim_run_dir(cfg, root=tmp_path)  # same data, model and second
    assert a != b and created_a and created_b and a.is_dir() and b.is_dir()
    assert b.name == a.name + "-2"


def test_a_locked_run_folder_refuses_a_second_writer(tmp_path):
    first = RunLock(tmp_path)
    try:
        with pytest.raises(UserError, match=f"being written by another idealfit run \\(process {os.getpid()}\\)"):
            RunLock(tmp_path)
    finally:
        first.release()
    RunLock(tmp_path).release()  # free again once released


def test_same_out_twice_one_run_is_refused_and_the_other_is_intact(tmp_path):
    out = tmp_path / "shared"
    a = subprocess.Popen(_cli("train", "--data", "digits", "--epochs", "4", "--seed", "1", "--out", str(out),
                              "--no-progress"), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(out / "config.yaml", a)
    b = subprocess.run(_cli("train", "--data", "digits", "--epochs", "1", "--seed", "2", "--out", str(out),
                            "--no-progress"), env=ENV, capture_output=True, text=True)
    assert a.wait() == 0
    assert b.returncode == 2
    assert len(b.stderr.strip().splitlines()) == 1
    assert "being written by another idealfit run" in b.stderr or "already holds files" in b.stderr
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["train"]["seed"] == 1 and cfg["train"]["epochs"] == 4
    assert json.loads((out / "summary.json").read_text())["epochs_run"] >= 1


def test_a_bad_input_after_setup_leaves_no_folder(tmp_path, cli_error):
    (tmp_path / "afile").write_text("x")
    cli_error(["train", "--data", "xo", "--epochs", "1", "--out", str(tmp_path / "afile" / "run")],
              "afile is a file, not a folder")
    cli_error(["train", "--data", "xo", "--epochs", "1", "--out", str(tmp_path / "afile")], "is not a folder")
    three = tmp_path / "three.csv"
    three.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n")
    cli_error(["train", "--data", str(three), "--target", "y", "--out", str(tmp_path / "r")], "1 to train on")
    assert not (tmp_path / "r").exists()


def test_a_failure_before_the_first_epoch_removes_the_new_folder(tmp_path):
    class Boom(Callback):
        def on_fit_start(self, state):
            raise RuntimeError("boom")

    out = tmp_path / "r"
    with pytest.raises(RuntimeError, match="boom"):
        fit.train(data="xo", epochs=1, out=out, set=QUICK, verbose=False, callbacks=[Boom()])
    assert not out.exists()
    out.mkdir()  # an existing empty --out stays, emptied
    with pytest.raises(RuntimeError, match="boom"):
        fit.train(data="xo", epochs=1, out=out, set=QUICK, verbose=False, callbacks=[Boom()])
    assert out.is_dir() and not any(out.iterdir())


def test_a_last_batch_of_one_joins_the_previous_batch():
    assert batch_bounds(129, 64) == [(0, 64), (64, 129)]
    assert batch_bounds(130, 64) == [(0, 64), (64, 128), (128, 130)]
    assert batch_bounds(1, 64) == [(0, 1)]
    for shuffle in (True, False):
        b = TensorBatches(torch.arange(65.0)[:, None], torch.arange(65), batch_size=32, shuffle=shuffle,
                          generator=torch.Generator().manual_seed(0))
        sizes = [len(y) for _, y in b]
        assert sizes == [32, 33] and len(b) == 2
        assert sorted(torch.cat([y for _, y in b]).tolist()) == list(range(65))


def test_batchnorm_trains_when_the_train_split_leaves_one_sample_over(tmp_path):
    # xo: 600 samples -> 420 train; batch 419 leaves one over, which BatchNorm1d cannot train on alone
    run = fit.train(data="xo", model="mlp", epochs=1, batch_size=419, out=tmp_path / "r", set=QUICK, verbose=False)
    assert run.summary["train_samples"] == 420 and run.summary["epochs_run"] == 1


@pytest.mark.parametrize("early", [True, False])
def test_a_diverging_run_stops_at_once_and_keeps_finite_weights(tmp_path, early):
    out = tmp_path / "r"
    run = fit.train(data="diabetes", optimizer="sgd", lr=5.0, epochs=10, out=out, verbose=False,
                    set={**QUICK, "train.early_stopping": early, "model.batchnorm": False})
    d = run.summary["diverged"]
    assert d is not None and d["epoch"] == len(run.history) < 10
    assert not math.isfinite(run.history[-1]["train_loss"]) or not math.isfinite(run.history[-1]["val_loss"])
    assert d["kept_epoch"] == run.summary["best_epoch"] < d["epoch"]
    for name, w in load_file(str(out / "model.safetensors")).items():
        assert torch.isfinite(w).all(), name
    text = (out / "summary.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    summary = json.loads(text)  # strict JSON
    assert all(math.isfinite(v) for v in summary["metrics"]["test"].values())
    assert (out / "report.html").is_file()


def test_divergence_is_explained_on_the_command_line(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--data", "diabetes", "--optimizer", "sgd", "--lr", "5", "--epochs", "10",
                 "--set", "model.batchnorm=false", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "(diverged)" in printed
    assert "training stopped" in printed and "try a lower train.lr (now 5)" in printed


def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_it_again(tmp_path):
    out = tmp_path / "r"
    first = fit.train(data="xo", epochs=2, out=out, set=QUICK, verbose=False)
    for name in os.listdir(out):  # as a kill just after the start files were written leaves it
        if name not in ("config.yaml", "split.npz", "preprocess.json", "model.txt"):
            os.remove(out / name)
    again = fit.train(resume=out, set=QUICK, verbose=False)
    assert again.summary["epochs_run"] == 2
    a, b = first.model.state_dict(), again.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    only_lock = tmp_path / "empty"
    only_lock.mkdir()
    (only_lock / ".lock").write_text("")
    with pytest.raises(UserError, match="stopped before writing its config.*--out"):
        fit.train(resume=only_lock, verbose=False)
    run = fit.train(data="xo", epochs=1, out=only_lock, set=QUICK, verbose=False)  # --out takes it
    assert run.summary["epochs_run"] == 1


def test_resume_with_more_epochs_records_them(tmp_path):
    out = tmp_path / "r"
    fit.train(data="xo", epochs=1, out=out, set=QUICK, verbose=False)
    fit.train(resume=out, epochs=2, set=QUICK, verbose=False)
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["epochs"] == 2


def test_ctrl_c_keeps_the_run_and_says_how_to_resume(tmp_path):
    out = tmp_path / "r"
    p = subprocess.Popen(_cli("train", "--data", "digits", "--epochs", "200", "--set", "train.early_stopping=false",
                              "--out", str(out), "--no-progress"), env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    _wait_for(out / "checkpoint.pt", p)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, stderr
    assert f"idealfit train --resume {out}" in stderr
    assert "(interrupted)" in stdout
    assert (out / "model.safetensors").is_file() and (out / "report.html").is_file()


def test_run_files_respect_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        fit.train(data="xo", epochs=1, out=tmp_path / "r", set=QUICK, verbose=False)
    finally:
        os.umask(old)
    for name in ("config.yaml", "summary.json", "model.safetensors", "split.npz", "predictions.npz", "checkpoint.pt"):
        assert (tmp_path / "r" / name).stat().st_mode & 0o777 == 0o640, name


def test_run_files_replace_planted_symlinks_instead_of_writing_through_them(tmp_path):
    out = tmp_path / "r"
    fit.train(data="xo", epochs=1, out=out, set=QUICK, verbose=False)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for name in ("predictions.npz", "summary.json", "metrics.csv"):
        (out / name).unlink()
        (out / name).symlink_to(victim)
    fit.train(resume=out, epochs=2, set=QUICK, verbose=False)
    assert victim.read_text() == "precious"
    with np.load(out / "predictions.npz") as f:
        assert len(f["y_true"]) > 0
    assert not (out / "predictions.npz").is_symlink()


def test_resume_with_a_checkpoint_of_another_model_is_one_line(tmp_path, cli_error):
    a, b = tmp_path / "a", tmp_path / "b"
    fit.train(data="xo", epochs=1, out=a, set=QUICK, verbose=False)
    fit.train(data="xo", epochs=1, out=b, set={**QUICK, "model.widths": [4]}, verbose=False)
    (a / "checkpoint.pt").write_bytes((b / "checkpoint.pt").read_bytes())
    cli_error(["train", "--resume", str(a), "--epochs", "2"], "checkpoint.pt is damaged",
              "do not fit this run's model", "start the run again")


def test_resume_with_no_more_epochs_than_trained_is_refused(tmp_path, cli_error):
    out = tmp_path / "r"
    fit.train(data="xo", epochs=2, out=out, set=QUICK, verbose=False)
    before = (out / "config.yaml").read_bytes()
    cli_error(["train", "--resume", str(out), "--epochs", "2"], "has already trained 2 epochs", "above 2")
    assert (out / "config.yaml").read_bytes() == before


def test_an_exploding_but_finite_loss_is_divergence():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    state = FitState(SupervisedStep(model, {"main": opt}, {}, task=TASKS["classification"]), epochs=5)
    guard = NonFiniteGuard(early=None)
    guard.on_fit_start(state)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for epoch, loss in ((1, 0.9), (2, 3e18)):
        if epoch == 2:
            with torch.no_grad():
                model.weight.mul_(1e9)
        state.epoch = epoch
        state.history.append({"epoch": epoch, "train_loss": loss, "val_loss": 1.0})
        guard.on_epoch_end(state)
        if epoch == 1:
            before = {k: v.clone() for k, v in model.state_dict().items()}
    guard.on_fit_end(state)
    assert state.stop and guard.diverged == {"epoch": 2, "column": "train_loss", "value": "3e+18 (exploded)",
                                             "kept_epoch": 1}
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_ctrl_c_without_early_stopping_keeps_the_last_completed_epoch(tmp_path, monkeypatch):
    from idealfit.data.batching import TensorBatches as TB

    original, calls = TB.__iter__, {"n": 0}

    def interrupted_iter(self):  # Ctrl-C one batch into epoch 3 (fault injection into the real loop)
        for batch in original(self):
            if self.shuffle:
                calls["n"] += 1
                if calls["n"] > 2 * len(self) + 1:
                    raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr(TB, "__iter__", interrupted_iter)
    out = tmp_path / "r"
    run = fit.train(data="xo", epochs=5, out=out, verbose=False, set={**QUICK, "train.early_stopping": False})
    assert run.summary["interrupted"] and run.summary["epochs_run"] == 2
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)  # epoch 2's weights, as metrics.csv row 2
    saved = load_file(str(out / "model.safetensors"))
    assert ckpt["epoch"] == 2 and all(torch.equal(saved[k], ckpt["model"][k]) for k in saved)


def test_a_gan_whose_discriminator_loss_turns_nan_stops_and_keeps_the_last_good_weights():
    from idealfit.train.callbacks import divergence_message

    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    state = FitState(SupervisedStep(model, {"main": opt}, {}, task=TASKS["regression"]), epochs=5)
    guard = NonFiniteGuard(early=None)
    guard.on_fit_start(state)
    for epoch, d_loss in ((1, 0.6), (2, float("nan"))):
        if epoch == 2:
            with torch.no_grad():
                model.weight.fill_(float("nan"))
        else:
            kept = {k: v.clone() for k, v in model.state_dict().items()}
        state.epoch = epoch
        state.history.append({"epoch": epoch, "train_loss": 0.2, "val_loss": 0.2, "train_d_loss": d_loss,
                              "train_g_adv": 1.0})
        guard.on_epoch_end(state)
    guard.on_fit_end(state)
    assert state.stop and guard.diverged["column"] == "train_d_loss" and guard.diverged["kept_epoch"] == 1
    assert all(torch.equal(kept[k], v) for k, v in model.state_dict().items())
    assert "the discriminator's loss became nan at epoch 2" in divergence_message(guard.diverged, lr=2e-4)
