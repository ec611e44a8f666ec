"""diagnose() beyond tables: each task's own baselines as rivals, advice in the options of the run's model
family, and a GAN judged on its L1 curves. Histories and baselines are small fixtures (numbers from real
runs where noted); nothing is trained here."""

import math

import pytest

from idealfit.baselines import best_baseline
from idealfit.diagnose import diagnose, format_diagnosis
from idealfit.diagnose_advice import EYE_ADVICE, family_of


def _decay(start, end, n, rate=0.35):
    return [end + (start - end) * math.exp(-rate * e) for e in range(n)]


def _rows(train_loss, val_loss, train_m, val_m, metric, **extra):
    rows = [{"epoch": i + 1, "train_loss": tl, "val_loss": vl, f"train_{metric}": tm, f"val_{metric}": vm}
            for i, (tl, vl, tm, vm) in enumerate(zip(train_loss, val_loss, train_m, val_m, strict=True))]
    for key, values in extra.items():
        for row, v in zip(rows, values, strict=True):
            row[key] = v
    return rows


N = 30
CONTEXT = {"kind": "image", "augment": [], "dropout": 0.0, "batchnorm": True, "l1": 0.0, "l2": 0.0,
           "early_stopping": False, "stopped_early": False, "patience": 8, "epochs": 30, "lr": 1e-2}


def _entry(metric, train, val):
    return {"train": {metric: train}, "val": {metric: val}, "test": {metric: val}}


def _text(d):
    return " ".join(d["reasons"] + d["advice"])


# --- segmentation: the per-pixel model (coins: a threshold on grey level separates coin from background) ---


def _levelled_seg(train_dice=0.963, val_dice=0.963):
    return _rows(_decay(1.0, 0.10, N), _decay(1.05, 0.12, N), [train_dice] * N, [val_dice] * N, "dice")


COINS = {"majority": _entry("dice", 0.0, 0.0), "per_pixel": _entry("dice", 0.995, 0.995)}


def test_a_per_pixel_model_that_does_better_is_named_like_a_linear_model_for_tables():
    d = diagnose(_levelled_seg(), task="segmentation", metric="dice", baselines=COINS, context=CONTEXT)
    assert any("a per-pixel logistic regression on colour does better than the network (val dice 0.995 vs the "
               "network's 0.963): the network falls short of it here" in r for r in d["reasons"])
    assert d["advice"][0].startswith("Use a per-pixel logistic regression on colour for this data")
    assert d["evidence"]["baseline"] == "per_pixel"
    # 0.032 below it on its own training data, and no better on validation: underfitting, not "train longer"
    assert d["verdict"] == "underfitting" and "0.032 below a per-pixel logistic regression" in d["reasons"][0]
    plain = diagnose(_levelled_seg(), task="segmentation", metric="dice", context=CONTEXT)
    assert plain["verdict"] == "good fit" and "per-pixel" not in _text(plain)


def test_a_per_pixel_model_that_ties_is_named_as_doing_as_well():
    base = {**COINS, "per_pixel": _entry("dice", 0.97, 0.963)}
    d = diagnose(_levelled_seg(0.97), task="segmentation", metric="dice", baselines=base, context=CONTEXT)
    assert "the network does no better than a per-pixel logistic regression on colour (val dice 0.963 vs the network's 0.963)" in _text(d)
    assert d["advice"][0].startswith("Prefer a per-pixel logistic regression on colour here")


def test_beating_a_weak_per_pixel_model_does_not_clear_the_fixed_threshold():
    # shapes: the per-pixel model reaches Dice 0.08; a network at 0.5 beats it and still underfits
    base = {"majority": _entry("dice", 0.0, 0.0), "per_pixel": _entry("dice", 0.079, 0.083)}
    d = diagnose(_levelled_seg(0.5, 0.5), task="segmentation", metric="dice", baselines=base, context=CONTEXT)
    assert d["verdict"] == "underfitting"
    assert "the model reaches only 0.500 dice on its own training data (below 0.9)" in d["reasons"][0]


