"""Config mistakes a newcomer made (report 6, R16-R18): each is one line that names the problem and its fix."""

import pytest

from idealfit.config import resolve
from idealfit.errors import UserError


def test_a_list_type_error_shows_an_example_of_that_key(tmp_path, cli_error):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: {augment: flip}\n")
    line = cli_error(["train", "--config", str(cfg)], "data.augment must be a list, e.g. data.augment=[flip,crop]")
    assert "[32,64]" not in line  # the widths example, wrong for augmentations
    with pytest.raises(UserError, match=r"model\.widths=\[32,64\]"):
        resolve(overrides={"model.widths": "abc"})
    with pytest.raises(UserError, match=r"data\.clip_quantiles=\[0\.01,0\.99\]"):
        resolve(overrides={"data.clip_quantiles": "low"})


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "{}\n"])
def test_an_empty_config_file_is_said_not_silently_trained_on_defaults(tmp_path, capsys, text):
    from idealfit.config import RunConfig

    cfg = tmp_path / "t.yaml"
    cfg.write_text(text)
    assert resolve(config_file=cfg) == RunConfig()  # the defaults, as before (tests/test_config.py) ...
    err = capsys.readouterr().err  # ... but said, in one line
    assert err == f"note: config file {cfg} is empty, so every key keeps its default; give it the keys to " \
                  "change, e.g. `train: {lr: 0.01}`\n"


def test_a_typo_and_a_wrong_type_are_reported_together(tmp_path, cli_error):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model:\n  dropuot: 0.3\ntrain:\n  lr: fast\n")
    cli_error(["train", "--config", str(cfg)], "2 problems", "did you mean model.dropout?",
              "train.lr must be a number; got 'fast'")
    with pytest.raises(UserError) as one:  # a single problem reads as before, without a count
        resolve(overrides={"train.lr": "fast"})
    assert str(one.value) == "train.lr must be a number; got 'fast'"


@pytest.mark.parametrize("argv", [
    ["--optimizer", "adamw", "--set", "train.momentum=0.9"],  # the default value: as much a mistake as 0.5
    ["--optimizer", "adamw", "--set", "train.momentum=0.5"],
    ["--set", "train.momentum=0.9"],  # the default optimizer is adam
    ["--optimizer", "adam", "--set", "train.nesterov=false"],
])
def test_momentum_the_user_gave_a_non_sgd_optimizer_is_refused_whatever_its_value(tmp_path, cli_error, argv):
    cli_error(["train", *argv, "--epochs", "1", "--out", str(tmp_path / "r")], "works with train.optimizer=sgd")
    assert not (tmp_path / "r").exists()


def test_momentum_in_a_hand_written_yaml_is_refused_but_a_recorded_config_is_not(tmp_path, cli_error):
    from idealfit.config import to_yaml
    from idealfit.config_checks import check_run_options
    from idealfit.data.embedded import EMBEDDED
    from idealfit.tasks import get_task

    hand = tmp_path / "hand.yaml"
    hand.write_text("train:\n  optimizer: adamw\n  momentum: 0.9\n")
    cli_error(["train", "--config", str(hand), "--epochs", "1", "--out", str(tmp_path / "r")], "train.momentum")
    record = tmp_path / "record.yaml"  # every key, as a run writes config.yaml: its momentum is no choice
    record.write_text(to_yaml(resolve(overrides={"train.optimizer": "adamw"})))
    cfg = resolve(config_file=record)
    assert "train.momentum" in cfg.given and "train.momentum" in cfg.recorded
    check_run_options(cfg, EMBEDDED["xo"][0](), task=get_task("classification"))  # no error
    again = resolve(config_file=record, overrides={"train.momentum": "0.9"})  # said again on the command line
    assert "train.momentum" not in again.recorded
    with pytest.raises(UserError, match="train.momentum works with train.optimizer=sgd"):
        check_run_options(again, EMBEDDED["xo"][0](), task=get_task("classification"))
