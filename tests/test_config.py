"""Config: defaults, YAML files, `--set` overrides with type checks, impossible values, and the CLI's one-line errors."""

import dataclasses
import re

import pytest
import yaml

from idealfit.config import (
    RunConfig,
    all_keys,
    from_dict,
    load_yaml,
    resolve,
    set_key,
    to_yaml,
)
from idealfit.config_validate import validate
from idealfit.errors import UserError


def write(path, text):
    path.write_text(text)
    return path


# --- defaults -------------------------------------------------------------------------------------


def test_defaults_are_the_documented_ones_and_valid():
    cfg = resolve()
    assert cfg == RunConfig()
    assert (cfg.data.name, cfg.model.name) == ("digits", "auto")
    assert cfg.model.widths == [32, 64] and cfg.model.hidden == [128]
    assert (cfg.train.epochs, cfg.train.batch_size, cfg.train.lr) == (30, 64, 3e-3)
    assert (cfg.train.optimizer, cfg.train.schedule, cfg.train.seed) == ("adam", "cosine", 0)
    assert cfg.data.target is None and cfg.train.clip_grad is None and cfg.out is None
    assert validate(RunConfig()) == RunConfig()


def test_default_lists_are_not_shared_between_configs():
    a, b = RunConfig(), RunConfig()
    a.model.widths.append(128)
    assert b.model.widths == [32, 64]


def test_all_keys_names_every_field_once():
    keys = all_keys()
    assert len(keys) == len(set(keys))
    assert {"train.lr", "model.widths", "data.target", "out"} <= set(keys)
    n_fields = sum(len(dataclasses.fields(c)) for c in (RunConfig().data, RunConfig().model, RunConfig().train))
    assert len(keys) == n_fields + 1


# --- YAML files -----------------------------------------------------------------------------------


def test_yaml_file_sets_fields_in_every_section(tmp_path):
    path = write(tmp_path / "run.yaml", """
data:
  name: xo
  val_fraction: 0.2
model:
  name: mlp
  hidden: [16, 8]
  dropout: 0.25
  batchnorm: false
train:
  lr: 0.01
  epochs: 3
  clip_grad: 1
out: somewhere
""")
    cfg = resolve(config_file=path)
    assert cfg.data.name == "xo" and cfg.data.val_fraction == 0.2
    assert cfg.model.name == "mlp" and cfg.model.hidden == [16, 8]
    assert cfg.model.dropout == 0.25 and cfg.model.batchnorm is False
    assert cfg.train.lr == 0.01 and cfg.train.epochs == 3
    assert cfg.train.clip_grad == 1.0 and isinstance(cfg.train.clip_grad, float)
    assert cfg.out == "somewhere"
    assert cfg.train.batch_size == 64  # untouched fields keep their defaults


def test_yaml_flattens_to_dotted_keys(tmp_path):
    path = write(tmp_path / "run.yaml", "train:\n  lr: 0.5\nmodel: {widths: [8]}\n")
    assert load_yaml(path) == {"train.lr": 0.5, "model.widths": [8]}


def test_empty_yaml_file_means_defaults(tmp_path):
    assert resolve(config_file=write(tmp_path / "empty.yaml", "")) == RunConfig()


def test_overrides_win_over_the_yaml_file(tmp_path):
    path = write(tmp_path / "run.yaml", "train:\n  lr: 0.01\n  epochs: 3\n")
    cfg = resolve(config_file=path, overrides={"train.lr": "0.2"})
    assert cfg.train.lr == 0.2 and cfg.train.epochs == 3


def test_scientific_notation_without_a_dot_is_a_number(tmp_path):
    # YAML 1.1 reads "1e-3" as text; a learning rate written like this must still work.
    assert resolve(overrides={"train.lr": "1e-3"}).train.lr == 1e-3
    assert resolve(config_file=write(tmp_path / "r.yaml", "train:\n  lr: 5e-4\n")).train.lr == 5e-4


@pytest.mark.parametrize(
    "text, needle",
    [
        ("train:\n  lr: [0.1\n", "not valid YAML"),
        ("- 1\n- 2\n", "must hold a mapping"),
        ("just a string\n", "must hold a mapping"),
    ],
)
def test_bad_yaml_files(tmp_path, text, needle):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(UserError, match=needle) as info:
        resolve(config_file=path)
    assert str(path) in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path / "bad.yaml", "data:\n  name: xo\ntrain:\n  lr: [0.1\n")
    with pytest.raises(UserError, match="line"):
        resolve(config_file=path)


def test_missing_config_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        resolve(config_file=tmp_path / "nope.yaml")


