"""Advice that fits the run (issue 8): "a better chance" follows the verdict, widths are the run's own doubled or
halved, a run that fits its training data gets no capacity advice, the evidence and the words agree, and a rival one
validation sample ahead only does as well. Curves and numbers from the newcomer trial's runs."""

import math

import pytest

import idealfit as fit
from idealfit.diagnose import diagnose
from idealfit.diagnose_advice import better_chance, capacity_to_spare

N = 30
TABLE = {"model": "mlp", "kind": "table", "augment": [], "dropout": 0.0, "batchnorm": False, "l1": 0.0, "l2": 0.0,
         "early_stopping": False, "stopped_early": False, "patience": 10, "epochs": 30, "lr": 1e-3,
         "hidden": [512, 512], "widths": [32, 64], "hidden_size": 64, "latent": 16}
IMAGE = {**TABLE, "model": "cnn", "kind": "image", "batchnorm": True, "hidden": [128], "epochs": 8, "lr": 3e-3,
         "val_samples": 24}


def _rows(train_loss, val_loss, train_m, val_m, metric):
    return [{"epoch": e + 1, "train_loss": tl, "val_loss": vl, f"train_{metric}": tm, f"val_{metric}": vm}
            for e, (tl, vl, tm, vm) in enumerate(zip(train_loss, val_loss, train_m, val_m, strict=True))]


def _decay(start, end, n=N, rate=0.35):
    return [end + (start - end) * math.exp(-rate * e) for e in range(n)]


def _entry(metric, train, val):
    return {"train": {metric: train}, "val": {metric: val}, "test": {metric: val}}


def _line(d, start):
    return next(a for a in d["advice"] if a.startswith(start))


def test_an_overfitting_network_beaten_by_a_baseline_is_not_told_to_train_longer_or_widen():
    # the study's baseline on diabetes: [512,512], validation loss up 22% since epoch 10, a linear model better
    val = [0.5 + 0.002 * (e - 10) ** 2 for e in range(N)]
    hist = _rows(_decay(1.0, 0.02), val, [11.4] * N, [58.8] * N, "rmse")
    base = {"mean": _entry("rmse", 75.0, 81.0), "linear": _entry("rmse", 45.0, 50.0)}
    d = diagnose(hist, task="regression", metric="rmse", baselines=base, context=TABLE)
    assert d["verdict"] == "overfitting"
    text = " ".join(d["advice"])
    assert "train longer" not in text.lower() and "widen" not in text and "[1024,1024]" not in text
    assert "it overfits, so try the steps below" in _line(d, "Use a linear model")
    assert _line(d, "Use a smaller model").endswith("e.g. --set model.hidden=[256,256], now [512,512]).")


def test_a_good_fit_beaten_by_a_baseline_is_told_to_double_its_own_width():
    hist = _rows(_decay(1.0, 0.3), _decay(1.05, 0.32), [0.96] * N, [0.93] * N, "accuracy")
    base = {"majority": _entry("accuracy", 0.4, 0.4), "linear": _entry("accuracy", 0.97, 0.97)}
    ctx = {**TABLE, "hidden": [256, 256]}
    d = diagnose(hist, task="classification", metric="accuracy", baselines=base, context=ctx)
    line = _line(d, "Use a linear model")
    assert "train longer (train.epochs, now 30), widen it (--set model.hidden=[512,512], now [256,256])" in line
    assert "=[256,256])" not in line  # never the width the run already has
    # early stopping ended the run: more epochs would stop at the same place
    stopped = diagnose(hist, task="classification", metric="accuracy", baselines=base,
                       context={**ctx, "early_stopping": True, "stopped_early": True})
    line = _line(stopped, "Use a linear model")
    assert "train longer" not in line and line.endswith("better chance: widen it (--set model.hidden=[512,512], now "
                                                        "[256,256]) and tune train.lr (`idealfit lr-find`).")
    cnn = diagnose(hist, task="classification", metric="accuracy", baselines=base, context={**IMAGE, "val_samples": 0})
    assert "widen it (--set model.widths=[64,128], now [32,64])" in _line(cnn, "Use a linear model")
    # a context without the width (a run saved before it was recorded): no fixed width, which may be the run's own
    old = {k: v for k, v in TABLE.items() if k not in ("hidden", "widths", "hidden_size", "latent")}
    line = _line(diagnose(hist, task="classification", metric="accuracy", baselines=base, context=old),
                 "Use a linear model")
    assert "widen it (model.hidden: e.g. twice each layer's width)" in line and "[256,256]" not in line