def test_a_network_no_better_than_the_majority_class_is_named():
    base = {"majority": _entry("dice", 0.0, 0.0), "per_pixel": _entry("dice", 0.0, 0.0)}
    d = diagnose(_levelled_seg(0.0, 0.0), task="segmentation", metric="dice", baselines=base, context=CONTEXT)
    assert d["evidence"]["baseline"] == "per_pixel"  # a tie goes to the fitted model
    # ... but a fitted model no better than the constant is not recommended: the constant is named, once
    assert ("the network does no better than the majority class at every pixel on validation (val dice 0.000 vs "
            "0.000): it has learned nothing beyond a constant") in d["reasons"]
    assert "per-pixel" not in _text(d) and d["verdict"] == "underfitting"


def test_segmentation_still_improving_after_two_epochs_says_train_longer_first():
    # a 2-epoch shapes run (numbers from one): Dice 0.31, validation loss still falling 21% per epoch
    hist = _rows([1.951, 1.321], [1.562, 1.234], [0.138, 0.311], [0.013, 0.325], "dice")
    d = diagnose(hist, task="segmentation", metric="dice", context={**CONTEXT, "epochs": 2})
    assert d["verdict"] == "underfitting"
    assert "below 0.9" in d["reasons"][0] and "still improving at the last epoch" in d["reasons"][1]
    assert d["advice"][0] == "Train longer: raise train.epochs (now 2)."


# --- reconstruction: PCA at the code's size, and a denoising run's noisy input ---------------------------


def _rec(train_mse, val_mse, train_loss=None):
    train_loss = train_loss or _decay(1.0, train_mse, N)
    return _rows(train_loss, [v * 1.02 for v in train_loss], [train_mse] * N, [val_mse] * N, "mse")


def test_pca_that_does_as_well_as_the_autoencoder_is_named():
    base = {"identity": _entry("mse", 0.25, 0.246), "pca": _entry("mse", 0.12, 0.121)}
    d = diagnose(_rec(0.12, 0.122), task="reconstruction", metric="mse", baselines=base, context=CONTEXT)
    assert "the network does no better than PCA with as many components as the code (val mse 0.121 vs the network's 0.122)" in _text(d)
    assert d["advice"][0].startswith("Prefer PCA with as many components as the code here")  # within 2%


def test_a_denoiser_worse_than_its_noisy_input_is_named():
    base = {"identity": _entry("mse", 0.25, 0.246), "pca": _entry("mse", 0.30, 0.30)}
    d = diagnose(_rec(0.26, 0.27), task="reconstruction", metric="mse", baselines=base, context=CONTEXT)
    assert d["evidence"]["baseline"] == "identity"
    assert "the corrupted input returned unchanged does better than the network (val mse 0.246 vs the network's 0.27)" in _text(d)
    assert d["advice"][0].startswith("The network does no better than the corrupted input returned unchanged, "
                                     "which involves no learning at all")


def test_without_corruption_the_identity_is_a_copy_not_a_rival():
    base = {"identity": _entry("mse", 0.0, 0.0), "pca": _entry("mse", 0.017, 0.019)}
    assert best_baseline(base, "mse", higher_better=False, task="reconstruction")[0] == "pca"
    assert best_baseline({"identity": _entry("mse", 0.0, 0.0)}, "mse", higher_better=False,
                         task="reconstruction") is None


def test_pca_replaces_the_loss_drop_rule_and_the_identity_does_not():
    flat = _decay(0.2, 0.15, N)  # only 25% of the first epoch's loss removed: flat by the fixed rule
    assert diagnose(_rec(0.15, 0.153, flat), task="reconstruction", metric="mse")["verdict"] == "underfitting"
    pca = {"pca": _entry("mse", 0.16, 0.16)}  # the best linear autoencoder does no better: not underfitting
    assert diagnose(_rec(0.15, 0.153, flat), task="reconstruction", metric="mse", baselines=pca)["verdict"] == "good fit"
    identity = {"identity": _entry("mse", 0.25, 0.25)}  # beating the noisy input shows little
    assert diagnose(_rec(0.15, 0.153, flat), task="reconstruction", metric="mse",
                    baselines=identity)["verdict"] == "underfitting"


