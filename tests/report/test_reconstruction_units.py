"""A reconstruction report gives its headline in the units of its metric table and baselines (standardized)."""

import json

import numpy as np

import idealfit
from idealfit.report.html import build_run_report
from idealfit.report.stats import bootstrap_mean_interval
from idealfit.train.session import format_summary


def test_the_headline_mse_is_in_the_baselines_units_and_says_so(tmp_path):
    out = tmp_path / "ae"
    run = idealfit.train(data="digits", task="reconstruction", epochs=2, out=out, verbose=False,
                         set={"train.progress": False, "train.threads": "1", "data.train_subset": 60,
                              "data.noise": 0.5, "model.widths": [4], "model.latent": 4})
    s = json.loads((out / "summary.json").read_text())
    test_mse = s["metrics"]["test"]["mse"]
    page = build_run_report(out).read_text()
    # digits' pixels lie in [0, 1] (std ~0.37): in data units the same errors are ~7x smaller
    pred, std = np.load(out / "predictions.npz"), json.loads((out / "preprocess.json").read_text())["target"]["std"]
    per_sample = (((pred["y_pred"] - pred["y_true"]) / np.asarray(std).reshape(1, -1, 1, 1)) ** 2).mean(axis=(1, 2, 3))
    assert abs(per_sample.mean() / test_mse - 1) < 1e-4
    lo, hi = bootstrap_mean_interval(per_sample)
    assert f"<dt>test mse (standardized units)</dt><dd>{per_sample.mean():.4g}</dd>" in page
    assert f"<dt>test mse (standardized units), 95% interval</dt><dd>{lo:.4g} – {hi:.4g}</dd>" in page
    assert f"{test_mse:.4g}" == f"{per_sample.mean():.4g}"  # the metric table's test mse, the baselines' units
    raw = float(np.mean((pred["y_pred"] - pred["y_true"]) ** 2))
    assert raw < test_mse / 3 and "data units" not in page.split('id="diagnosis"')[0]
    assert (f"In the data's own units (e.g. pixel values) the test mse is {raw:.4g}, not comparable with the "
            "numbers above.") in page
    assert "returning the noisy input about data.noise² = 0.25" in page
    summary = format_summary(run)
    assert f"test {test_mse:.4g}  (standardized units, as the baselines)" in summary
