"""A network no better than its task's constant baseline on validation (the majority class, the training mean, the
mean target image) is never "a good fit": it is underfitting, with the remedies first. Unit tests on made-up
histories and baselines, and one tiny real run on a CSV whose target is noise."""

import math

import numpy as np
import pandas as pd
import pytest

import idealfit as fit
from idealfit.diagnose import diagnose, format_diagnosis

N = 20
CONTEXT = {"kind": "image", "augment": [], "dropout": 0.0, "batchnorm": True, "l1": 0.0, "l2": 0.0,
           "early_stopping": False, "stopped_early": False, "patience": 8, "epochs": 20, "lr": 1e-3}


def _levelled(metric, train_m, val_m, **extra):
    """Levelled, close loss curves (the curve rules alone say "good fit") with a flat metric."""
    loss = [0.3 + 0.7 * math.exp(-0.5 * e) for e in range(N)]
    rows = [{"epoch": e + 1, "train_loss": tl, "val_loss": tl * 1.02, f"train_{metric}": train_m,
             f"val_{metric}": val_m} for e, tl in enumerate(loss)]
    for key, value in extra.items():
        for row in rows:
            row[key] = value
    return rows


def _const(key, metric, val, train=None, test=None):
    return {key: {"train": {metric: val if train is None else train}, "val": {metric: val},
                  "test": {metric: val if test is None else test}}}


# (task, metric, constant's key, network's score, a constant that ties it, one it beats)
CASES = [("classification", "accuracy", "majority", 0.95, 0.95, 0.949),
         ("regression", "rmse", "mean", 2.0, 2.0, 2.01),
         ("segmentation", "dice", "majority", 0.93, 0.93, 0.92),
         ("translation", "l1", "mean", 0.1, 0.1, 0.11),
         ("reconstruction", "mse", "mean", 0.5, 0.5, 0.51)]


@pytest.mark.parametrize("task,metric,key,net,tie,beaten", CASES)
def test_no_better_than_the_constant_on_validation_is_underfitting_never_a_good_fit(task, metric, key, net, tie,
                                                                                    beaten):
    rows = _levelled(metric, net, net)
    assert diagnose(rows, task=task, metric=metric, context=CONTEXT)["verdict"] == "good fit"  # the curves alone
    d = diagnose(rows, task=task, metric=metric, context=CONTEXT, baselines=_const(key, metric, tie))
    assert d["verdict"] == "underfitting" and not format_diagnosis(d).startswith("This run fits well")
    said = [r for r in d["reasons"] if "no better than" in r or "does as well" in r]
    assert len(said) == 1, d["reasons"]  # once, whether or not the constant is also one of the task's rivals
    assert not any(r.startswith("training has levelled off") for r in d["reasons"])
    # the remedies first: the constant's line (with checking the labels), then train longer, capacity, lr
    assert d["advice"][0].startswith("The network does no better than") and "try the steps below" in d["advice"][0]
    assert not any(a.startswith("Keep this setup") for a in d["advice"])
    steps = " ".join(d["advice"][1:])
    assert "Train longer" in steps and "learning rate" in steps and "capacity" in steps
    # a network strictly better than the constant keeps its good fit
    ok = diagnose(rows, task=task, metric=metric, context=CONTEXT, baselines=_const(key, metric, beaten))
    assert ok["verdict"] == "good fit" and "no better than" not in " ".join(ok["reasons"] + ok["advice"])


def test_the_reason_names_the_constant_and_both_scores():
    d = diagnose(_levelled("accuracy", 0.95, 0.95), task="classification", metric="accuracy", context=CONTEXT,
                 baselines=_const("majority", "accuracy", 0.951))
    assert ("the network does no better than the majority class (the training split's most frequent class, always) "
            "on validation (val accuracy 0.951 vs 0.950): it has learned nothing beyond a constant") in d["reasons"]
    assert "check that the targets belong to their inputs" in d["advice"][0]


def test_only_validation_feeds_the_rule():
    # the constant beats the network on the training and test splits, not on validation: no rule fires
    base = _const("mean", "rmse", 2.1, train=1.0, test=1.0)
    d = diagnose(_levelled("rmse", 2.0, 2.0), task="regression", metric="rmse", context=CONTEXT, baselines=base)
    assert d["verdict"] == "good fit"
    # and `final` (the kept weights in eval mode) is the validation score read, not the last epoch's running one
    final = {"train": {"rmse": 2.0}, "val": {"rmse": 2.2}}
    d = diagnose(_levelled("rmse", 2.0, 2.0), task="regression", metric="rmse", context=CONTEXT, baselines=base,
                 final=final)
    assert d["verdict"] == "underfitting" and "(val rmse 2.1 vs 2.2)" in " ".join(d["reasons"])