# --- translation: the mean image, the FCN's real-image upper bound, a GAN's curves -------------------------


def _p2p(l1=0.08, gan=True, d_loss=0.6):
    train = _decay(0.3, l1, N)
    extra = {"train_g_adv": [2.0 + math.sin(e) for e in range(N)], "train_d_loss": [d_loss] * N} if gan else {}
    return _rows(train, [t * 1.05 for t in train], [l1] * N, [l1 * 1.05] * N, "l1", **extra)


def test_the_real_images_upper_bound_is_never_a_baseline_to_beat():
    real = {"train": {"fcn_accuracy": 0.9, "l1": 0.0}, "val": {"fcn_accuracy": 0.9, "l1": 0.0}}
    assert best_baseline({"real": real, "mean": _entry("l1", 0.2, 0.2)}, "l1", higher_better=False,
                         task="translation")[0] == "mean"
    assert best_baseline({"real": real}, "l1", higher_better=False, task="translation") is None
    d = diagnose(_p2p(), task="translation", metric="l1", baselines={"real": real}, context=CONTEXT)
    assert "baseline" not in d["evidence"]


def test_a_generator_no_better_than_the_mean_image_is_named():
    base = {"mean": _entry("l1", 0.195, 0.196)}
    l1_only = diagnose(_p2p(l1=0.2, gan=False), task="translation", metric="l1", baselines=base,
                       context={**CONTEXT, "kind": "image_pair"})
    assert "the training split's mean target image does better than the network (val l1 0.196 vs the network's 0.21)" in _text(l1_only)
    assert l1_only["advice"][0].startswith("The network does no better than the training split's mean target image")
    # a GAN: the blurry mean wins on L1 by design, so it is explained, not advised as the better model
    d = diagnose(_p2p(l1=0.2), task="translation", metric="l1", baselines=base,
                 context={**CONTEXT, "kind": "image_pair"})
    assert "the training split's mean target image does better by val l1 (0.196 vs 0.21), as expected of a GAN" in _text(d)
    assert "compare sharpness_ratio instead" in _text(d) and "FCN-score:" in _text(d)  # this run has none
    assert not any(a.startswith("The network does no better") for a in d["advice"])
    final = {s: {"l1": 0.2, "fcn_miou": 0.5} for s in ("train", "val", "test")}  # a run that has one: named
    with_fcn = diagnose(_p2p(l1=0.2), task="translation", metric="l1", baselines=base, final=final,
                        context={**CONTEXT, "kind": "image_pair"})
    assert "compare sharpness_ratio and the FCN-score instead" in _text(with_fcn)
    assert not any("lr-find" in a for a in d["advice"])  # a GAN run: the lr finder cannot sweep it
    # the excuse needs sharper images: a GAN whose images are blurrier than the mean image's gets none
    sharp = {"mean": {**base["mean"], "val": {"l1": 0.196, "sharpness_ratio": 0.0245}}}
    final = {s: {"l1": 0.2, "sharpness_ratio": 0.0155} for s in ("train", "val", "test")}  # the newcomer's pix2pix
    blunt = diagnose(_p2p(l1=0.2), task="translation", metric="l1", baselines=sharp, final=final,
                     context={**CONTEXT, "kind": "image_pair"})
    assert "as expected of a GAN" not in _text(blunt)
    assert ("nor are the generated images sharper (val sharpness_ratio 0.0155, the mean target image's 0.0245; 1 = as sharp as the real "
            "targets): the adversarial term has not paid off yet") in _text(blunt)
    final["val"]["sharpness_ratio"] = 0.6  # sharper than the mean image: the trade-off holds, explained as before
    kept = diagnose(_p2p(l1=0.2), task="translation", metric="l1", baselines=sharp, final=final,
                    context={**CONTEXT, "kind": "image_pair"})
    assert "as expected of a GAN" in _text(kept)


