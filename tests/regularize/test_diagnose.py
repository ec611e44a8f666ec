"""diagnose() on constructed learning curves of each kind, and its evidence against hand computations."""

import math

import pytest

from idealfit.diagnose import diagnose, format_diagnosis
from idealfit.diagnose_advice import GOOD_FIT_ADVICE, OVERFIT_ADVICE, UNDERFIT_ADVICE
from idealfit.errors import UserError


def _history(train_loss, val_loss=None, train_m=None, val_m=None, *, metric="accuracy"):
    rows = []
    for i, tl in enumerate(train_loss):
        row = {"epoch": i + 1, "train_loss": tl}
        if val_loss is not None:
            row["val_loss"] = val_loss[i]
        if train_m is not None:
            row[f"train_{metric}"] = train_m[i]
        if val_m is not None:
            row[f"val_{metric}"] = val_m[i]
        rows.append(row)
    return rows


def _decay(start, end, n, rate=0.35):
    """start → end, exponentially, levelled off by the last epochs."""
    return [end + (start - end) * math.exp(-rate * e) for e in range(n)]


N = 30


# --- classification ---------------------------------------------------------------------------------


def test_classic_overfit_u_shaped_val_loss():
    train = _decay(2.0, 0.02, N)
    val = [0.5 + 0.002 * (e - 10) ** 2 for e in range(N)]  # minimum 0.5 at epoch 11, then up to 1.3
    tacc = [min(0.999, 0.6 + 0.02 * e) for e in range(N)]
    vacc = [0.6 + 0.01 * min(e, 10) for e in range(N)]  # 0.70
    d = diagnose(_history(train, val, tacc, vacc), task="classification", metric="accuracy")
    assert d["verdict"] == "overfitting"
    ev = d["evidence"]
    assert ev["best_val_epoch"] == 11
    assert ev["best_val_loss"] == pytest.approx(0.5)
    assert ev["final_val_loss"] == pytest.approx(val[-1])
    assert ev["val_loss_rise"] == pytest.approx(val[-1] - 0.5)
    assert ev["val_loss_rise_rel"] == pytest.approx((val[-1] - 0.5) / 0.5)
    assert ev["loss_gap"] == pytest.approx(val[-1] - train[-1])
    assert ev["metric_gap"] == pytest.approx(tacc[-1] - vacc[-1])
    assert ev["final_train_metric"] == pytest.approx(0.999)
    assert ev["train_loss_change_since_best_val"] == pytest.approx(train[-1] - train[10])
    assert ev["best_train_loss"] == pytest.approx(min(train))
    assert d["advice"][0] == OVERFIT_ADVICE[0]
    assert any("epoch 11" in a for a in d["advice"])  # early stopping names the best epoch
    assert len(d["reasons"]) == 2  # the val turn and the accuracy gap


def test_overfit_from_accuracy_gap_alone():
    train = _decay(1.0, 0.05, N)
    val = _decay(1.0, 0.30, N)  # still at its best: no turn
    tacc = [0.99] * N
    vacc = [0.90] * N  # gap 0.09 > 0.05
    d = diagnose(_history(train, val, tacc, vacc), task="classification", metric="accuracy")
    assert d["verdict"] == "overfitting"
    assert d["evidence"]["val_loss_rise"] == pytest.approx(0.0)
    assert d["evidence"]["metric_gap"] == pytest.approx(0.09)
    assert "metric_ratio" not in d["evidence"]  # an error ratio is for error metrics: no empty row for accuracy


def test_val_rise_without_falling_train_loss_is_not_overfitting():
    train = [1.0] * 5 + [0.3] * (N - 5)
    val = [1.0] * 5 + [0.30] * 10 + [0.36] * (N - 15)  # +20% but train loss stood still
    acc = [0.95] * N
    d = diagnose(_history(train, val, acc, acc), task="classification", metric="accuracy")
    assert d["verdict"] == "good fit"