def test_misspelt_section_in_yaml_suggests_the_field(tmp_path):
    path = write(tmp_path / "run.yaml", "modle:\n  dropout: 0.3\n")
    with pytest.raises(UserError, match=r"unknown config key 'modle.dropout'; did you mean model.dropout\?"):
        resolve(config_file=path)


def test_section_that_is_not_a_mapping(tmp_path):
    with pytest.raises(UserError, match="config section 'train' must be a mapping"):
        resolve(config_file=write(tmp_path / "run.yaml", "train: 3\n"))


# --- --set overrides and type coercion ------------------------------------------------------------


@pytest.mark.parametrize(
    "key, text, expected",
    [
        ("train.lr", "0.01", 0.01),
        ("train.lr", "1", 1.0),
        ("train.epochs", "7", 7),
        ("train.epochs", "7.0", 7),
        ("train.seed", "3", 3),  # negative seeds are refused: test_out_of_range_numbers_are_refused
        ("train.batch_size", "1e3", 1000),
        ("train.nesterov", "true", True),
        ("model.batchnorm", "false", False),
        ("model.batchnorm", "no", False),
        ("model.name", "mlp", "mlp"),
        ("data.name", "123", "123"),  # text fields stay text, even when they look like numbers
        ("model.widths", "[16,32]", [16, 32]),
        ("model.widths", "[16, 32, 64]", [16, 32, 64]),
        ("model.widths", "16", [16]),
        ("model.hidden", "[]", []),
        ("train.clip_grad", "0.5", 0.5),
        ("train.clip_grad", "none", None),
        ("train.clip_grad", "null", None),
        ("data.target", "price", "price"),
        ("data.target", "None", None),
        ("data.image_size", "~", None),
        ("data.image_size", "32", 32),
        ("out", "runs/mine", "runs/mine"),
    ],
)
def test_set_coerces_command_line_strings(key, text, expected):
    cfg = resolve(overrides={key: text})
    section, _, name = key.partition(".")
    value = getattr(getattr(cfg, section), name) if name else getattr(cfg, section)
    assert value == expected
    assert type(value) is type(expected)


def test_set_accepts_python_values_too():
    cfg = resolve(overrides={"train.lr": 0.05, "model.widths": [4, 8], "train.clip_grad": None, "train.epochs": 2})
    assert (cfg.train.lr, cfg.model.widths, cfg.train.clip_grad, cfg.train.epochs) == (0.05, [4, 8], None, 2)


@pytest.mark.parametrize(
    "key, did_you_mean",
    [
        ("train.lrr", "train.lr"),
        ("zzz", None),
        ("lr", "train.lr"),
        ("model.widht", "model.widths"),
        ("modle.dropout", "model.dropout"),
        ("data.targte", "data.target"),
        ("outt", "out"),
    ],
)
def test_unknown_key_suggests_the_nearest(key, did_you_mean):
    with pytest.raises(UserError) as info:
        resolve(overrides={key: "1"})
    msg = str(info.value)
    assert msg.startswith(f"unknown config key '{key}'")
    if did_you_mean:
        assert msg.endswith(f"did you mean {did_you_mean}?")
    else:  # nothing close: list the valid keys instead
        assert "train.lr" in msg


@pytest.mark.parametrize(
    "key, text, needle",
    [
        ("train.epochs", "abc", "train.epochs must be a whole number"),
        ("train.epochs", "2.5", "train.epochs must be a whole number"),
        ("train.epochs", "true", "train.epochs must be a whole number"),
        ("train.lr", "fast", "train.lr must be a number"),
        ("train.lr", "nan", "train.lr must be a number"),
        ("train.lr", "[0.1]", "train.lr must be a number"),
        ("model.batchnorm", "maybe", "model.batchnorm must be true or false"),
        ("model.batchnorm", "1", "model.batchnorm must be true or false"),
        ("model.widths", "abc", "model.widths must be a list"),
        ("model.widths", "[16, x]", "model.widths[1] must be a whole number"),
        ("model.name", "[1, 2]", None),  # text field: stays the text '[1, 2]', rejected as a choice below
    ],
)
def test_wrong_type_names_the_field(key, text, needle):
    with pytest.raises(UserError) as info:
        resolve(overrides={key: text})
    assert key.split("[")[0] in str(info.value)
    if needle:
        assert needle in str(info.value)