def test_a_gan_is_judged_on_its_l1_curves_and_says_so():
    d = diagnose(_p2p(), task="translation", metric="l1", context={**CONTEXT, "kind": "image_pair"})
    without = diagnose(_p2p(gan=False), task="translation", metric="l1", context={**CONTEXT, "kind": "image_pair"})
    assert d["verdict"] == without["verdict"] == "good fit"  # the wavy adversarial column changes nothing
    note = d["reasons"][-1]
    assert "adversarial losses (train_g_adv, train_d_loss) have no under/overfitting U-shape" in note
    assert "this verdict reads the L1 curves only" in note and "judge the generated images by eye" in note
    assert note in format_diagnosis(d)
    assert not any("U-shape" in r for r in without["reasons"])  # an L1-only run has no adversarial part
    assert EYE_ADVICE in d["advice"] and EYE_ADVICE in without["advice"]  # images are judged by eye either way
    won = diagnose(_p2p(d_loss=0.01), task="translation", metric="l1", context={**CONTEXT, "kind": "image_pair"})
    assert "the discriminator won outright for 30 epochs in a row" in won["reasons"][-1]


def test_one_epoch_is_not_a_curve_that_levelled_off():
    # a 1-epoch labels2shapes pix2pix run (numbers from one): it used to read "training has levelled off"
    hist = _rows([0.2035], [0.2022], [0.2035], [0.2022], "l1", train_g_adv=[3.917], train_d_loss=[0.155])
    d = diagnose(hist, task="translation", metric="l1", context={**CONTEXT, "kind": "image_pair", "epochs": 1})
    assert d["verdict"] == "underfitting"
    assert d["reasons"][0].startswith("one epoch is no learning curve")
    assert "levelled off and" not in _text(d)
    assert d["advice"][0] == "Train longer: raise train.epochs (now 1)."


# --- advice in the options of the run's family --------------------------------------------------------------


def _overfit(metric="dice", score=True):
    train = _decay(2.0, 0.02, N)
    val = [0.5 + 0.002 * (e - 10) ** 2 for e in range(N)]  # a U: best at epoch 11
    tm = [0.99] * N if score else [0.05] * N
    return _rows(train, val, tm, [0.8] * N if score else [0.2] * N, metric)


def _underfit(metric="dice"):
    flat = _decay(1.0, 0.8, N)
    return _rows(flat, flat, [0.5] * N, [0.5] * N, metric)


def test_family_comes_from_the_context_or_the_only_family_of_the_task():
    assert family_of({"model": "cnn"}, "classification") == "cnn"
    assert family_of({}, "segmentation") == "unet" and family_of(None, "translation") == "pix2pix"
    assert family_of({}, "reconstruction") == "autoencoder"
    assert family_of({"model": "auto"}, "classification") is None  # mlp or cnn: not known


def test_unet_advice_names_its_own_options():
    for d in (diagnose(_underfit(), task="segmentation", metric="dice", context=CONTEXT),
              diagnose(_overfit(), task="segmentation", metric="dice", context={**CONTEXT, "batchnorm": False})):
        assert "model.hidden" not in _text(d) and "model.widths" in _text(d)
    assert "Add dropout at the end of every convolution block (whole feature maps)" in _text(d)
    assert "--set data.augment=[flip,crop,contrast]" in _text(d)  # a mask moves with flips and crops


def test_autoencoder_advice_names_the_code_and_no_ignored_option():
    conv = {**CONTEXT, "kind": "signal", "dropout": 0.2}
    under = diagnose(_underfit("mse"), task="reconstruction", metric="mse", context=conv)
    assert "a wider code (model.latent) or wider layers (model.widths)" in _text(under)
    assert "model.hidden" not in _text(under) and "dropout" not in _text(under)  # a conv autoencoder has none
    over = diagnose(_overfit("mse", score=False), task="reconstruction", metric="mse", context={**conv, "dropout": 0})
    assert over["verdict"] == "overfitting"
    assert "dropout" not in _text(over) and "model.latent" in _text(over)
    image = diagnose(_overfit("mse", score=False), task="reconstruction", metric="mse",
                     context={**CONTEXT, "kind": "image"})
    assert "augment" not in " ".join(image["advice"])  # the input would be augmented and its target not
    dense = diagnose(_underfit("mse"), task="reconstruction", metric="mse", context={**CONTEXT, "kind": "table"})
    assert "wider layers (model.hidden)" in _text(dense) and "model.widths" not in _text(dense)


