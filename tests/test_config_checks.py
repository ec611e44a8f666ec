"""Options that cannot apply to a run stop with one line (exit 2) before the run folder exists (issue 9)."""

import numpy as np
import pytest

import idealfit as fit
from idealfit.config import resolve
from idealfit.config_checks import FAMILY_KEYS, check_run_options, is_set
from idealfit.data.embedded import EMBEDDED
from idealfit.tasks import get_task


@pytest.mark.parametrize(
    "argv, needles",
    [
        # class balancing needs classes
        (["--data", "diabetes", "--set", "data.balanced=true"], ["data.balanced", "regression", "drop data.balanced"]),
        # a balanced draw is random: a fixed order cannot hold
        (["--data", "xo", "--set", "data.balanced=true", "--set", "data.shuffle=false"],
         ["data.balanced", "data.shuffle=false", "drop one"]),
        # a monitor the task does not log, refused with the valid ones (not after epoch 1)
        (["--data", "diabetes", "--set", "train.monitor=val_accuracy"],
         ["train.monitor=val_accuracy", "regression", "val_loss, val_rmse, train_loss, train_rmse"]),
        (["--data", "xo", "--set", "train.monitor=val_rmse"], ["val_loss, val_accuracy"]),
        # one family's options on the other family
        (["--data", "xo", "--model", "mlp", "--set", "model.kernel_size=5"],
         ["model.kernel_size is a cnn option", "trains an mlp", "model.name=cnn"]),
        (["--data", "xo", "--model", "mlp", "--set", "model.widths=[8]"], ["model.widths is an option of cnn, unet, autoencoder"]),
        (["--data", "xo", "--model", "mlp", "--set", "model.pool=avg"], ["model.pool is a cnn option"]),
        (["--data", "xo", "--model", "cnn", "--set", "model.wide=true"],
         ["model.wide is an mlp option", "trains a cnn", "model.name=mlp"]),
        (["--data", "mnist1d", "--model", "rnn", "--set", "model.wide=true"],  # a GRU's linear path: forecasting only
         ["model.wide is an mlp option", "cnn's or rnn's on series", "trains an rnn", "model.name=mlp"]),
        (["--data", "xo", "--set", "data.difference=true"], ["data.difference", "time series", "drop data.difference"]),
        (["--data", "diabetes", "--set", "model.pool=avg"], ["model.pool is a cnn option", "auto chose it for table"]),
        # momentum for optimizers without it
        (["--data", "xo", "--optimizer", "adam", "--set", "train.momentum=0.5"],
         ["train.momentum", "adam has no such setting", "train.optimizer=sgd"]),
        (["--data", "xo", "--optimizer", "adamw", "--set", "train.nesterov=true"], ["train.nesterov", "adamw"]),
        # options of the files a user brings, on embedded data
        (["--data", "digits", "--target", "label"], ["data.target", "embedded dataset", "drop data.target"]),
        (["--data", "diabetes", "--target", "y"], ["data.target"]),
        (["--data", "xo", "--set", "data.image_size=16"], ["data.image_size", "embedded dataset"]),
        (["--data", "mnist1d", "--set", "data.channels=3"], ["data.channels", "embedded dataset"]),
    ],
)
def test_an_option_that_cannot_apply_is_one_error_and_no_run_folder(cli_error, capsys, tmp_path, monkeypatch,
                                                                   argv, needles):
    monkeypatch.chdir(tmp_path)  # the default runs/ would land here
    out = tmp_path / "run"
    cli_error(["train", *argv, "--epochs", "1", "--no-progress", "--out", str(out)], *needles)
    assert not out.exists() and not (tmp_path / "runs").exists()
    assert capsys.readouterr().out == ""


def test_the_same_options_where_they_apply_train(tmp_path):
    q = {"train.progress": False}
    run = fit.train(data="xo", model="cnn", epochs=1, out=tmp_path / "a", verbose=False,
                    set={**q, "model.kernel_size": 5, "train.optimizer": "sgd", "train.momentum": 0.5,
                         "train.nesterov": True, "data.balanced": True, "train.monitor": "val_accuracy"})
    assert run.summary["epochs_run"] == 1
    run = fit.train(data="diabetes", model="mlp", epochs=1, out=tmp_path / "b", verbose=False,
                    set={**q, "model.wide": True, "train.monitor": "train_rmse"})
    assert run.summary["task"] == "regression"


def test_a_resumed_run_is_not_refused_for_its_recorded_defaults(tmp_path):
    """--resume reads every key from config.yaml (all "given"): a default value there is no user's choice."""
    run = fit.train(data="xo", model="mlp", epochs=1, out=tmp_path / "r", verbose=False,
                    set={"train.progress": False})
    cfg = resolve(config_file=run.dir / "config.yaml")
    assert "model.widths" in cfg.given and "train.momentum" in cfg.given
    assert not is_set(cfg, "model.widths") and not is_set(cfg, "train.momentum")
    check_run_options(cfg, EMBEDDED["xo"][0](), task=get_task("classification"))  # no error


def test_valid_monitors_are_the_logged_columns(tmp_path):
    run = fit.train(data="diabetes", model="mlp", epochs=1, out=tmp_path / "r", verbose=False,
                    set={"train.progress": False})
    logged = set(run.history[0])
    assert set(get_task("regression").monitors()) <= logged
    assert get_task("classification").monitors() == ["val_loss", "val_accuracy", "train_loss", "train_accuracy"]


def test_every_registered_family_says_which_shape_keys_it_reads():
    from idealfit.models.registry import FAMILIES

    assert set(FAMILY_KEYS) == set(FAMILIES)


def test_options_a_family_would_silently_ignore_are_refused(tmp_path, cli_error):
    rng = np.random.default_rng(0)
    x = rng.random((24, 3, 16, 16)).astype(np.float32)
    np.savez(tmp_path / "pairs.npz", x=x, y=1 - x)
    cli_error(["train", "--data", str(tmp_path / "pairs.npz"), "--set", "model.gan_weight=0", "--set",
               "model.l1_weight=0", "--out", str(tmp_path / "r")], "no loss to learn from")
    for key in ("train.l2=0.001", "train.optimizer=sgd", "train.weight_decay=0.01"):
        cli_error(["train", "--data", str(tmp_path / "pairs.npz"), "--set", key, "--out", str(tmp_path / "r")],
                  f"{key.split('=')[0]} does not apply to pix2pix", "model.l1_weight")
    cli_error(["train", "--data", "digits", "--task", "reconstruction", "--set", "model.dropout=0.3",
               "--out", str(tmp_path / "r")], "model.dropout applies to the dense autoencoder", "data.noise")
    cli_error(["train", "--data", "digits", "--task", "reconstruction", "--set", "data.augment=[flip]",
               "--set", "data.noise=0.3", "--out", str(tmp_path / "r")], "data.augment does not apply to reconstruction")
    assert not (tmp_path / "r").exists()


def test_the_lr_finder_refuses_a_gan_with_a_sentence(tmp_path, cli_error):
    rng = np.random.default_rng(0)
    x = rng.random((24, 3, 16, 16)).astype(np.float32)
    np.savez(tmp_path / "pairs.npz", x=x, y=1 - x)
    cli_error(["lr-find", "--data", str(tmp_path / "pairs.npz"), "--out", str(tmp_path / "lr.png")],
              "trains a GAN", "model.gan_weight=0")