def test_a_good_fit_only_thanks_to_early_stopping_is_told_to_regularize():
    # runs/diab_over: [256,256], dropout 0, stopped at epoch 26, kept epoch 6, validation loss up 57% after it
    val = [0.9 * math.exp(-0.4 * e) + 0.3 if e < 6 else 0.3 + 0.9 * math.exp(-2.0) + 0.02 * (e - 5) for e in range(26)]
    hist = _rows(_decay(1.0, 0.08, 26), val, [40.0] * 26, [45.0] * 26, "rmse")
    base = {"mean": _entry("rmse", 75.0, 81.0), "linear": _entry("rmse", 45.0, 40.0)}
    ctx = {**TABLE, "hidden": [256, 256], "early_stopping": True, "stopped_early": True, "epochs": 60}
    d = diagnose(hist, task="regression", metric="rmse", baselines=base, context=ctx, kept_epoch=6)
    assert d["verdict"] == "good fit"
    line = _line(d, "Use a linear model")
    assert "regularize it, as validation loss rose" in line and "after the kept epoch 6" in line
    assert "dropout (--set model.dropout=0.3)" in line and "(--set model.hidden=[128,128], now [256,256])" in line
    assert "train longer" not in line and "widen" not in line


def test_a_run_that_fits_its_training_data_and_still_improves_is_told_to_train_longer_not_to_grow():
    # runs/img_crop: 100% train and validation accuracy, validation loss still falling 19% per epoch
    hist = _rows(_decay(1.0, 0.001, 8, 0.6), [0.8 * 0.8 ** e for e in range(8)], [1.0] * 8, [1.0] * 8, "accuracy")
    d = diagnose(hist, task="classification", metric="accuracy", context=IMAGE)
    assert d["advice"][0] == "Train longer: raise train.epochs (now 8)."
    assert not any("capacity" in a for a in d["advice"])
    # runs/img_over: the same at a 12.5-point gap (100% train, 87.5% val on 24 images)
    gap = _rows(_decay(1.0, 0.001, 12, 0.6), [0.8 * 0.92 ** e for e in range(12)], [1.0] * 12, [0.875] * 12,
                "accuracy")
    d = diagnose(gap, task="classification", metric="accuracy", context={**IMAGE, "epochs": 12})
    assert d["advice"][0] == "Train longer: raise train.epochs (now 12)."
    assert not any("capacity" in a or "less regularization" in a for a in d["advice"])
    # below FITS_TRAIN_ACCURACY the capacity advice stays, with the run's own width doubled
    low = _rows(_decay(1.0, 0.3, 8, 0.6), [0.8 * 0.8 ** e for e in range(8)], [0.95] * 8, [0.93] * 8, "accuracy")
    d = diagnose(low, task="classification", metric="accuracy", context=IMAGE)
    assert any(a.endswith("e.g. --set model.widths=[64,128], now [32,64].") for a in d["advice"])


def test_the_words_say_when_validation_still_edges_down_below_the_rate_that_asks_for_more_epochs():
    # fair_ids.csv, 5 epochs: best epoch = last, 0.2% per epoch: the evidence's flag and the words must agree
    val = [0.60, 0.503, 0.5012, 0.5006, 0.50]
    hist = _rows([0.7, 0.55, 0.52, 0.51, 0.505], val, [0.95] * 5, [0.94] * 5, "accuracy")
    d = diagnose(hist, task="classification", metric="accuracy", context=TABLE)
    assert d["verdict"] == "good fit" and d["evidence"]["val_still_improving"] is True
    said = " ".join(d["reasons"])
    assert "validation loss still edged down 0.2% per epoch over the last 3 epochs" in said
    assert "less than the 1% per epoch that calls for more epochs" in said


def test_a_rival_one_validation_sample_ahead_does_only_as_well():
    # wine_pipe.csv: gradient boosting 27 of 27, the network 26 of 27 on validation
    hist = _rows(_decay(1.0, 0.1), _decay(1.05, 0.12), [1.0] * N, [26 / 27] * N, "accuracy")
    base = {"majority": _entry("accuracy", 0.4, 0.4), "boosting": _entry("accuracy", 1.0, 1.0)}
    d = diagnose(hist, task="classification", metric="accuracy", baselines=base, context={**TABLE, "val_samples": 27})
    assert ("the network does no better than gradient boosting (val accuracy 1.000 vs the network's 0.963, 1 of 27 "
            "validation samples apart): it adds nothing here") in d["reasons"]
    assert not any("does better" in r for r in d["reasons"])
    assert d["advice"][0].startswith("Prefer gradient boosting here: it is as good and simpler")
    large = diagnose(hist, task="classification", metric="accuracy", baselines=base,
                     context={**TABLE, "val_samples": 1000})
    assert any(r.startswith("gradient boosting does better than the network (val accuracy 1.000 vs the network's "
                            "0.963)") for r in large["reasons"])


def test_an_image_run_is_judged_against_its_linear_baseline_not_a_fixed_threshold(tmp_path):
    # xo at a learning rate too small to learn in 2 epochs: the deck's 5x5 X and O images, a linear model's meat
    run = fit.train(data="xo", epochs=2, out=tmp_path / "run", verbose=False,
                    set={"train.progress": False, "train.lr": 1e-6, "train.threads": 1})
    s = run.summary
    assert "linear" in s["baselines"] and s["baselines"]["linear"]["val"]["accuracy"] > 0.9
    reasons = " ".join(s["diagnosis"]["reasons"])
    assert s["diagnosis"]["verdict"] == "underfitting" and s["diagnosis"]["evidence"]["baseline"] == "linear"
    assert "below a linear model" in reasons and "(below 0.9)" not in reasons