def test_underfit_flat_high_losses():
    train = _decay(2.3, 1.6, N)
    val = [v + 0.02 for v in _decay(2.3, 1.6, N)]
    tacc = [0.40 + 0.01 * min(e, 10) for e in range(N)]  # 0.50
    vacc = [a - 0.01 for a in tacc]
    d = diagnose(_history(train, val, tacc, vacc), task="classification", metric="accuracy")
    assert d["verdict"] == "underfitting"
    assert d["evidence"]["final_train_metric"] == pytest.approx(0.50)
    assert d["advice"] == list(UNDERFIT_ADVICE)
    assert "0.500 accuracy" in d["reasons"][0]


def test_underfit_stopped_too_early():
    train = [1.0 * 0.9**e for e in range(8)]  # falling 10% per epoch to the end
    val = [1.05 * 0.9**e for e in range(8)]
    acc = [0.95] * 8
    d = diagnose(_history(train, val, acc, acc), task="classification", metric="accuracy")
    assert d["verdict"] == "underfitting"
    assert d["evidence"]["recent_train_drop"] == pytest.approx((1 - 0.9**3) / 3)
    assert "stopped too early" in d["reasons"][0]
    assert d["advice"][0] == "Train longer (more epochs)."


def test_good_fit_both_falling_and_close():
    train = _decay(1.0, 0.10, N)
    val = _decay(1.05, 0.12, N)
    tacc = [min(0.97, 0.5 + 0.05 * e) for e in range(N)]
    vacc = [a - 0.01 for a in tacc]
    d = diagnose(_history(train, val, tacc, vacc), task="classification", metric="accuracy")
    assert d["verdict"] == "good fit"
    assert d["advice"] == list(GOOD_FIT_ADVICE)
    assert d["evidence"]["best_val_epoch"] == N
    assert d["evidence"]["val_loss_rise"] == pytest.approx(0.0)
    assert d["evidence"]["train_loss_drop"] == pytest.approx(1 - train[-1] / train[0])


def test_diverged_is_underfitting_with_lower_lr_first():
    train = [1.0, 0.9, 5.0, float("nan")]
    d = diagnose(_history(train, train, [0.5] * 4, [0.5] * 4), task="classification", metric="accuracy")
    assert d["verdict"] == "underfitting"
    assert d["advice"][0].startswith("Lower the learning rate")
    assert d["evidence"]["best_train_loss"] == pytest.approx(0.9)


# --- regression -------------------------------------------------------------------------------------


def test_regression_overfit():
    train = _decay(1.0, 0.01, N)
    val = [0.3 + 0.001 * (e - 12) ** 2 for e in range(N)]
    trmse = [math.sqrt(v) for v in train]
    vrmse = [math.sqrt(v) for v in val]
    d = diagnose(_history(train, val, trmse, vrmse, metric="rmse"), task="regression", metric="rmse")
    assert d["verdict"] == "overfitting"
    assert d["evidence"]["metric_ratio"] == pytest.approx(vrmse[-1] / trmse[-1])
    assert d["evidence"]["metric_gap"] == pytest.approx(vrmse[-1] - trmse[-1])  # val worse = positive


def test_regression_overfit_from_rmse_ratio():
    train = _decay(1.0, 0.10, N)
    val = _decay(1.0, 0.20, N)
    trmse = [math.sqrt(v) for v in train]
    vrmse = [1.5 * r for r in trmse]  # 1.5x > 1.25x
    d = diagnose(_history(train, val, trmse, vrmse, metric="rmse"), task="regression", metric="rmse")
    assert d["verdict"] == "overfitting" and "1.50x" in d["reasons"][0]


def test_regression_underfit_flat():
    train = _decay(1.0, 0.8, N)
    val = _decay(1.02, 0.82, N)
    d = diagnose(
        _history(train, val, [math.sqrt(v) for v in train], [math.sqrt(v) for v in val], metric="rmse"),
        task="regression",
        metric="rmse",
    )
    assert d["verdict"] == "underfitting"
    assert d["evidence"]["train_loss_drop"] == pytest.approx(1 - train[-1] / train[0])
    assert d["evidence"]["train_loss_drop"] < 0.5


