"""Anomaly detection (data.normal_classes): an autoencoder trained on the normal classes ranks the others by
its reconstruction error, beside PCA's error used the same way, and a saved run scores it again."""

import numpy as np
import pytest

import idealfit as fit
from idealfit.errors import UserError
from idealfit.train.session import format_summary

SMALL = {"train.progress": False, "train.threads": "1", "model.widths": [4], "model.latent": 4}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return fit.train(data="digits", task="reconstruction", epochs=5, out=tmp_path_factory.mktemp("ae") / "run",
                     verbose=False, set={"train.progress": False, "train.threads": "1",
                                         "data.normal_classes": [0, 1, 2, 3, 4]})


def test_the_test_split_keeps_every_class_and_is_ranked(run):
    s = run.summary
    auroc, pca = s["metrics"]["test"]["anomaly_auroc"], s["baselines"]["pca"]["test"]["anomaly_auroc"]
    assert 0.5 < auroc <= 1 and 0.5 < pca <= 1  # both rank digits 5-9 above 0-4 better than chance
    assert "anomaly_auroc" not in s["metrics"]["val"]  # validation holds the normal classes only
    line = next(x for x in format_summary(run).splitlines() if "anomalies" in x)
    assert f"ROC AUC {auroc:.3f}" in line and f"PCA's error: {pca:.3f}" in line


def test_a_saved_run_scores_the_anomalies_again(run):
    again = fit.load_run(run.dir)
    assert again.evaluate()["anomaly_auroc"] == pytest.approx(run.summary["metrics"]["test"]["anomaly_auroc"], abs=1e-6)


def test_the_mean_baseline_is_the_constant_to_beat(run):
    mean = run.summary["baselines"]["mean"]
    assert 0 < mean["val"]["mse"] < 1.05  # each pixel's training mean: below the per-channel mean's ~1
    assert run.summary["baselines"]["pca"]["val"]["mse"] < mean["val"]["mse"]


@pytest.mark.parametrize("value, task, words", [
    ([11], "reconstruction", "names '11', but digits has classes 0, 1"),
    (list(range(10)), "reconstruction", "lists every class of digits"),
    ([0], "classification", "add --task reconstruction"),  # (model.latent is refused first without it)
])
def test_bad_normal_classes_are_refused_in_one_line(tmp_path, value, task, words):
    with pytest.raises(UserError, match=words) as err:
        fit.train(data="digits", task=task, epochs=1, out=tmp_path / "bad", verbose=False,
                  set={**(SMALL if task == "reconstruction" else {}), "data.normal_classes": value})
    assert "\n" not in str(err.value)
    assert not (tmp_path / "bad" / "summary.json").exists()


def test_training_and_validation_hold_the_normal_classes_only(run):
    from sklearn.datasets import load_digits

    y = load_digits().target
    split = np.load(run.dir / "split.npz")
    assert set(y[split["train"]]) == set(y[split["val"]]) == {0, 1, 2, 3, 4}
    assert set(y[split["test"]]) == set(range(10))
    assert run.summary["train_samples"] == len(split["train"])