def test_pix2pix_advice_names_its_own_options_and_pair_augmentations():
    pair = {**CONTEXT, "kind": "image_pair", "lr": 2e-4}
    under = _rows(_decay(0.3, 0.25, N), _decay(0.3, 0.25, N), [0.25] * N, [0.25] * N, "l1",
                  train_g_adv=[2.0] * N, train_d_loss=[0.6] * N)
    d = diagnose(under, task="translation", metric="l1", context=pair)
    text = _text(d)
    assert d["verdict"] == "underfitting"
    for knob in ("model.widths", "model.l1_weight", "model.gan_weight", "train.lr=0.0002"):
        assert knob in text
    assert "model.hidden" not in text
    assert "lr-find" not in text  # it sweeps one optimizer: a pix2pix GAN step has two (KeyError 'main')
    l1_only = _rows(_decay(0.3, 0.25, N), _decay(0.3, 0.25, N), [0.25] * N, [0.25] * N, "l1")
    assert "lr-find" in _text(diagnose(l1_only, task="translation", metric="l1", context=pair))
    over = _overfit("l1", score=False)
    for row in over:
        row.update(train_g_adv=2.0, train_d_loss=0.6)
    d = diagnose(over, task="translation", metric="l1", context=pair)
    assert d["verdict"] == "overfitting"
    assert "--set data.augment=[flip,crop] (input and target move together" in d["advice"][0]
    assert "train.l2" not in _text(d)  # the GAN step adds no weight penalty
    assert "model.hidden" not in _text(d) and "a narrower generator: model.widths" in _text(d)
    some = diagnose(over, task="translation", metric="l1", context={**pair, "augment": ["flip"]})
    assert "--set data.augment=[flip,crop]" in some["advice"][0]
    done = diagnose(over, task="translation", metric="l1", context={**pair, "augment": ["flip", "crop"]})
    assert "are already on" in done["advice"][0] and "--set data.augment" not in done["advice"][0]


def test_context_model_picks_the_classifier_family():
    hist = _underfit("accuracy")
    cnn = _text(diagnose(hist, task="classification", metric="accuracy", context={**CONTEXT, "model": "cnn"}))
    mlp = _text(diagnose(hist, task="classification", metric="accuracy", context={**CONTEXT, "model": "mlp"}))
    assert "model.widths" in cnn and "model.hidden" in cnn
    assert "model.hidden" in mlp and "model.widths" not in mlp


def test_the_baseline_advice_widens_the_network_in_its_own_options():
    base = {"per_pixel": _entry("dice", 0.995, 0.995)}
    d = diagnose(_levelled_seg(), task="segmentation", metric="dice", baselines=base, context=CONTEXT)
    assert d["verdict"] == "underfitting"  # so the widening is one of the steps below the baseline's line
    assert "try the steps below" in d["advice"][0]
    assert "(model.widths" in " ".join(d["advice"]) and "model.hidden" not in " ".join(d["advice"])


@pytest.mark.parametrize("task,metric", [("segmentation", "dice"), ("reconstruction", "mse"), ("translation", "l1")])
def test_without_context_the_generic_advice_fits_the_task(task, metric):
    d = diagnose(_overfit(metric, score=metric == "dice"), task=task, metric=metric)
    assert d["verdict"] == "overfitting"
    if task != "segmentation":  # an autoencoder's target would not move with its input; pairs take no contrast
        assert "contrast" not in d["advice"][0]


def test_a_beaten_underfitting_network_gets_each_step_once():
    """The baseline's line points to the underfitting steps below it instead of repeating them."""
    base = {"per_pixel": _entry("dice", 0.995, 0.995)}
    d = diagnose(_levelled_seg(), task="segmentation", metric="dice", baselines=base, context=CONTEXT)
    assert d["verdict"] == "underfitting"
    assert d["advice"][0].endswith("or give the network a better chance: try the steps below.")
    advice = " ".join(d["advice"]).lower()
    assert advice.count("train longer") == 1 and advice.count("lr-find") == 1 and advice.count("(model.widths") == 1


