"""`idealfit tune`: the space checks, a tiny real study on digits, continuing it, pruning, workers, a killed worker."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import optuna
import pytest
import yaml

from idealfit.cli import main
from idealfit.errors import UserError
from idealfit.train.pruning import OptunaPruning
from idealfit.tune import run_trial, tune
from idealfit.tune_space import parse_space

# a few hundred weights on 60 digits, 2 epochs, one thread: seconds per trial on a busy 2-core machine
BASE = {"data": {"name": "digits", "train_subset": 60}, "model": {"name": "cnn", "widths": [4], "hidden": [8]},
        "train": {"epochs": 2, "threads": "1"}}
SPACE = {"train.lr": {"log_uniform": [1e-3, 1e-1]}, "model": {"dropout": {"uniform": [0.0, 0.5]}},
         "model.widths": {"choice": [[4], [4, 8]]}}


def _write(path, obj):
    path.write_text(yaml.safe_dump(obj))
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    d = tmp_path_factory.mktemp("tune")
    base, space = _write(d / "base.yaml", BASE), _write(d / "space.yaml", SPACE)
    lines = []
    res = tune(config_file=base, space_file=space, trials=3, sampler="random", pruner="none", seed=0,
               out=d / "study", say=lines.append)
    return res, base, space, lines


def test_space_sections_and_dotted_keys_draw_config_values():
    space = parse_space(SPACE)
    assert list(space) == ["train.lr", "model.dropout", "model.widths"]
    trial = optuna.trial.FixedTrial({"train.lr": 0.01, "model.dropout": 0.25, "model.widths": "[4, 8]"})
    assert {k: p.suggest(trial) for k, p in space.items()} == {"train.lr": 0.01, "model.dropout": 0.25,
                                                               "model.widths": [4, 8]}
    batch = parse_space({"train.batch_size": {"int": [32, 256], "log": True}})["train.batch_size"]
    assert (batch.kind, batch.low, batch.high, batch.log) == ("int", 32, 256, True)


def test_the_issues_space_file_loads_as_written(tmp_path):
    from idealfit.tune_space import load_space

    path = tmp_path / "space.yaml"  # YAML 1.1 reads 1e-4 (no dot) as text: still the number
    path.write_text("train.lr: {log_uniform: [1e-4, 1e-1]}\nmodel.dropout: {uniform: [0, 0.5]}\n"
                    "model.widths: {choice: [[16, 32], [32, 64]]}\ntrain.batch_size: {int: [32, 256], log: true}\n")
    space = load_space(path)
    assert (space["train.lr"].low, space["train.lr"].high) == (1e-4, 1e-1)
    assert space["model.widths"].choices == ([16, 32], [32, 64]) and space["train.batch_size"].log


@pytest.mark.parametrize(("space", "needles"), [
    ({"train.lrr": {"log_uniform": [1e-4, 1e-1]}}, ["unknown config key 'train.lrr'", "did you mean train.lr"]),
    ({"model": {"dropot": {"uniform": [0, 0.5]}}}, ["did you mean model.dropout"]),
    ({"model.dropout": {"uniform": [0, 1]}}, ["model.dropout", "can draw 1.0", "[0, 1)"]),
    ({"train.batch_size": {"int": [0, 64]}}, ["train.batch_size", "can draw 0"]),
    ({"train.batch_size": {"uniform": [16, 64]}}, ["whole number", "{int: [16, 64]}"]),
    ({"train.lr": {"log_unifrom": [1e-4, 1e-1]}}, ["did you mean log_uniform"]),
    ({"train.lr": {"log_uniform": [0, 1e-1]}}, ["low > 0"]),
    ({"train.optimizer": {"choice": ["adam", "sgdd"]}}, ["can draw 'sgdd'", "did you mean sgd"]),
])
def test_a_bad_space_fails_before_any_trial_with_one_line(tmp_path, cli_error, space, needles):
    base, path = _write(tmp_path / "base.yaml", BASE), _write(tmp_path / "space.yaml", space)
    cli_error(["tune", "--config", str(base), "--space", str(path), "--trials", "2", "--out", str(tmp_path / "s")],
              str(path), *needles)
    assert not (tmp_path / "s").exists()


def test_study_writes_trial_runs_trials_csv_best_yaml_and_report(study):
    res, _, _, lines = study
    rows = list(csv.DictReader((res.dir / "trials.csv").open()))
    assert [r["number"] for r in rows] == ["0", "1", "2"] and {r["state"] for r in rows} == {"complete"}
    assert len(lines) == 4 and all(line.startswith(f"trial {i}: val_loss ") for i, line in enumerate(lines[1:]))
    for r in rows:
        summary = json.loads((res.dir / r["run_dir"] / "summary.json").read_text())
        assert float(r["value"]) == pytest.approx(summary["metrics"]["val"]["loss"])  # the objective: final val_loss
        config = yaml.safe_load((res.dir / r["run_dir"] / "config.yaml").read_text())
        assert config["train"]["lr"] == pytest.approx(float(r["train.lr"]))
        assert config["model"]["widths"] == json.loads(r["model.widths"])
        assert (res.dir / r["run_dir"] / "report.html").is_file()
        assert int(r["epochs"]) == summary["epochs_run"] == 2  # filled without a pruner too
    best = min(rows, key=lambda r: float(r["value"]))
    assert res.best_value == pytest.approx(float(best["value"]))
    cfg = yaml.safe_load((res.dir / "best.yaml").read_text())
    assert cfg["train"]["lr"] == pytest.approx(float(best["train.lr"])) and cfg["out"] is None
    assert cfg["model"]["widths"] == json.loads(best["model.widths"]) and cfg["data"]["train_subset"] == 60
    html = (res.dir / "report.html").read_text()
    for heading in ("Optimization history", "Parameter importances", "Parallel coordinates", "Slice plots",
                    f"Best trial ({best['number']})"):
        assert heading in html
    assert html.count("<img") >= 4 and "Verdict:" in html
    assert html.count("data:image/svg+xml") >= 4 and "image/png" not in html  # the charts: tune_charts.py


def test_best_yaml_trains(study, tmp_path):
    res = study[0]
    assert main(["train", "--config", str(res.files["best"]), "--epochs", "1", "--out", str(tmp_path / "run"),
                 "--no-progress"]) == 0
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_best_yaml_reproduces_the_best_trial_on_a_table_with_its_defaults(tmp_path):
    """A table trial gets the table defaults (wide & deep MLP, batch 32, ...) from its data; best.yaml must not
    pin the generic ones instead (it spelled out every field, model.name=auto and batch 64 among them)."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    rows = "".join(f"{a:.4f},{b:.4f},{c:.4f},{'yes' if a + b * b > 0.5 else 'no'}\n" for a, b, c in x)
    (tmp_path / "t.csv").write_text("a,b,c,y\n" + rows)
    base = _write(tmp_path / "base.yaml", {"data": {"name": str(tmp_path / "t.csv"), "target": "y"},
                                            "train": {"epochs": 3, "threads": "1"}})
    space = _write(tmp_path / "space.yaml", {"train.lr": {"log_uniform": [1e-3, 1e-2]}})
    res = tune(config_file=base, space_file=space, trials=2, sampler="random", pruner="none", seed=0,
               out=tmp_path / "study", say=lambda *a: None)
    text = (res.dir / "best.yaml").read_text()
    given = yaml.safe_load(text)
    assert set(given) == {"data", "train", "out"} and "model" not in given  # only what the trial was given
    assert given["train"]["threads"] == "1" and given["data"]["target"] == "y"
    assert "every other field takes its default" in text
    best = min(csv.DictReader((res.dir / "trials.csv").open()), key=lambda r: float(r["value"]))
    assert main(["train", "--config", str(res.dir / "best.yaml"), "--out", str(tmp_path / "again"),
                 "--no-progress"]) == 0
    trial, again = (yaml.safe_load((d / "config.yaml").read_text()) for d in (res.dir / best["run_dir"], tmp_path / "again"))
    assert again["model"] == trial["model"] and again["model"]["name"] == "mlp" and again["model"]["wide"]
    assert {k: v for k, v in again["train"].items() if k not in ("progress", "checkpoint_every")} == \
        {k: v for k, v in trial["train"].items() if k not in ("progress", "checkpoint_every")}
    summary = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert summary["metrics"]["val"]["loss"] == pytest.approx(float(best["value"]), rel=1e-6)  # the trial, again