def test_a_fitted_rival_no_better_than_the_constant_is_not_recommended():
    # a table whose target is noise: linear and boosting tie with the majority class, as does the network
    base = {**_const("majority", "accuracy", 0.92), **_const("linear", "accuracy", 0.92),
            **_const("boosting", "accuracy", 0.9)}
    d = diagnose(_levelled("accuracy", 0.93, 0.92), task="classification", metric="accuracy", context=CONTEXT,
                 baselines=base)
    assert d["verdict"] == "underfitting"
    assert not any("Prefer a linear model" in a for a in d["advice"]) and "linear" not in " ".join(d["reasons"])
    # a linear model that does beat the constant is still named beside it
    base.update(_const("linear", "accuracy", 0.96))
    d = diagnose(_levelled("accuracy", 0.93, 0.92), task="classification", metric="accuracy", context=CONTEXT,
                 baselines=base)
    assert any("a linear model does better" in r for r in d["reasons"])
    assert d["advice"][0].startswith("The network does no better than the majority class")


def test_an_overfitting_verdict_stays_and_names_the_constant():
    # a network that memorized a noise target: perfect on training, the majority's score on validation
    rows = _levelled("accuracy", 1.0, 0.6)
    d = diagnose(rows, task="classification", metric="accuracy", context=CONTEXT,
                 baselines=_const("majority", "accuracy", 0.6))
    assert d["verdict"] == "overfitting"
    assert any("it has learned nothing beyond a constant" in r for r in d["reasons"])


def test_a_gan_is_not_held_to_the_mean_image():
    # L1 rewards the blurry mean, which the discriminator pushes the generator away from (see test_diagnose_tasks)
    rows = _levelled("l1", 0.1, 0.1, train_g_adv=2.0, train_d_loss=0.6)
    d = diagnose(rows, task="translation", metric="l1", context={**CONTEXT, "kind": "image_pair"},
                 baselines=_const("mean", "l1", 0.095))
    assert d["verdict"] == "good fit" and "as expected of a GAN" in " ".join(d["reasons"])


def test_a_constant_perfect_on_validation_is_nothing_to_beat():
    # a tiny validation split that holds one class: the majority class scores 1.0 there, and so does a good network
    d = diagnose(_levelled("accuracy", 1.0, 1.0), task="classification", metric="accuracy", context=CONTEXT,
                 baselines=_const("majority", "accuracy", 1.0))
    assert d["verdict"] == "good fit"
    d = diagnose(_levelled("accuracy", 1.0, 0.999), task="classification", metric="accuracy", context=CONTEXT,
                 baselines=_const("majority", "accuracy", 0.999))
    assert d["verdict"] == "underfitting"


def test_without_validation_the_rule_cannot_run():
    rows = [{k: v for k, v in r.items() if not k.startswith("val_")} for r in _levelled("accuracy", 0.95, 0.95)]
    d = diagnose(rows, task="classification", metric="accuracy", context=CONTEXT,
                 baselines=_const("majority", "accuracy", 0.99))
    assert "no better than" not in " ".join(d["reasons"])


def test_a_real_run_on_a_noise_target_is_not_called_a_good_fit(tmp_path):
    """93% of rows one class, the rest drawn at random: nothing to learn beyond the majority class. Before this
    rule the run read "This run fits well: training has levelled off and validation stays close to it"."""
    from idealfit.train.session import format_summary

    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"x{i}": rng.normal(size=600) for i in range(5)})
    df["label"] = np.where(rng.random(600) < 0.93, "ok", "fault")
    df.to_csv(tmp_path / "noise.csv", index=False)
    run = fit.train(data=str(tmp_path / "noise.csv"), target="label", epochs=20, out=tmp_path / "run", verbose=False,
                    set={"train.progress": False})
    s = run.summary
    majority = s["baselines"]["majority"]["val"]["accuracy"]
    assert s["metrics"]["val"]["accuracy"] <= majority
    assert s["diagnosis"]["verdict"] == "underfitting"
    assert any("no better than the majority class" in r for r in s["diagnosis"]["reasons"])
    assert "This run fits well" not in format_summary(run)
