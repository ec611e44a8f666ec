"""Two study folders on one shared --storage (a real SQLite file): another folder's study under the same name
is refused with one line, its trials untouched; the same space and data join it on purpose, as workers on
several machines do; a study of its own (--study NAME) lists only its own trials."""

import optuna
import yaml

from idealfit.cli import main
from idealfit.tune import tune

# as tests/test_tune.py: a few hundred weights on 60 digits, one epoch, one thread
SETS = ["--data", "digits", "--epochs", "1", "--set", "data.train_subset=60", "--set", "model.widths=[4]",
        "--set", "train.threads=1"]
SPACE = {"train.lr": {"log_uniform": [1e-3, 1e-1]}, "model.widths": {"choice": [[4], [4, 8]]}}  # a choice of lists
OTHER = {"model.dropout": {"uniform": [0.0, 0.5]}}


def _write(path, obj):
    path.write_text(yaml.safe_dump(obj))
    return path


def _tune(space, url, out, *extra):
    return ["tune", "--space", str(space), "--trials", "1", "--storage", url, "--out", str(out),
            "--sampler", "random", "--pruner", "none", *SETS, *extra]


def test_another_folders_study_in_a_shared_sqlite_file_is_refused_and_left_whole(tmp_path, cli_error):
    space, other = _write(tmp_path / "space.yaml", SPACE), _write(tmp_path / "other.yaml", OTHER)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    assert main(_tune(space, url, tmp_path / "a")) == 0  # study "default": no --config, no --study
    line = cli_error(_tune(other, url, tmp_path / "b"), "study 'default'", "search space",
                     "model.dropout, model.widths, train.lr", "--study NAME")
    assert len(line) < 300
    cli_error(_tune(space, url, tmp_path / "b", "--set", "data.train_subset=50"), "data section", "data.train_subset")
    cli_error(_tune(space, url, tmp_path / "b", "--set", "train.monitor=val_rmse"), "train.monitor")
    assert not (tmp_path / "b").exists()  # refused before the folder was made
    shared = optuna.load_study(study_name="default", storage=url)
    assert len(shared.trials) == 1 and shared.trials[0].params.keys() == {"train.lr", "model.widths"}

    # its own name: kept apart, in the same file
    assert main(_tune(other, url, tmp_path / "b", "--study", "b")) == 0
    mine = optuna.load_study(study_name="b", storage=url)
    assert [list(t.params) for t in mine.trials] == [["model.dropout"]]
    assert (tmp_path / "b" / "trials.csv").read_text().count("\n") == 2  # the header and its own trial
    assert len(optuna.load_study(study_name="default", storage=url).trials) == 1


def test_a_refusal_that_lost_the_race_removes_the_folder_it_made(tmp_path, cli_error, monkeypatch):
    """Two folders started together on one storage with other spaces: the second passed the check while the shared
    study had no trial, made its folder, and was refused once the first's trial existed. Here the first command
    runs, for real, between the second's folder claim and its trials; the second must leave nothing behind."""
    import idealfit.tune as tune_module

    space, other = _write(tmp_path / "space.yaml", SPACE), _write(tmp_path / "other.yaml", OTHER)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    claim, others = tune_module._claim_study_dir, []

    def claim_then_the_other_command_runs(*args, **kwargs):
        claim(*args, **kwargs)
        if not others:  # once: the other folder's command, whose own claim comes back here
            others.append("started")
            others.append(main(_tune(space, url, tmp_path / "a")))

    monkeypatch.setattr(tune_module, "_claim_study_dir", claim_then_the_other_command_runs)
    cli_error(_tune(other, url, tmp_path / "b"), "study 'default'", "search space")
    assert others == ["started", 0] and not (tmp_path / "b").exists()
    assert len(optuna.load_study(study_name="default", storage=url).trials) == 1  # the other's trial, untouched


def test_the_same_space_and_data_join_a_shared_study_from_another_folder(tmp_path):
    space = _write(tmp_path / "space.yaml", SPACE)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    sets = {"data.name": "digits", "train.epochs": 1, "data.train_subset": 60, "model.widths": [4],
            "train.threads": "1"}
    first = tune(space_file=space, trials=1, storage=url, out=tmp_path / "machine1", sampler="random",
                 pruner="none", sets=sets, say=lambda line: None)
    # another machine's folder; data.max_memory_mb is that machine's budget, not another data set
    second = tune(space_file=space, trials=1, storage=url, out=tmp_path / "machine2", sampler="random",
                  pruner="none", sets={**sets, "data.max_memory_mb": 512}, say=lambda line: None)
    assert len(second.study.trials) == 2 and second.study.trials[0].value == first.study.trials[0].value
    assert sorted(second.study.user_attrs) == ["idealfit_data", "idealfit_monitor", "idealfit_space"]


def test_a_study_made_before_its_identity_was_recorded_takes_the_first_folders(tmp_path, cli_error):
    """A study from an older idealfit (trials, no identity attrs) keeps working: the first folder to
    continue it records its own, the next folder with another space is refused."""
    space, other = _write(tmp_path / "space.yaml", SPACE), _write(tmp_path / "other.yaml", OTHER)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    old = optuna.create_study(study_name="default", storage=url)
    old.add_trial(optuna.trial.create_trial(params={"train.lr": 0.01}, value=1.0,
                                            distributions={"train.lr": optuna.distributions.FloatDistribution(
                                                1e-3, 1e-1, log=True)}))
    assert main(_tune(space, url, tmp_path / "a")) == 0
    assert len(optuna.load_study(study_name="default", storage=url).trials) == 2
    cli_error(_tune(other, url, tmp_path / "b"), "search space")