def test_the_same_command_again_continues_the_study(study, capsys):
    res, base, space, _ = study
    argv = ["tune", "--config", str(base), "--space", str(space), "--trials", "2", "--out", str(res.dir),
            "--sampler", "random", "--pruner", "none"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "5 trials in the study: 5 complete" in out and "train it: idealfit train --config" in out
    rows = list(csv.DictReader((res.dir / "trials.csv").open()))
    assert [r["number"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert len({r["run_dir"] for r in rows}) == 5


def test_idealfit_report_rebuilds_a_studys_report_and_trials_csv(study, tmp_path, capsys):
    """`idealfit report STUDY` said "not an idealfit run folder"; it rebuilds trials.csv (the same bytes as the tune
    command wrote) and report.html (the same study summary) from the journal and space.yaml."""
    import re
    import shutil

    copy = tmp_path / "study"
    shutil.copytree(study[0].dir, copy)
    csv_bytes, html = (copy / "trials.csv").read_bytes(), (copy / "report.html").read_text()
    (copy / "trials.csv").unlink()
    (copy / "report.html").unlink()
    assert main(["report", str(copy)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {copy / 'report.html'}"
    assert (copy / "trials.csv").read_bytes() == csv_bytes

    def lead(text):
        return re.search(r"<p>(\d+ trials: .*?)</p>", text).group(1)

    assert lead((copy / "report.html").read_text()) == lead(html) and "Best: trial" in lead(html)


def test_a_continued_study_keeps_its_space(study, cli_error):
    res, base, _, _ = study
    other = _write(res.dir.parent / "other.yaml", {"train.lr": {"log_uniform": [1e-4, 1e-2]}})
    cli_error(["tune", "--config", str(base), "--space", str(other), "--trials", "1", "--out", str(res.dir)],
              "another search space")


class _PruneAt:
    """A stand-in for optuna.trial.Trial whose pruner says stop after epoch `at`."""

    def __init__(self, at):
        self.at, self.reported = at, []

    def report(self, value, step):
        self.reported.append((step, value))

    def should_prune(self):
        return len(self.reported) >= self.at


def test_pruning_callback_stops_training_and_marks_a_finished_run(tmp_path):
    from idealfit.train.session import train

    trial = _PruneAt(2)
    overrides = {"data.train_subset": 60, "model.widths": [4], "model.hidden": [8], "train.epochs": 5,
                 "train.threads": "1", "train.progress": False, "out": str(tmp_path / "run")}
    run = train(overrides=overrides, callbacks=[OptunaPruning(trial, monitor="val_loss")], echo=lambda *a: None)
    assert [s for s, _ in trial.reported] == [1, 2]
    assert [v for _, v in trial.reported] == pytest.approx([r["val_loss"] for r in run.history])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["pruned"] == {"epoch": 2, "value": pytest.approx(run.history[-1]["val_loss"])}
    assert summary["epochs_run"] == 2
    for name in ("model.safetensors", "predictions.npz", "report.html", "metrics.csv"):
        assert (tmp_path / "run" / name).is_file()


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return True


@pytest.mark.parametrize("schedule, warmup, first", [("constant", 1.0, 1), ("cosine", 1.0, 2), ("cosine", 1.5, 3),
                                                    ("onecycle", 1.0, 3)])
def test_a_pruned_trial_is_pruned_in_the_study_with_a_finished_run_folder(tmp_path, schedule, warmup, first):
    """Pruned at the first epoch after the learning-rate warm-up (cosine's, onecycle's ramp; none for constant)."""
    space = parse_space({"train.lr": {"log_uniform": [1e-3, 1e-1]}})
    st = optuna.create_study(pruner=_AlwaysPrune())
    trial = st.ask()
    sets = {"data.train_subset": 60, "model.widths": [4], "model.hidden": [8], "train.epochs": 4, "train.threads": "1",
            "train.schedule": schedule, "train.warmup_epochs": warmup}
    state = run_trial(st, trial, space, study_dir=tmp_path, config_file=None, sets=sets, monitor="val_loss",
                      say=lambda *a: None)
    assert state == "pruned" and st.trials[0].state == optuna.trial.TrialState.PRUNED
    assert st.trials[0].intermediate_values.keys() == set(range(1, first + 1))  # the warm-up's epochs reported
    summary = json.loads((tmp_path / "trials" / "trial-0000" / "summary.json").read_text())
    assert summary["pruned"]["epoch"] == first and (tmp_path / "trials" / "trial-0000" / "report.html").is_file()
    assert st.trials[0].user_attrs["epochs"] == first


def test_a_configuration_a_complete_trial_trained_is_not_trained_again(tmp_path):
    space = parse_space({"model.widths": {"choice": [[4]]}})  # one point: the second trial draws it again
    st = optuna.create_study()
    sets = {"data.train_subset": 60, "model.hidden": [8], "train.epochs": 1, "train.threads": "1"}
    lines = []
    for _ in range(2):
        run_trial(st, st.ask(), space, study_dir=tmp_path, config_file=None, sets=sets, monitor="val_loss",
                  say=lines.append)
    first, second = st.trials
    assert second.state == optuna.trial.TrialState.COMPLETE and second.value == first.value
    assert second.user_attrs["duplicate_of"] == 0 and second.user_attrs["run_dir"] == first.user_attrs["run_dir"]
    assert not (tmp_path / "trials" / "trial-0001").exists() and "as trial 0 with the same configuration" in lines[1]
    run_trial(st, st.ask(), space, study_dir=tmp_path, config_file=None, sets={**sets, "train.lr": 0.01},
              monitor="val_loss", say=lines.append)  # another base config: trained
    assert "duplicate_of" not in st.trials[2].user_attrs and (tmp_path / "trials" / "trial-0002").is_dir()


def _states(study_dir):
    return [r["state"] for r in csv.DictReader((study_dir / "trials.csv").open())]


def test_two_workers_on_one_journal_finish_every_trial_once(tmp_path):
    base, space = _write(tmp_path / "base.yaml", BASE), _write(tmp_path / "space.yaml", SPACE)
    res = tune(config_file=base, space_file=space, trials=4, workers=2, pruner="none", seed=1,
               out=tmp_path / "study", say=lambda *a: None)
    trials = res.study.get_trials()
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert os.getpid() not in {t.user_attrs["pid"] for t in trials}  # trained in the worker processes
    assert len({t.user_attrs["run_dir"] for t in trials}) == 4


def test_two_tune_commands_at_once_on_one_folder_each_get_their_trials(tmp_path):
    """Two `idealfit tune --trials 2` on one study folder, the second started while the first runs: 4 finished
    trials (a study-wide target let them share 2 or 3), every trial tagged with the command that ran it."""
    base, space = _write(tmp_path / "base.yaml", BASE), _write(tmp_path / "space.yaml", SPACE)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "idealfit", "tune", "--config", str(base), "--space", str(space), "--trials", "2",
           "--pruner", "none", "--out", "study"]
    first = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300  # not a speed check: only so a broken test cannot hang CI
    while not (tmp_path / "study" / "locks").is_dir():
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    second = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0, (err, second.stderr)
    from idealfit.tune_storage import open_storage

    trials = optuna.load_study(study_name="base", storage=open_storage(tmp_path / "study", None)).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4, [t.state.name for t in trials]
    assert sorted(Counter(t.user_attrs["command"] for t in trials).values()) == [2, 2]


def test_a_worker_killed_mid_trial_loses_nothing(tmp_path):
    base = _write(tmp_path / "base.yaml", {**BASE, "train": {"epochs": 500, "threads": "1", "early_stopping": False}})
    space = _write(tmp_path / "space.yaml", SPACE)
    study_dir = tmp_path / "study"
    argv = [sys.executable, "-m", "idealfit", "tune", "--config", str(base), "--space", str(space), "--trials", "1",
            "--out", str(study_dir), "--pruner", "none"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = study_dir / "trials" / "trial-0000" / "metrics.csv"
    for _ in range(600):  # until the first epoch is written: the worker is mid-trial
        if metrics.exists() or proc.poll() is not None:
            break
        time.sleep(0.5)
    assert proc.poll() is None, "the worker ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    said = []
    res = tune(config_file=base, space_file=space, trials=1, pruner="none", sets={"train.epochs": 1},
               out=study_dir, say=said.append)
    trials = res.study.get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]  # failed, then retried; nothing left running
    assert trials[1].params == trials[0].params and trials[1].user_attrs["retry_of"] == 0
    assert not (study_dir / "trials" / "trial-0000").exists()  # the half-written run folder is gone
    assert _states(study_dir) == ["fail", "complete"]
    # the command says so (it was found before the workers started, silently), and trials.csv names no removed folder
    assert "trial 0: its worker died mid-trial; marked failed and queued again" in said, said
    rows = list(csv.DictReader((study_dir / "trials.csv").open()))
    assert [r["run_dir"] for r in rows] == ["", "trials/trial-0001"], rows


def test_bad_trials_workers_and_timeout_are_refused(tmp_path):
    space = _write(tmp_path / "space.yaml", SPACE)
    for kwargs in ({"trials": 0}, {"trials": 1, "workers": 0}, {"trials": 1, "timeout": -1}):
        with pytest.raises(UserError):
            tune(space_file=space, out=tmp_path / "s", **kwargs)
    assert not (tmp_path / "s").exists()


def test_grid_sampler_tries_every_choice_and_timeout_stops_new_trials(tmp_path):
    base = _write(tmp_path / "base.yaml", BASE)
    space = _write(tmp_path / "space.yaml", {"model.widths": {"choice": [[4], [6]]}})
    res = tune(config_file=base, space_file=space, trials=2, sampler="grid", pruner="none", out=tmp_path / "g",
               say=lambda *a: None)
    assert sorted(t.params["model.widths"] for t in res.study.trials) == ["[4]", "[6]"]
    res = tune(config_file=base, space_file=space, trials=5, sampler="grid", timeout=1e-9, out=tmp_path / "g",
               say=lambda *a: None)
    assert len(res.study.trials) == 2  # the deadline passed before a new trial could start
    ranges = _write(tmp_path / "ranges.yaml", {"train.lr": {"uniform": [0.001, 0.1]}})
    with pytest.raises(UserError, match="--sampler grid needs choice or int"):
        tune(config_file=base, space_file=ranges, trials=1, sampler="grid", out=tmp_path / "r")


def test_pruners_by_name():
    from idealfit.tune import make_pruner

    assert isinstance(make_pruner("median"), optuna.pruners.MedianPruner)
    assert isinstance(make_pruner("hyperband"), optuna.pruners.HyperbandPruner)
    assert isinstance(make_pruner("none"), optuna.pruners.NopPruner)


def test_storage_url_and_study_name_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    space = _write(tmp_path / "space.yaml", {"train.lr": {"log_uniform": [1e-3, 1e-1]}})
    url = f"sqlite:///{tmp_path / 'study.db'}"
    argv = ["tune", "--space", str(space), "--trials", "1", "--study", "mine", "--storage", url, "--data", "digits",
            "--epochs", "1", "--set", "data.train_subset=60", "--set", "model.widths=[4]", "--set", "train.threads=1"]
    assert main(argv) == 0
    assert "1 trials in the study: 1 complete" in capsys.readouterr().out
    study_dir = tmp_path / "runs" / "tune-mine"
    assert (study_dir / "best.yaml").is_file() and not (study_dir / "journal.log").exists()
    loaded = optuna.load_study(study_name="mine", storage=url)
    assert [t.state.name for t in loaded.trials] == ["COMPLETE"]
    assert yaml.safe_load((study_dir / "best.yaml").read_text())["train"]["epochs"] == 1


def test_fail_stale_judges_trials_by_their_workers_lock(tmp_path):
    import fcntl
    import socket

    from idealfit.tune import open_storage
    from idealfit.tune_stale import fail_stale

    (tmp_path / "locks").mkdir()
    st = optuna.create_study(storage=open_storage(tmp_path, None))
    claimed = st.ask({"train.lr": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)})  # claimer died
    alive = st.ask({"train.lr": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)})
    alive.set_user_attr("host", socket.gethostname())
    fd = os.open(tmp_path / "locks" / "trial-0001.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a live worker holds trial 1
    other = st.ask()
    other.set_user_attr("host", "another-machine")  # never judged from here
    try:
        assert fail_stale(st, tmp_path) == [0]
        assert fail_stale(st, tmp_path, journal=False) == []  # without the journal a host-less trial may be live
    finally:
        os.close(fd)
    states = [t.state.name for t in st.get_trials()]
    assert states == ["FAIL", "RUNNING", "RUNNING", "WAITING"]
    assert st.trials[3].user_attrs["retry_of"] == 0 and claimed.number == 0
    assert fail_stale(st, tmp_path) == [1]  # its lock is free now: its worker is gone


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # the test asks directly, as our workers do
def test_a_silent_trial_in_a_database_is_failed_by_its_heartbeat_and_retried(tmp_path):
    from idealfit.tune import open_storage
    from idealfit.tune_stale import Heartbeat, fail_stale

    storage = open_storage(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", heartbeat=(1, 1))
    st = optuna.create_study(storage=storage)
    beating, silent = st.ask({"x": optuna.distributions.FloatDistribution(0, 1)}), st.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    for t in (beating, silent):
        t.set_user_attr("host", "another-machine")  # no file lock to judge by: only the heartbeat counts
    storage.record_heartbeat(silent._trial_id)
    with Heartbeat(st, beating):
        time.sleep(3)  # the silent trial's last beat is now past its 1 s grace period; the other keeps beating
        assert fail_stale(st, tmp_path, journal=False) == [1]
    states = [t.state.name for t in st.get_trials()]
    assert states == ["RUNNING", "FAIL", "WAITING"] and st.trials[2].params == st.trials[1].params
    assert st.trials[2].user_attrs["retry_of"] == 1  # marked as a retry judged by its lock is


def test_sampler_seed_repeats_the_draws_and_the_monitor_sets_the_direction(tmp_path):
    from idealfit.tune import direction_of

    base, space = _write(tmp_path / "base.yaml", {**BASE, "train": {"epochs": 1, "threads": "1"}}), \
        _write(tmp_path / "space.yaml", SPACE)
    drawn = [tune(config_file=base, space_file=space, trials=1, sampler="random", seed=7, pruner="none",
                  out=tmp_path / name, say=lambda *a: None).study.trials[0].params for name in ("a", "b")]
    assert drawn[0] == drawn[1]
    # continuing a study with the same seed draws new points (it replayed the first ones), reproducibly
    more = [tune(config_file=base, space_file=space, trials=1, sampler="random", seed=7, pruner="none",
                 out=tmp_path / name, say=lambda *a: None).study.trials for name in ("a", "b")]
    assert more[0][1].params == more[1][1].params and more[0][1].params != drawn[0], more[0][1].params
    # TPE (the default) after 3 trials of seed 0: a seed of 0 + 3 drew lr 0.01264 beside trial 0's 0.01252
    two = _write(tmp_path / "two.yaml", {"train.lr": {"log_uniform": [1e-3, 1e-1]}, "model.dropout": {"uniform": [0, 0.5]}})
    tpe = [tune(config_file=base, space_file=two, trials=n, seed=0, pruner="none", out=tmp_path / "tpe",
                say=lambda *a: None) for n in (3, 1)][-1].study.trials
    lrs = [t.params["train.lr"] for t in tpe]
    assert len(lrs) == 4 and min(abs(math.log(lrs[3] / lr)) for lr in lrs[:3]) > 0.05, lrs
    assert [direction_of(m) for m in ("val_loss", "val_accuracy", "val_rmse", "val_dice")] == \
        ["minimize", "maximize", "minimize", "maximize"]
    with pytest.raises(UserError, match="no validation metric"):
        direction_of("train_loss")


def test_the_study_report_fits_a_1400_px_window(study, browser):
    """Only the trials table may scroll sideways (in its own box); the best trial's evidence table wraps."""
    res = study[0]
    page = browser((res.dir / "report.html").as_uri())
    wide = page.js("[...document.querySelectorAll('section')].filter(s => s.scrollWidth > s.clientWidth + 1)"
                   ".map(s => s.id)")
    assert wide == [] and page.errors == []
    assert page.js("document.querySelector('table.trials').parentElement.classList.contains('scroll')")


RACE = """
import sys, time
from pathlib import Path
from idealfit.tune import open_storage
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
open_storage(Path("."), "sqlite:///" + sys.argv[1])
print("ok")
"""


def test_workers_starting_together_on_a_new_sqlite_file_all_open_it(tmp_path):
    """Before, two `idealfit tune` started at once on a new SQLite file: one died with "UNIQUE constraint failed:
    alembic_version.version_num" or "table studies already exists" (8 of 12 processes in 3 races of 4)."""
    db, start = tmp_path / "new.db", time.time() + 6  # every process imported and waiting before the start
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(db), str(start)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [out.strip() for out, _ in results] == ["ok"] * 4, [err[-500:] for _, err in results]
    assert [p.returncode for p in procs] == [0] * 4


def test_a_trial_whose_worker_died_after_its_run_finished_is_told_its_result_not_retried(tmp_path):
    """kill -9 between the run folder's summary.json and Optuna's tell: the finished folder's value is recorded
    (before: the trial was failed and trained again, its complete folder left behind marked failed)."""
    from idealfit.tune import open_storage
    from idealfit.tune_stale import fail_stale

    (tmp_path / "locks").mkdir()
    st = optuna.create_study(storage=open_storage(tmp_path, None))
    dist = {"train.lr": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)}
    done, half, pruned = st.ask(dist), st.ask(dist), st.ask(dist)
    for t, summary in ((done, {"metrics": {"val": {"loss": 0.25}}, "epochs_run": 3}), (half, None),
                       (pruned, {"metrics": {"val": {"loss": 0.9}}, "pruned": {"epoch": 1}})):
        d = tmp_path / "trials" / f"trial-{t.number:04d}"
        d.mkdir(parents=True)
        (d / "config.yaml").write_text(yaml.safe_dump({"train": {"monitor": "val_loss"}}))
        if summary is not None:
            (d / "summary.json").write_text(json.dumps(summary))
    recovered = []
    assert fail_stale(st, tmp_path, recovered=recovered) == [1]  # only the unfinished one fails and is retried
    assert recovered == [0, 2]
    states = [(t.state.name, t.value) for t in st.get_trials()]
    assert states[:3] == [("COMPLETE", 0.25), ("FAIL", None), ("PRUNED", None)] and states[3][0] == "WAITING"
    assert (tmp_path / "trials" / "trial-0000").is_dir() and not (tmp_path / "trials" / "trial-0001").exists()