def test_regression_good_fit():
    train = _decay(1.0, 0.10, N)
    val = _decay(1.0, 0.11, N)
    d = diagnose(
        _history(train, val, [math.sqrt(v) for v in train], [math.sqrt(v) for v in val], metric="rmse"),
        task="regression",
        metric="rmse",
    )
    assert d["verdict"] == "good fit"
    assert d["evidence"]["metric_ratio"] == pytest.approx(math.sqrt(val[-1] / train[-1]))


# --- no validation, errors, formatting ---------------------------------------------------------------


def test_without_validation_judges_training_only():
    good = diagnose(
        _history(_decay(1.0, 0.1, N), train_m=[0.98] * N), task="classification", metric="accuracy"
    )
    assert good["verdict"] == "good fit"
    assert good["evidence"]["has_validation"] is False and "best_val_epoch" not in good["evidence"]
    assert "no validation data" in good["reasons"][-1]
    assert "validation split" in good["advice"][-1]
    bad = diagnose(_history(_decay(1.0, 0.1, N), train_m=[0.6] * N), task="classification", metric="accuracy")
    assert bad["verdict"] == "underfitting"


def test_val_columns_with_none_cells_are_skipped():
    rows = _history(_decay(1.0, 0.1, N), _decay(1.0, 0.12, N), [0.98] * N, [0.97] * N)
    for row in rows[::2]:
        row["val_loss"] = None  # validated every other epoch, as metrics.csv's empty cells read back
    d = diagnose(rows, task="classification", metric="accuracy")
    assert d["verdict"] == "good fit" and d["evidence"]["best_val_epoch"] == N


@pytest.mark.parametrize(
    ("history", "task", "metric", "match"),
    [
        ([], "classification", "accuracy", "non-empty"),
        ([{"epoch": 1, "train_loss": 1.0}], "clasification", "accuracy", "unknown task"),
        ([{"epoch": 1, "train_loss": 1.0}], "regression", "rmes", r"did you mean 'rmse'"),
        ([{"epoch": 1, "val_loss": 1.0}], "regression", "rmse", "no 'train_loss'"),
        ([{"epoch": 1, "train_loss": "x"}], "regression", "rmse", "must be a number"),
        ([{"epoch": 1, "train_loss": 1.0, "train_accuracy": 95.0}], "classification", "accuracy", "fraction"),
    ],
)
def test_user_errors(history, task, metric, match):
    with pytest.raises(UserError, match=match):
        diagnose(history, task=task, metric=metric)


def test_format_diagnosis():
    train = _decay(2.0, 0.02, N)
    val = [0.5 + 0.002 * (e - 10) ** 2 for e in range(N)]
    text = format_diagnosis(diagnose(_history(train, val), task="classification", metric="accuracy"))
    lines = text.splitlines()
    assert lines[0].startswith("This run overfits: validation loss bottomed out at 0.5 in epoch 11")
    assert lines[1] == "Try:"
    assert lines[2] == f"  - {OVERFIT_ADVICE[0]}"


def test_final_eval_metrics_replace_the_running_train_metric():
    """With dropout the epoch rows' train accuracy is pulled down; the kept weights' eval metric decides."""
    hist = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.1 / e, "train_accuracy": 0.86, "val_accuracy": 0.95}
            for e in range(1, 8)]
    hist += [{"epoch": e, "train_loss": 0.14, "val_loss": 0.157, "train_accuracy": 0.86, "val_accuracy": 0.95}
             for e in range(8, 12)]
    assert diagnose(hist, task="classification", metric="accuracy")["verdict"] == "underfitting"
    final = {"train": {"accuracy": 0.99}, "val": {"accuracy": 0.96}}
    d = diagnose(hist, task="classification", metric="accuracy", final=final)
    assert d["verdict"] == "good fit"
    assert d["evidence"]["final_train_metric"] == 0.99 and d["evidence"]["metric_gap"] == pytest.approx(0.03)