@pytest.mark.parametrize(
    "key, value, needle",
    [
        ("train.lr", "-0.1", "train.lr must be > 0"),
        ("train.lr", "0", "train.lr must be > 0"),
        ("train.epochs", "0", "train.epochs must be > 0"),
        ("train.epochs", "-5", "train.epochs must be > 0"),
        ("train.batch_size", "0", "train.batch_size must be > 0"),
        ("train.patience", "0", "train.patience must be > 0"),
        ("train.momentum", "-0.5", "train.momentum must be >= 0"),
        ("train.weight_decay", "-1e-4", "train.weight_decay must be >= 0"),
        ("train.clip_grad", "0", "train.clip_grad must be > 0"),
        ("model.dropout", "1.0", "model.dropout must be in [0, 1)"),
        ("model.dropout", "-0.1", "model.dropout must be in [0, 1)"),
        ("model.kernel_size", "4", "model.kernel_size must be an odd number"),
        ("model.kernel_size", "0", "model.kernel_size must be an odd number"),
        ("model.widths", "[16, 0]", "model.widths[1] must be > 0"),
        ("model.widths", "[]", "model.widths must name at least one conv block"),
        ("model.name", "transformer", "model.name must be one of mlp, cnn, rnn, unet"),  # rnn is a family now (issue 11)
        ("model.activation", "rellu", "did you mean relu?"),
        ("model.pool", "mean", "model.pool must be one of max, avg, none"),
        ("train.optimizer", "adamm", "did you mean adam?"),
        ("train.schedule", "cosin", "did you mean cosine?"),
        ("data.task", "regresion", "did you mean regression?"),
        ("data.val_fraction", "0.5", "data.val_fraction must be between 0 and 0.5"),
        ("data.test_fraction", "0", "data.test_fraction must be between 0 and 0.5"),
        ("data.channels", "2", "data.channels must be 1 or 3"),
        ("data.image_size", "0", "data.image_size must be > 0"),
        ("data.max_memory_mb", "-1", "data.max_memory_mb must be >= 0"),
        ("train.device", "gpu", "train.device must be auto, cpu, cuda, cuda:N or mps"),
    ],
)
def test_impossible_values(key, value, needle):
    with pytest.raises(UserError) as info:
        resolve(overrides={key: value})
    assert needle in str(info.value)


def test_possible_edge_values_pass():
    cfg = resolve(overrides={"model.dropout": "0.0", "model.kernel_size": "1", "train.momentum": "0",
                             "train.device": "cuda:1", "model.name": "mlp", "model.widths": "[]"})
    assert cfg.model.kernel_size == 1 and cfg.train.device == "cuda:1" and cfg.model.widths == []


def test_set_key_does_not_validate_but_resolve_does():
    cfg = RunConfig()
    set_key(cfg, "train.lr", "-1")  # one key at a time; the whole config is validated once at the end
    assert cfg.train.lr == -1.0
    with pytest.raises(UserError, match="train.lr"):
        validate(cfg)


# --- round trip -----------------------------------------------------------------------------------


def test_from_dict_of_to_dict_round_trips():
    cfg = resolve(overrides={"data.name": "xo", "model.widths": "[8,16]", "train.clip_grad": "2.5",
                             "data.target": "label", "out": "runs/x", "train.lr": "1e-4"})
    assert from_dict(cfg.to_dict()) == cfg
    assert from_dict(RunConfig().to_dict()) == RunConfig()


def test_to_yaml_round_trips_through_a_file(tmp_path):
    cfg = resolve(overrides={"model.hidden": "[64, 32]", "train.nesterov": "true", "train.lr": "3e-5"})
    path = write(tmp_path / "config.yaml", to_yaml(cfg))
    assert from_dict(yaml.safe_load(path.read_text())) == cfg
    assert resolve(config_file=path) == cfg


def test_resolve_from_base_does_not_alias_it():
    base = resolve(overrides={"model.widths": "[8]"})
    cfg = resolve(base=base, overrides={"train.epochs": "2"})
    cfg.model.widths.append(16)
    assert base.model.widths == [8] and base.train.epochs == 30


# --- through the real CLI: one line on stderr, exit 2, no run folder --------------------------------


@pytest.mark.parametrize(
    "extra, needles",
    [
        (["--set", "train.lrr=0.1"], ["unknown config key 'train.lrr'", "did you mean train.lr?"]),
        (["--set", "lr=0.1"], ["did you mean train.lr?"]),
        (["--set", "train.epochs=abc"], ["train.epochs must be a whole number"]),
        (["--set", "model.widths=[16,x]"], ["model.widths[1]"]),
        (["--lr", "-0.1"], ["train.lr must be > 0"]),
        (["--epochs", "0"], ["train.epochs must be > 0"]),
        (["--set", "model.dropout=1.0"], ["model.dropout"]),
        (["--set", "model.kernel_size=4"], ["model.kernel_size"]),
        (["--optimizer", "adamm"], ["did you mean adam?"]),
        (["--set", "train.lr"], ["--set takes section.key=value"]),
        (["--set", "=3"], ["--set takes section.key=value"]),
    ],
)
def test_cli_rejects_bad_settings_before_any_work(cli_error, capsys, tmp_path, extra, needles):
    out = tmp_path / "run"
    cli_error(["train", "--data", "xo", "--out", str(out), "--no-progress", *extra], *needles)
    assert not out.exists()
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "text, needle",
    [
        ("train:\n  lr: [0.1\n", "not valid YAML"),
        ("- 1\n", "must hold a mapping"),
        ("train:\n  lrr: 0.1\n", "did you mean train.lr?"),
        ("model:\n  dropout: 1.0\n", "model.dropout"),
    ],
)
def test_cli_rejects_bad_config_files(cli_error, tmp_path, text, needle):
    out = tmp_path / "run"
    path = write(tmp_path / "run.yaml", text)
    cli_error(["train", "--config", str(path), "--out", str(out), "--no-progress"], needle)
    assert not out.exists()