def _forecast_baselines(naive, ar):
    return {name: {s: {"mae": v, "mase": 1.0} for s in ("train", "val", "test")}
            for name, v in (("naive", naive), ("seasonal_naive", naive), ("ar", ar))}


@pytest.mark.parametrize("val_end,far", [(2300.0, True), (95.0, False)])
def test_forecasts_far_worse_than_the_naive_baseline_point_to_the_ar_path(val_end, far):
    # shaped on `--model rnn` on macrodata's realgdp: val MAE ~2300 against the naive baseline's ~86
    train_m, val_m = _decay(4000, 150, N), _decay(6000, val_end, N)
    rows = _rows(_decay(1.0, 0.01, N), _decay(2.0, 0.3, N), train_m, val_m, "mae")
    context = {**CONTEXT, "kind": "series", "model": "rnn", "dropout": 0.3, "wide": False}
    d = diagnose(rows, task="forecasting", metric="mae", context=context, baselines=_forecast_baselines(86.0, 54.0))
    hit = [r for r in d["reasons"] if "x the naive baseline's" in r]
    if not far:
        assert not hit and not any("linear AR path" in a for a in d["advice"])
        return
    assert len(hit) == 1 and "trending series" in hit[0] and "training longer does not fix" in hit[0]
    assert d["advice"][0].startswith("Use the linear AR path (this rnn has none)")
    assert "model.wide=true" in d["advice"][0] and "linear AR path" in format_diagnosis(d)
    # with the path (the series default since it was given to the rnn too), the remedy left is differencing
    d = diagnose(rows, task="forecasting", metric="mae", context={**context, "wide": True},
                 baselines=_forecast_baselines(86.0, 54.0))
    assert d["advice"][0].startswith("Forecast the changes instead of the levels: data.difference=true")


@pytest.mark.parametrize("beyond,difference,fires", [(0.9, False, True), (0.9, True, False), (0.2, False, False)])
def test_a_trend_beyond_the_training_range_points_to_differencing(beyond, difference, fires):
    # shaped on the default mlp on macrodata's realgdp: every validation quarter above the training part
    rows = _rows(_decay(1.0, 0.3, N), _decay(1.2, 0.4, N), _decay(60, 35, N), _decay(60, 45, N), "mae")
    context = {**CONTEXT, "kind": "series", "model": "mlp", "wide": True, "difference": difference,
               "val_beyond_train": beyond}
    d = diagnose(rows, task="forecasting", metric="mae", context=context, baselines=_forecast_baselines(86.0, 46.0))
    hit = [r for r in d["reasons"] if "outside the training range" in r]
    assert bool(hit) == fires and any("data.difference=true" in a for a in d["advice"]) == fires
    if fires:
        assert hit[0].startswith("90% of the validation part's values") and "data.difference=true" in d["advice"][0]


def _naive_only_on_val(naive):
    """Baselines worse than the network on its training data (rule 2b stays quiet), naive `naive` on validation."""
    base = _forecast_baselines(naive, 60.0)
    for entry in base.values():
        entry["train"] = {"mae": 90.0, "mase": 1.0}
    return base


@pytest.mark.parametrize("naive,verdict", [(40.0, "underfitting"), (50.0, "good fit")])
def test_a_forecaster_no_better_than_the_last_value_is_never_a_good_fit(naive, verdict):
    # levelled, close curves (the rules alone say "good fit"), val MAE 45: the naive baseline's 40 beats it
    rows = _rows(_decay(1.0, 0.3, N), _decay(1.1, 0.32, N), _decay(80, 44, N), _decay(80, 45, N), "mae")
    context = {**CONTEXT, "kind": "series", "model": "mlp", "wide": True, "difference": False, "horizon": 4,
               "window": 12}
    base = _naive_only_on_val(naive)
    d = diagnose(rows, task="forecasting", metric="mae", context=context, baselines=base)
    assert d["verdict"] == verdict
    hit = [r for r in d["reasons"] if "does not beat the naive forecast" in r]
    if verdict == "good fit":
        assert not hit and "data.difference" not in _text(d)
        return
    assert len(hit) == 1 and "(mae 45 vs 40)" in hit[0] and not format_diagnosis(d).startswith("This run fits well")
    first = d["advice"][0]
    assert "data.difference=true" in first and "data.horizon, now 4" in first and "data.window, now 12" in first
    assert not any(a.startswith("Keep this setup") for a in d["advice"])
    assert not any("adds nothing here" in r for r in d["reasons"])  # said once, by the forecasting rule
    # a run that already forecasts the changes, one step ahead, is not told to do either
    d = diagnose(rows, task="forecasting", metric="mae", baselines=base,
                 context={**context, "difference": True, "horizon": 1})
    assert "data.difference" not in d["advice"][0] and "data.horizon" not in d["advice"][0]


