"""Task.evaluate_metrics: each task's per-sample test metrics for `Run.evaluate`, against hand computations
(the end-to-end checks, evaluate equal to training's test metrics, are in test_forecasting, test_anomaly and
test_convention)."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from idealfit.config import DataConfig
from idealfit.tasks import TASKS


def test_a_forecasts_smape_in_data_units():
    state = {"mean": 10.0, "std": 2.0, "naive_mae": 1.0, "horizon": 2}
    out, y = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, -1.0]])  # standardized: predicts 10, 12; truth 11, 8
    got = TASKS["forecasting"].evaluate_metrics(out, y, state, labels=np.zeros(1), class_names=None, data=DataConfig())
    assert got == {"smape": pytest.approx((200 * 1 / 21 + 200 * 4 / 20) / 2)}  # 200·|ŷ-y| / (|y|+|ŷ|), averaged


def test_an_autoencoders_anomaly_auroc_ranks_the_other_classes_by_mean_squared_error():
    task = TASKS["reconstruction"]
    d = torch.tensor([0.4, 0.5, 0.3, 0.2])  # each sample's error, the same on each of its 2x3 values
    y = torch.zeros(4, 1, 2, 3)
    out = y + d.reshape(4, 1, 1, 1)
    labels, names = np.array([0, 1, 2, 1]), ["a", "b", "c"]
    got = task.evaluate_metrics(out, y, None, labels=labels, class_names=names, data=DataConfig(normal_classes=["a"]))
    # the normal sample's error (0.16) beats one anomaly of three (0.25 > 0.16 > 0.09, 0.04)
    assert got == {"anomaly_auroc": pytest.approx(1 / 3)}
    assert got["anomaly_auroc"] == pytest.approx(roc_auc_score(labels != 0, (d ** 2).numpy()))
    assert task.evaluate_metrics(out, y, None, labels=labels, class_names=names, data=DataConfig()) == {}  # no normal_classes


@pytest.mark.parametrize("name", ["classification", "regression", "segmentation", "translation"])
def test_tasks_whose_test_metrics_are_all_sums_add_none(name):
    out, y = torch.zeros(2, 3), torch.zeros(2, dtype=torch.long)
    assert TASKS[name].evaluate_metrics(out, y, None, labels=np.zeros(2), class_names=["a", "b", "c"],
                                        data=DataConfig()) == {}