def test_cli_missing_config_file(cli_error, tmp_path):
    out = tmp_path / "run"
    cli_error(["train", "--config", str(tmp_path / "nope.yaml"), "--out", str(out)], "nope.yaml")
    assert not out.exists()


@pytest.mark.parametrize(
    "key, text, needle",
    [
        ("train.lr", "inf", "train.lr must be a finite number"),
        ("train.lr", "-.inf", "finite"),
        ("train.lr", "1.0e+400", "finite"),  # YAML reads it as inf
        ("train.weight_decay", ".nan", "train.weight_decay must be a number"),
        ("train.seed", "-1", "train.seed must be a whole number from 0 to"),
        ("train.seed", "4294967296", "too large"),
        ("train.batch_size", "1e30", "train.batch_size=1000000000000000019884624838656 is too large"),
        ("train.epochs", str(10**40), "is too large"),
    ],
)
def test_out_of_range_numbers_are_refused(key, text, needle):
    with pytest.raises(UserError, match=re.escape(needle)):
        resolve(overrides={key: text})


def test_invalid_yaml_in_set_is_one_user_error():
    with pytest.raises(UserError, match=r"model.widths='\[16,' is not a valid value .* fix the brackets"):
        resolve(overrides={"model.widths": "[16,"})


def test_yaml_alias_bomb_is_refused_quickly_and_briefly(tmp_path):
    # the "billion laughs": 9 levels of 9 aliases would expand to 9**9 strings
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError) as err:
        resolve(config_file=bomb)
    msg = str(err.value)
    assert "aliases" in msg and "line 2" in msg and len(msg) < 300
    with pytest.raises(UserError, match="aliases"):
        resolve(overrides={"model.widths": "&w [8, *w]"})


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda p: p.mkdir(), "is a folder; pass the path of a YAML file inside it"),
        (lambda p: p.write_bytes("train:\n  lr: 0.01 # caf\xe9\n".encode("latin-1")), "is not UTF-8 text"),
        (lambda p: p.write_bytes(b"train: {lr: 0.1}\n" + b"#" * (1 << 20)), "over 1 MiB"),
        (lambda p: p.write_text("train: {lr: [0.1\n"), "is not valid YAML"),
    ],
)
def test_bad_config_files_are_one_user_error(tmp_path, make, needle):
    path = tmp_path / "run.yaml"
    make(path)
    with pytest.raises(UserError, match=re.escape(needle)) as err:
        resolve(config_file=path)
    assert "\n" not in str(err.value)


def test_error_lines_show_at_most_a_short_value():
    with pytest.raises(UserError) as err:
        resolve(overrides={"train.lr": "x" * 100_000})
    assert len(str(err.value)) < 200


def test_yaml_duplicate_key_is_refused_naming_key_and_lines(tmp_path):
    # PyYAML keeps the last of two equal keys; the newcomer's `window: 28` then `window: 14` trained silently
    cfg = tmp_path / "dup.yaml"
    cfg.write_text("data:\n  name: digits\n  window: 28\n  window: 14\ntrain:\n  epochs: 2\n")
    with pytest.raises(UserError) as err:
        resolve(config_file=cfg)
    msg = str(err.value)
    assert "duplicate key 'window' at line 4 (first at line 3)" in msg and str(cfg) in msg
    assert "\n" not in msg
    cfg.write_text("data: {name: digits}\ntrain: {epochs: 2}\ndata: {window: 14}\n")  # a whole section twice
    with pytest.raises(UserError, match="duplicate key 'data' at line 3 .first at line 1."):
        resolve(config_file=cfg)
    cfg.write_text("data:\n  window: 28\ntrain:\n  window: 14\n")  # the same name in two sections is no duplicate
    with pytest.raises(UserError, match="unknown config key 'train.window'"):
        resolve(config_file=cfg)
