"""The report's numbers against references: scikit-learn, a hand-computed Wilson interval, numpy."""

import math

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score, roc_curve

from idealfit.report.evidence import EVIDENCE, describe
from idealfit.report.stats import (
    bootstrap_rmse_interval,
    confident_mistakes,
    per_class_scores,
    roc_curve_points,
    wilson_interval,
)


def test_wilson_interval_by_hand():
    # 90 of 100 at z = 1.96: centre (0.9 + 1.9208/100) / 1.038416 = 0.885202;
    # half = 1.96 / 1.038416 * sqrt(0.0009 + 0.00009604) = 0.059569.
    lo, hi = wilson_interval(90, 100, z=1.96)
    assert lo == pytest.approx(0.885202 - 0.059569, abs=1e-5)
    assert hi == pytest.approx(0.885202 + 0.059569, abs=1e-5)
    # All correct: the upper end is 1 and the lower end n / (n + z²), not 1 as the normal approximation says.
    lo, hi = wilson_interval(20, 20, z=1.96)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(20 / (20 + 1.96**2))
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


def test_bootstrap_rmse_interval_is_seeded_and_brackets_the_rmse():
    rng = np.random.default_rng(3)
    y_true = rng.normal(size=200)
    y_pred = y_true + rng.normal(scale=0.5, size=200)
    rmse = math.sqrt(np.mean((y_pred - y_true) ** 2))
    lo, hi = bootstrap_rmse_interval(y_true, y_pred)
    assert lo < rmse < hi and hi - lo < 0.3
    assert bootstrap_rmse_interval(y_true, y_pred) == (lo, hi)  # fixed seed: same report every rebuild
    # The same computation written out: 1000 resamples of the pairs, the 2.5th and 97.5th percentiles.
    idx = np.random.default_rng(0).integers(0, 200, size=(1000, 200))
    ref = np.sqrt(((y_pred[idx] - y_true[idx]) ** 2).mean(axis=1))
    assert (lo, hi) == pytest.approx(tuple(np.percentile(ref, [2.5, 97.5])))
    assert bootstrap_rmse_interval(y_true, y_pred, seed=1) != (lo, hi)  # the seed is used


@pytest.mark.parametrize("k", [2, 3, 10])
def test_per_class_scores_match_sklearn(k):
    rng = np.random.default_rng(k)
    y_true = rng.integers(0, k, size=300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, k, size=300))
    y_pred[y_pred == k - 1] = 0  # the last class is never predicted: precision 0, not NaN
    got = per_class_scores(y_true, y_pred, k)
    ref = precision_recall_fscore_support(y_true, y_pred, labels=np.arange(k), zero_division=0)
    for name, expected in zip(("precision", "recall", "f1", "support"), ref, strict=True):
        np.testing.assert_allclose(got[name], expected, err_msg=name)


def test_roc_matches_sklearn_with_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=150)
    score = np.round(np.clip(0.3 * y + rng.random(150) * 0.7, 0, 1), 2)  # rounded: many tied scores
    fpr, tpr, auc = roc_curve_points(y, score)
    assert auc == pytest.approx(roc_auc_score(y, score))
    ref_fpr, ref_tpr, _ = roc_curve(y, score, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)


def test_confident_mistakes_most_confident_wrong_first():
    y_true = np.array([0, 1, 1, 0, 2, 2])
    y_pred = np.array([0, 0, 2, 1, 2, 0])
    proba = np.array([[.9, .05, .05], [.6, .3, .1], [.1, .2, .7], [.45, .55, 0], [0, 0, 1], [.6, .1, .3]])
    # wrong: positions 1 (0.6 on class 0), 2 (0.7 on 2), 3 (0.55 on 1), 5 (0.6 on 0); ties keep order
    np.testing.assert_array_equal(confident_mistakes(y_true, y_pred, proba), [2, 1, 5, 3])
    np.testing.assert_array_equal(confident_mistakes(y_true, y_pred, proba, limit=2), [2, 1])
    assert confident_mistakes(y_true, y_true, proba).size == 0


def test_every_diagnosis_key_has_plain_words():
    from idealfit.diagnose import diagnose

    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e if e < 4 else 0.5 + e / 10,
                "train_accuracy": 0.5 + e / 20, "val_accuracy": 0.5 + e / 25} for e in range(1, 9)]
    baselines = {"linear": {k: {"accuracy": 0.9} for k in ("train", "val", "test")}}
    evidence = diagnose(history, task="classification", metric="accuracy", kept_epoch=3, baselines=baselines,
                        context={"val_samples": 40})["evidence"]
    assert "val_loss_rise_discarded" in evidence
    missing = sorted(set(evidence) - set(EVIDENCE))
    assert not missing, f"add plain names for {missing} to report/evidence.py"
    name, meaning = describe("val_loss_rise_discarded")
    assert "relative — discarded by early stopping" in name
    assert meaning == "how much worse validation got after the weights we kept (10% = 10% worse)"


def test_unknown_evidence_key_is_readable():
    assert describe("new_rule_score") == ("New rule score", "")