def test_a_rise_discarded_by_early_stopping_does_not_make_the_kept_model_overfit():
    val = [1.0, 0.6, 0.4, 0.3, 0.25, 0.24, 0.26, 0.28, 0.30]  # bottoms out at epoch 6, then +25%
    hist = [{"epoch": i + 1, "train_loss": 0.9 * v, "val_loss": v, "train_accuracy": 0.97, "val_accuracy": 0.95}
            for i, v in enumerate(val)]
    for r in hist[6:]:
        r["train_loss"] = 0.1
    assert diagnose(hist, task="classification", metric="accuracy")["verdict"] == "overfitting"
    d = diagnose(hist, task="classification", metric="accuracy", kept_epoch=6)
    assert d["verdict"] == "good fit"
    assert d["evidence"]["val_loss_rise_discarded"] == pytest.approx(0.25)
    assert any("early stopping kept epoch 6" in r for r in d["reasons"])
    assert not any("interrupted" in r for r in d["reasons"])
    # stopped by Ctrl-C (patience not run out): the verdict says so, and does not credit early stopping
    d = diagnose(hist, task="classification", metric="accuracy", kept_epoch=6,
                 context={"interrupted": True, "epochs": 80, "early_stopping": True, "patience": 500})
    assert d["reasons"][0].startswith("you interrupted training after epoch 9 of 80"), d["reasons"]
    assert any("best weights restored at the interruption are epoch 6, before validation loss rose 25%" in r
               for r in d["reasons"]) and not any("early stopping kept" in r for r in d["reasons"]), d["reasons"]


def test_still_falling_loss_of_a_classifier_that_fits_its_data_is_not_underfitting():
    hist = [{"epoch": e, "train_loss": 0.5 * 0.9 ** e, "val_loss": 0.2 - 0.001 * e, "train_accuracy": 1.0,
             "val_accuracy": 0.96} for e in range(1, 11)]
    assert diagnose(hist, task="classification", metric="accuracy")["verdict"] == "good fit"
    for r in hist:
        r["train_accuracy"] = 0.95
    assert diagnose(hist, task="classification", metric="accuracy")["verdict"] == "underfitting"


# --- advice that fits the run -------------------------------------------------------------------------

CONTEXT = {"kind": "table", "augment": [], "dropout": 0.0, "batchnorm": True, "l1": 0.0, "l2": 0.0,
           "early_stopping": True, "stopped_early": False, "patience": 8, "epochs": 30, "lr": 3e-3}


def _overfit_history():
    train = _decay(2.0, 0.02, N)
    val = [0.5 + 0.002 * (e - 10) ** 2 for e in range(N)]
    tacc = [min(0.999, 0.6 + 0.02 * e) for e in range(N)]
    return _history(train, val, tacc, [min(0.85, a) for a in tacc])


def test_overfit_advice_names_only_remedies_the_run_does_not_use():
    d = diagnose(_overfit_history(), task="classification", metric="accuracy", context=CONTEXT)
    text = " ".join(d["advice"])
    assert d["verdict"] == "overfitting"
    assert "augment" not in text  # a table cannot be augmented
    assert "batch normalization" not in text and "early stopping" not in text  # both already on
    assert "--set model.dropout=0.3" in text and "--set train.l2=1e-4" in text
    image = {**CONTEXT, "kind": "image", "augment": ["flip", "crop"], "dropout": 0.2, "l2": 1e-4,
             "batchnorm": False, "early_stopping": False}
    text = " ".join(diagnose(_overfit_history(), task="classification", metric="accuracy", context=image)["advice"])
    assert "augment more strongly (now: flip, crop)" in text
    assert "Raise dropout (now model.dropout=0.2)" in text and "train.l2=0.0001" in text
    assert "--set model.batchnorm=true" in text and "--set train.early_stopping=true" in text
    assert "epoch 11" in text  # the best validation epoch early stopping would keep