def test_a_run_that_fits_its_data_while_its_loss_still_falls_is_not_said_to_have_levelled_off():
    # the newcomer's spoken-digits run: training loss still falling 8% per epoch at 100% training accuracy
    train = [0.5 * 0.92 ** e for e in range(12)]
    hist = _rows(train, [0.3] * 12, [1.0] * 12, [0.97] * 12, "accuracy")
    d = diagnose(hist, task="classification", metric="accuracy", context=IMAGE)
    assert d["verdict"] == "good fit"
    assert d["reasons"][0].startswith("the model fits its own training data (1.000 accuracy); its training loss still "
                                      "falls 7.4% per epoch")  # (1 - 0.92³) / 3: the mean over the window
    assert not any("levelled off" in r for r in d["reasons"])


@pytest.mark.parametrize("family, widths, example", [
    ("unet", [16, 32, 64], "e.g. --set model.widths=[16,32,64,128], now [16,32,64]; keep model.skip=true"),
    ("unet", [16, 32, 64, 128], "e.g. --set model.widths=[16,32,64,128,256], now [16,32,64,128]"),
    ("pix2pix", [8, 16], "e.g. --set model.widths=[8,16,32], now [8,16])"),
])
def test_an_encoder_decoders_capacity_example_adds_a_level_to_its_own(family, widths, example):
    hist = _rows(_decay(1.0, 0.6, 20), _decay(1.05, 0.63, 20), [0.7] * 20, [0.69] * 20, "dice")
    ctx = {**IMAGE, "model": family, "widths": widths, "kind": "image"}
    d = diagnose(hist, task="segmentation", metric="dice", context=ctx)
    line = next(a for a in d["advice"] if a.startswith("Give the model more capacity"))
    assert example in line, line


def test_a_model_with_far_more_parameters_than_samples_is_not_told_to_add_capacity():
    # the newcomer's photo folder: 32 training images, a 2.1 M-parameter CNN, 3 epochs (metrics.csv; the kept
    # weights' accuracy in eval mode), below the linear model on its own training data. It was told
    # "Give the model more capacity ... --set model.widths=[64,128]".
    history = [{"epoch": 1, "train_loss": 0.77682, "val_loss": 2.97672, "train_accuracy": 0.40625, "val_accuracy": 0.5},
               {"epoch": 2, "train_loss": 0.11374, "val_loss": 0.642297, "train_accuracy": 0.96875, "val_accuracy": 0.5},
               {"epoch": 3, "train_loss": 0.0797741, "val_loss": 0.270404, "train_accuracy": 0.96875,
                "val_accuracy": 0.875}]
    final = {"train": {"accuracy": 0.9375}, "val": {"accuracy": 0.875}}
    base = {"majority": {"train": {"accuracy": 0.5}, "val": {"accuracy": 0.5}, "test": {"accuracy": 0.5}},
            "linear": {"train": {"accuracy": 1.0}, "val": {"accuracy": 1.0}, "test": {"accuracy": 1.0}}}
    ctx = {"kind": "image", "model": "cnn", "augment": [], "dropout": 0.0, "batchnorm": False, "l1": 0.0, "l2": 0.0,
           "early_stopping": False, "stopped_early": False, "patience": 8, "epochs": 3, "lr": 3e-3,
           "val_samples": 8, "widths": [32, 64], "hidden": [128], "params": 2117378, "train_samples": 32}
    d = diagnose(history, task="classification", metric="accuracy", final=final, baselines=base, context=ctx)
    assert d["verdict"] == "underfitting"
    text = "\n".join(d["advice"])
    assert "Give the model more capacity" not in text and "widths=[64,128]" not in text
    assert ("Not more capacity: 2,117,378 parameters for 32 training samples (66,168 each) can already fit every one "
            "of them") in text
    assert d["advice"][1] == "Train longer: raise train.epochs (now 3)."
    # the same curves from a model with fewer parameters than 100 per sample: capacity is advised, as before
    small = diagnose(history, task="classification", metric="accuracy", final=final, baselines=base,
                     context={**ctx, "params": 3199})
    assert any(a.startswith("Give the model more capacity") for a in small["advice"])
    # a mask holds many targets per image: the per-sample count does not say a U-Net has capacity to spare
    assert capacity_to_spare(ctx, "segmentation") is None and capacity_to_spare(ctx, "classification")
    # beside a rival that does better, "a better chance" leaves out "widen it" too
    assert "widen" not in better_chance("good fit", {}, ctx, task="classification", gan=False)
    assert "widen" in better_chance("good fit", {}, {**ctx, "params": 3199}, task="classification", gan=False)
