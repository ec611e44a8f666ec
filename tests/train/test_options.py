"""Every remedy option changes training when set (and a test fails if it were ignored)."""

import csv
import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from sklearn.datasets import load_digits

import idealfit as fit
from idealfit.data.batching import TensorBatches
from idealfit.train.regularizers import L1

Q = {"train.progress": False}


def _train(tmp_path, name, **kw):
    s = {**Q, **kw.pop("set", {})}
    return fit.train(out=tmp_path / name, set=s, verbose=False, **kw)


def _weights(run):
    return load_file(str(run.dir / "model.safetensors"))


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_l1_is_logged_and_makes_weights_sparser(tmp_path):
    base = _train(tmp_path, "a", data="xo", model="mlp", epochs=15, set={"model.batchnorm": False})
    l1 = _train(tmp_path, "b", data="xo", model="mlp", epochs=15, set={"model.batchnorm": False, "train.l1": 0.01})
    rows = list(csv.DictReader(open(l1.dir / "metrics.csv")))
    assert "penalty" in rows[0] and float(rows[-1]["penalty"]) > 0
    assert "penalty" not in next(csv.DictReader(open(base.dir / "metrics.csv")))
    assert l1.summary["sparsity"] > base.summary["sparsity"] + 0.05
    # the logged penalty is the deck's λ/2·Σ|W| of the model's weights (last epoch: within the epoch's drift)
    assert float(rows[-1]["penalty"]) == pytest.approx(float(L1(0.01)(l1.model).detach()), rel=0.3)


def test_augmentation_changes_training_and_shows_in_the_report(tmp_path):
    plain = _train(tmp_path, "a", data="digits", epochs=1)
    aug = _train(tmp_path, "b", data="digits", epochs=1, set={"data.augment": ["flip", {"name": "crop", "padding": 1}]})
    assert not _same(_weights(plain), _weights(aug))
    assert (aug.dir / "augment.png").is_file()
    extras = json.loads((aug.dir / "extras.json").read_text())
    assert any(e["section"] == "Data augmentation" for e in extras)
    assert "augment.png" not in (plain.dir / "report.html").read_text()


def test_augmentation_on_tables_or_pm1_images_is_a_user_error(tmp_path):
    with pytest.raises(fit.UserError, match="images"):
        _train(tmp_path, "a", data="diabetes", model="mlp", epochs=1, set={"data.augment": ["flip"]})
    with pytest.raises(fit.UserError, match=r"\[0, 1\]"):
        _train(tmp_path, "b", data="xo", epochs=1, set={"data.augment": ["contrast"]})
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("scheme", ["glorot_uniform", "he_normal", "orthogonal"])
def test_init_scheme_changes_the_start(tmp_path, scheme):
    base = _train(tmp_path, "a", data="xo", epochs=1)
    other = _train(tmp_path, scheme, data="xo", epochs=1, set={"model.init": scheme})
    assert not _same(_weights(base), _weights(other))
    assert json.loads((other.dir / "summary.json").read_text())


def test_train_subset_is_stratified_and_recorded(tmp_path):
    run = _train(tmp_path, "a", data="digits", epochs=1, set={"data.train_subset": 0.2})
    split = np.load(run.dir / "split.npz")
    assert run.summary["train_samples"] == len(split["train"]) == round(0.2 * 1257)
    counts = np.bincount(load_digits().target[split["train"]])
    assert counts.min() >= 20  # every class kept (stratified)
    run2 = _train(tmp_path, "b", data="digits", epochs=1, set={"data.train_subset": 100})
    assert run2.summary["train_samples"] == 100


def test_dropout_only_in_training(tmp_path):
    run = _train(tmp_path, "a", data="xo", model="mlp", epochs=1, set={"model.dropout": 0.5})
    x = torch.randn(8, 1, 5, 5)
    m = run.model.eval()
    assert torch.equal(m(x), m(x))
    m.train()
    outs = [m(x) for _ in range(3)]
    assert not torch.equal(outs[0], outs[1])
    assert any(isinstance(layer, torch.nn.Dropout) and layer.p == 0.5 for layer in m)


def test_batchnorm_option(tmp_path):
    on = _train(tmp_path, "a", data="xo", epochs=1)
    off = _train(tmp_path, "b", data="xo", epochs=1, set={"model.batchnorm": False})
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in on.model.modules())
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)) for m in off.model.modules())


def test_balanced_batches_draw_classes_equally():
    y = torch.tensor([0] * 90 + [1] * 10)
    w = 1.0 / torch.bincount(y)[y].float()
    b = TensorBatches(torch.zeros(100, 1), y, batch_size=100, generator=torch.Generator().manual_seed(0), weights=w)
    drawn = torch.cat([yb for _ in range(20) for _, yb in b])
    assert abs(drawn.float().mean().item() - 0.5) < 0.05