def test_underfit_advice_only_suggests_less_regularization_when_there_is_some():
    train = _decay(2.3, 1.5, N)
    acc = [0.5] * N
    plain = diagnose(_history(train, train, acc, acc), task="classification", metric="accuracy", context=CONTEXT)
    assert plain["verdict"] == "underfitting"
    assert not any("less regularization" in a for a in plain["advice"])
    assert any("raise train.epochs (now 30)" in a for a in plain["advice"])
    reg = {**CONTEXT, "dropout": 0.5, "l2": 1e-3, "stopped_early": True}
    d = diagnose(_history(train, train, acc, acc), task="classification", metric="accuracy", context=reg)
    assert "Use less regularization (now train.l2=0.001, model.dropout=0.5)." in d["advice"]
    assert any("raise train.patience (now 8)" in a for a in d["advice"])


def test_validation_still_improving_at_the_last_epoch_means_train_longer():
    train = [1.0 * 0.8**e for e in range(6)]
    val = [1.1 * 0.9**e for e in range(6)]  # best at the last epoch, still 10% better per epoch
    acc = [0.93] * 6  # below FITS_TRAIN_ACCURACY: not finished and not fitting yet, so underfitting
    d = diagnose(_history(train, val, acc, acc), task="classification", metric="accuracy", context=CONTEXT)
    assert d["verdict"] == "underfitting"
    assert "training stopped too early" in d["reasons"][0]  # rule 2c says it first (and 2d not twice)
    assert "levelled off" not in " ".join(d["reasons"]).replace("before it levelled off", "")
    assert d["advice"][0] == "Train longer: raise train.epochs (now 30)."
    # fitting its training data (no bias left), validation close and still improving: a good fit, unfinished
    acc = [0.995] * 6
    d = diagnose(_history(train, val, acc, acc), task="classification", metric="accuracy", context=CONTEXT)
    assert d["verdict"] == "good fit"
    assert d["reasons"][0].startswith("the model fits its own training data (0.995 accuracy), and validation loss was "
                                      "still improving at the last epoch") and "more epochs may still help" in d["reasons"][0]
    assert d["advice"][0] == "Train longer: raise train.epochs (now 30)."
    assert not any(a.startswith("Keep this setup") or "capacity" in a for a in d["advice"])
    # the same with a wide train-validation gap: not finished (validation has not reached the bottom of its U), the
    # gap one to watch, and no capacity advice either way (test_an_unfinished_run_with_a_gap_... below)
    d = diagnose(_history(train, val, acc, [0.85] * 6), task="classification", metric="accuracy", context=CONTEXT)
    assert d["verdict"] == "unfinished" and "a gap to watch" in " ".join(d["reasons"])
    assert d["advice"][0] == "Train longer: raise train.epochs (now 30)."


