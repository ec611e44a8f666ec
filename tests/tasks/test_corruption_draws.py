"""A denoising run's validation and test splits each get their own fixed, seeded corruption."""

import numpy as np
import pytest

import idealfit as fit
from idealfit.config import DataConfig
from idealfit.data.prepare import load_dataset, prepare
from idealfit.data.split import split_indices
from idealfit.tasks.reconstruction import CORRUPTION_SEED, Corruption


def _prepared(noise=0.5):
    cfg = DataConfig(name="digits", task="reconstruction", noise=noise)
    ds = load_dataset(cfg)
    return prepare(ds, split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=0), cfg=cfg)


def test_validation_and_test_noise_are_different_draws_and_reproducible():
    prep = _prepared()
    noise = {s: prep.x[s] - prep.y[s] for s in ("val", "test")}  # the corruption each split's inputs carry
    n = min(len(noise["val"]), len(noise["test"]))
    # the same seed gave both splits the very same noise, sample for sample (identity baselines equal to 7 digits)
    assert not np.allclose(noise["val"][:n], noise["test"][:n], atol=1e-4)
    assert abs(np.corrcoef(noise["val"][:n].ravel(), noise["test"][:n].ravel())[0, 1]) < 0.05
    assert noise["test"].std() == pytest.approx(0.5, rel=0.02)
    again = _prepared()
    np.testing.assert_array_equal(again.x["test"], prep.x["test"])
    np.testing.assert_array_equal(again.x["val"], prep.x["val"])


def test_evaluate_repeats_the_test_draw_and_an_older_run_keeps_its_own(tmp_path):
    run = fit.train(data="digits", task="reconstruction", epochs=1, out=tmp_path / "ae", verbose=False,
                    set={"train.progress": False, "train.threads": "1", "data.train_subset": 60, "data.noise": 0.5,
                         "model.widths": [4], "model.latent": 4})
    s = run.summary
    assert s["baselines"]["identity"]["val"]["mse"] != pytest.approx(s["baselines"]["identity"]["test"]["mse"], rel=1e-4)
    again = fit.load_run(run.dir)
    assert again.evaluate()["mse"] == pytest.approx(s["metrics"]["test"]["mse"], rel=1e-5)
    x = np.zeros((2, 1, 8, 8), np.float32)
    del again.state["reconstruction"]["test_seed"]  # preprocess.json of a run from before: val's seed for both
    np.testing.assert_array_equal(again._seen(x), Corruption(noise=0.5, mask_prob=0.0).fixed(x, seed=CORRUPTION_SEED))