def test_shuffle_off_keeps_the_stored_order():
    y = torch.arange(10)
    b = TensorBatches(y[:, None].float(), y, batch_size=4, shuffle=False)
    assert torch.cat([yb for _, yb in b]).tolist() == list(range(10))


def test_balanced_and_unshuffled_runs_differ_from_the_default(tmp_path):
    base = _weights(_train(tmp_path, "a", data="digits", epochs=1))
    assert not _same(base, _weights(_train(tmp_path, "b", data="digits", epochs=1, set={"data.balanced": True})))
    assert not _same(base, _weights(_train(tmp_path, "c", data="digits", epochs=1, set={"data.shuffle": False})))


def test_early_stopping_keeps_the_best_epochs_weights(tmp_path):
    run = _train(tmp_path, "a", data="xo", model="mlp", epochs=40,
                 set={"train.patience": 2, "train.lr": 0.05, "model.batchnorm": False, "train.schedule": "constant"})
    ckpt = torch.load(run.dir / "checkpoint.pt", weights_only=True)
    best = ckpt["early"]["best_weights"]
    kept = _weights(run)
    assert _same({k: best[k] for k in kept}, kept)
    vals = [r["val_loss"] for r in run.history]
    assert run.summary["best_epoch"] == int(np.argmin(vals)) + 1


def test_diagnosis_in_summary_report_and_terminal(tmp_path, capsys):
    from idealfit.cli import main

    assert main(["train", "--data", "xo", "--epochs", "2", "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["diagnosis"]["verdict"] in ("underfitting", "good fit", "overfitting")
    assert s["diagnosis"]["advice"] and "This run" in out
    assert s["diagnosis"]["verdict"] in (tmp_path / "r" / "report.html").read_text()


def test_checkpoint_every(tmp_path):
    never = _train(tmp_path, "a", data="xo", epochs=3, set={"train.checkpoint_every": 0})
    assert not (never.dir / "checkpoint.pt").exists() and (never.dir / "metrics.csv").is_file()
    every2 = _train(tmp_path, "b", data="xo", epochs=3, set={"train.checkpoint_every": 2, "train.early_stopping": False})
    # epoch 2 by the interval, and the last epoch always, so a finished run can be extended with --resume
    assert torch.load(every2.dir / "checkpoint.pt", weights_only=True)["epoch"] == 3


def test_wide_adds_a_linear_path_and_off_is_the_plain_mlp():
    from idealfit.config import ModelConfig
    from idealfit.models.build import build_model
    from idealfit.models.mlp import dense_stack

    cfg = ModelConfig(name="mlp", hidden=[6], dropout=0.0, batchnorm=False)
    torch.manual_seed(0)
    plain = torch.nn.Sequential(torch.nn.Flatten(), *dense_stack(5, 3, cfg))  # the MLP before model.wide
    torch.manual_seed(0)
    off = build_model(cfg, input_shape=(5,), out_dim=3)
    torch.manual_seed(0)
    wide = build_model(dataclasses.replace(cfg, wide=True), input_shape=(5,), out_dim=3)
    x = torch.randn(4, 5)
    assert [type(m) for m in off] == [type(m) for m in plain] and _same(off.state_dict(), plain.state_dict())
    # same seed: the deep path is the plain MLP, drawn first; out = deep(x) + x W_wideᵀ (no wide bias)
    w = wide[1].wide.weight  # (3, 5)
    assert wide[1].wide.bias is None and w.shape == (3, 5)
    torch.testing.assert_close(wide(x), plain(x) + x @ w.T)


def test_wide_run_saves_loads_summarizes_and_explains(tmp_path):
    from idealfit.explain.model import saliency
    from idealfit.models.summary import layer_table

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    rows = [["a", "b", "c", "y"]] + [[*map("{:.3f}".format, r), "hi" if r[0] > 0 else "lo"] for r in x]
    with open(tmp_path / "t.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    run = _train(tmp_path, "r", data=str(tmp_path / "t.csv"), target="y", epochs=1, set={"model.wide": True})
    assert "wide: true" in (run.dir / "config.yaml").read_text()
    loaded = fit.load_run(run.dir)
    inputs = loaded.load_inputs(str(tmp_path / "t.csv"))[:5]  # (5, 3)
    torch.testing.assert_close(loaded.model.eval()(inputs), run.model.eval()(inputs))
    names = [n for n, *_ in layer_table(loaded.model, (3,))]
    assert "1.wide" in names and "1.deep.1" in names
    # with the deep head zeroed, d logit_c / d x = W_wide[c]: saliency is that row, in absolute value
    torch.nn.init.zeros_(loaded.model[-1].deep[-1].weight)
    w = loaded.model[-1].wide.weight
    sal = saliency(loaded.model, inputs, target=1)
    torch.testing.assert_close(sal, w[1].abs().expand_as(sal))