def test_far_worse_than_naive_is_not_a_good_fit_either():
    rows = _rows(_decay(1.0, 0.3, N), _decay(1.1, 0.32, N), _decay(80, 44, N), _decay(80, 45, N), "mae")
    context = {**CONTEXT, "kind": "series", "model": "mlp", "wide": True}
    d = diagnose(rows, task="forecasting", metric="mae", context=context, baselines=_naive_only_on_val(20.0))
    assert d["verdict"] == "underfitting"
    assert sum("naive" in r for r in d["reasons"]) == 1 and "x the naive baseline's" in " ".join(d["reasons"])


def test_the_test_split_beside_the_naive_forecast_is_reported_not_judged():
    from idealfit.diagnose_forecast import naive_on_test

    base = {"naive": {"val": {"mae": 1.0}, "test": {"mae": 2.0}}}
    s = {"task": "forecasting", "metric": "mae", "baselines": base,
         "metrics": {"val": {"mae": 0.8}, "test": {"mae": 2.4}}}
    note = naive_on_test(s)
    assert note.startswith("on the test steps the network does not beat the naive forecast")
    assert "test mae 2.4 vs 2" in note and "it did on validation" in note
    assert naive_on_test({**s, "metrics": {"val": {"mae": 1.2}, "test": {"mae": 2.4}}}).endswith("vs 2")
    assert naive_on_test({**s, "metrics": {"val": {"mae": 0.8}, "test": {"mae": 1.9}}}) is None
    assert naive_on_test({**s, "task": "regression"}) is None


def test_a_model_worse_than_the_baselines_on_its_training_data_underfits_whatever_its_gap():
    """The newcomer's autoencoder kept at epoch 1 (early stopping inside the one-cycle ramp): validation 1.35x
    training looked like overfitting, but training mse 1.089 is worse than the mean (1.0) and 5x PCA's."""
    history = _rows([2.279, 2.159, 2.039, 1.907, 1.732, 1.516, 1.302, 1.136, 1.003],
                    [1.476, 1.477, 1.479, 1.485, 1.514, 1.663, 2.206, 3.260, 3.768],
                    [2.279, 2.159, 2.039, 1.907, 1.732, 1.516, 1.302, 1.136, 1.003],
                    [1.476, 1.477, 1.479, 1.485, 1.514, 1.663, 2.206, 3.260, 3.768], "mse")
    base = {"identity": _entry("mse", 0.2502, 0.2489), "pca": _entry("mse", 0.1999, 0.2247)}
    final = {"train": {"mse": 1.089}, "val": {"mse": 1.476}}
    d = diagnose(history, task="reconstruction", metric="mse", final=final, kept_epoch=1, baselines=base,
                 context={**CONTEXT, "model": "autoencoder"})
    assert d["verdict"] == "underfitting"
    assert "the model's training mse 1.089 is 5.45x that of PCA with as many components as the code" in _text(d)
    assert ("validation mse 1.476 is 1.36x the training mse 1.089 (more than 1.25x); that gap is no sign of "
            "overfitting while the model fits its own training data worse than a simple baseline") in _text(d)
    assert "smaller model" not in _text(d)
    # the same curves with a network that fits its training data as well as PCA: the gap is overfitting again
    d = diagnose(history, task="reconstruction", metric="mse", final={"train": {"mse": 0.15}, "val": {"mse": 0.25}},
                 kept_epoch=1, baselines=base, context={**CONTEXT, "model": "autoencoder"})
    assert d["verdict"] == "overfitting"