def test_an_unfinished_run_with_a_gap_is_told_to_train_longer_and_not_to_shrink_the_model():
    # the newcomer's mnist1d run at 5 epochs (metrics.csv, and the kept weights' train/val accuracy in eval mode):
    # validation loss still falling 17.6% per epoch, train 0.991 against validation 0.919. It read "This run
    # overfits", then "Train longer" beside "Use a smaller model": two opposite steps.
    train = [1.64733, 0.678064, 0.320971, 0.177146, 0.116264]
    val = [1.19511, 0.507659, 0.354482, 0.271654, 0.23947]
    tacc, vacc = [0.439284, 0.794475, 0.913479, 0.960534, 0.984214], [0.573654, 0.830028, 0.872521, 0.899433, 0.919263]
    final = {"train": {"accuracy": 0.9914996964177292}, "val": {"accuracy": 0.9192634560906515}}
    ctx = {**CONTEXT, "model": "cnn", "kind": "signal", "widths": [32, 64], "epochs": 5, "early_stopping": False}
    d = diagnose(_history(train, val, tacc, vacc), task="classification", metric="accuracy", final=final, context=ctx)
    assert d["verdict"] == "unfinished"
    assert d["evidence"]["recent_val_drop"] == pytest.approx(((0.354482 - 0.23947) / 0.354482) / 2, rel=0.2)
    assert d["reasons"][0].startswith("the model fits its own training data (0.991 accuracy), and validation loss was "
                                      "still improving at the last epoch (17.6% per epoch")
    assert "0.072 above validation 0.919" in d["reasons"][1] and "a gap to watch" in d["reasons"][1]
    assert d["advice"][0] == "Train longer: raise train.epochs (now 5)."
    assert d["advice"][1].startswith("Turn on early stopping (--set train.early_stopping=true)")
    text = format_diagnosis(d)
    assert text.startswith("This run is not finished: ")
    for step in ("smaller model", "capacity", "widen", "overfits:", "Keep this setup"):
        assert step not in text
    # with early stopping already on, train longer first, then a line on what early stopping does for the
    # gap (README promises early stopping beside "train longer"; newcomer 7 R20 found no word of it)
    d = diagnose(_history(train, val, tacc, vacc), task="classification", metric="accuracy", final=final,
                 context={**ctx, "early_stopping": True, "patience": 10})
    assert d["verdict"] == "unfinished" and d["advice"] == [
        "Train longer: raise train.epochs (now 5).",
        "Keep early stopping on (now train.patience=10): the longer run then keeps the weights of its best validation "
        "epoch should the gap start to cost validation loss."]


# --- with baselines -----------------------------------------------------------------------------------


def _baselines(train, val, metric="accuracy"):
    return {"majority": {"train": {metric: 0.4}, "val": {metric: 0.4}, "test": {metric: 0.4}},
            "linear": {"train": {metric: train}, "val": {metric: val}, "test": {metric: val}},
            "boosting": {"train": {metric: train - 0.1}, "val": {metric: val - 0.1}, "test": {metric: val - 0.1}}}


def test_a_baseline_that_does_as_well_on_validation_is_named():
    train, val = _decay(2.0, 0.1, N), _decay(2.1, 0.15, N)
    hist = _history(train, val, [0.96] * N, [0.95] * N)
    d = diagnose(hist, task="classification", metric="accuracy", baselines=_baselines(0.97, 0.96))
    assert d["verdict"] == "good fit"
    assert any("the network does no better than a linear model (val accuracy 0.960 vs the network's 0.950): it adds "
               "nothing here" in r for r in d["reasons"])
    assert d["advice"][0].startswith("Prefer a linear model here")  # within RIVAL_TIE: as good, and simpler
    assert d["evidence"]["baseline"] == "linear" and d["evidence"]["baseline_val_metric"] == 0.96
    plain = diagnose(hist, task="classification", metric="accuracy")
    assert not any("linear" in r for r in plain["reasons"])
    # the same through context, as a run passes what it used
    via = diagnose(hist, task="classification", metric="accuracy", context={"baselines": _baselines(0.97, 0.96)})
    assert via["reasons"] == d["reasons"]


def test_below_the_baseline_on_training_data_underfits_without_a_fixed_threshold():
    train, val = _decay(2.0, 0.3, N), _decay(2.1, 0.35, N)
    hist = _history(train, val, [0.93] * N, [0.92] * N)  # above the fixed 0.90 threshold
    assert diagnose(hist, task="classification", metric="accuracy")["verdict"] == "good fit"
    d = diagnose(hist, task="classification", metric="accuracy", baselines=_baselines(1.0, 0.97))
    assert d["verdict"] == "underfitting"
    assert "0.070 below a linear model (1.000)" in d["reasons"][0]
    # 0.85 train accuracy is under the fixed threshold, but a baseline that does no better clears it
    low = _history(train, val, [0.85] * N, [0.84] * N)
    assert diagnose(low, task="classification", metric="accuracy")["verdict"] == "underfitting"
    assert diagnose(low, task="classification", metric="accuracy",
                    baselines=_baselines(0.86, 0.80))["verdict"] == "good fit"


def test_regression_compares_errors_with_the_better_baseline():
    train, val = _decay(1.0, 0.7, N), _decay(1.05, 0.75, N)  # only 30% of the loss removed: flat by the fixed rule
    hist = _history(train, val, [50.0] * N, [52.0] * N, metric="rmse")
    assert diagnose(hist, task="regression", metric="rmse")["verdict"] == "underfitting"
    base = {"linear": {"train": {"rmse": 51.0}, "val": {"rmse": 53.0}},
            "boosting": {"train": {"rmse": 40.0}, "val": {"rmse": 56.0}}}
    assert diagnose(hist, task="regression", metric="rmse", baselines=base)["verdict"] == "good fit"
    worse = {"linear": {"train": {"rmse": 40.0}, "val": {"rmse": 45.0}}}
    d = diagnose(hist, task="regression", metric="rmse", baselines=worse)
    assert d["verdict"] == "underfitting"
    assert "1.25x that of a linear model" in d["reasons"][0]
    assert any("a linear model does better than the network (val rmse 45 vs the network's 52)" in r for r in d["reasons"])


def test_an_accuracy_gap_of_under_two_validation_samples_is_not_overfitting():
    tacc, vacc = [0.5, 0.6, 0.70, 0.732], [0.5, 0.58, 0.64, 0.667]  # gap 0.065 on 12 images: < 1 image
    # validation levelled off at epoch 3 (still improving at the last epoch would mean "train longer" first)
    train, val = [1.0, 0.8, 0.7, 0.65], [1.0, 0.85, 0.75, 0.75]
    small = diagnose(_history(train, val, tacc, vacc), task="classification", metric="accuracy",
                     context={**CONTEXT, "val_samples": 12})
    assert small["verdict"] != "overfitting"
    large = diagnose(_history(train, val, tacc, vacc), task="classification", metric="accuracy",
                     context={**CONTEXT, "val_samples": 1000})
    assert large["verdict"] == "overfitting" and "(more than 0.05)" in large["reasons"][0]


def test_a_baseline_as_good_replaces_keep_this_setup():
    train, val = _decay(1.0, 0.10, N), _decay(1.05, 0.12, N)
    tacc = [min(0.97, 0.5 + 0.05 * e) for e in range(N)]
    vacc = [a - 0.01 for a in tacc]
    base = {"linear": {"train": {"accuracy": 0.97}, "val": {"accuracy": 0.99}, "test": {"accuracy": 0.99}}}
    d = diagnose(_history(train, val, tacc, vacc), task="classification", metric="accuracy", baselines=base,
                 context=CONTEXT)
    assert any("a linear model does better than the network (val accuracy 0.990" in r for r in d["reasons"])
    assert not any(a in GOOD_FIT_ADVICE for a in d["advice"])


def test_a_gap_while_validation_still_improves_in_a_short_run_means_train_longer():
    # a 3-epoch mnist1d run (numbers from one): validation loss still falling fast at its best, last epoch
    train, val = [1.647, 0.678, 0.323], [1.198, 0.513, 0.373]
    tacc, vacc = [0.44, 0.79, 0.961], [0.58, 0.83, 0.898]  # gap 0.063: rule 1b alone would say overfitting
    d = diagnose(_history(train, val, tacc, vacc), task="classification", metric="accuracy", context=CONTEXT)
    assert d["verdict"] == "underfitting"
    assert d["evidence"]["recent_val_drop"] == pytest.approx((1 - 0.373 / 1.198) / 2)
    assert "still improving at the last epoch" in d["reasons"][0] and "over the last 2" in d["reasons"][0]
    assert "judge that gap once validation loss has levelled off" in d["reasons"][1]
    assert d["advice"][0] == "Train longer: raise train.epochs (now 30)."
    # the same gap once validation has levelled off is overfitting
    flat = diagnose(_history(train + [0.2, 0.15], val + [0.372, 0.372], tacc + [0.97, 0.97], vacc + [0.9, 0.9]),
                    task="classification", metric="accuracy", context=CONTEXT)
    assert flat["verdict"] == "overfitting"
