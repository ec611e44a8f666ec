"""Denoising MNIST-1D with the defaults: `idealfit train --data mnist1d --task reconstruction
--set data.noise=0.5`, against the run's own baselines on the same split (identity: the noisy input as it
is; PCA with model.latent components fitted on the clean training split) and a 3-point moving average.

Signals are standardized on the training split and σ and the MSE are in those units. Target (issue 9):
test MSE <= 0.12 (references measured on the same data: identity 0.25, moving average 0.149, PCA-16 0.172).

Measured (2-core CPU, torch 2.13 CPU, 2026-11-27): test MSE 0.119 / 0.119 / 0.120 over seeds 0-2 in 10-13 s
(60 epochs); identity 0.248, PCA-32 0.204 (a 16-wide code: PCA-16 0.171, the autoencoder ~0.16), moving
average 0.143. Since the test split has its own noise draw (not validation's), 2026-11-28, shared CPU at load
6.3-7.4: test MSE 0.1200 / 0.1204 / 0.1207 (52-60 s), identity 0.252, PCA-32 0.208, moving average 0.144:
the new draw is a little harsher for every model (identity +1.7%); the same figures again at a quieter moment
in 12-15 s. Tried, not kept: 90 and 120 epochs (seeds 0-2: test .1185 .1273 .1191 and .1263 .1282 .1183):
early stopping, which waits out the one-cycle ramp, then stops some seeds at epochs 50-54 in the high-lr
middle of the longer cycle and keeps a worse model.

    python benchmarks/denoising.py          # the defaults
    python benchmarks/denoising.py --tiny   # seconds: 2 epochs
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

import idealfit as fit


def moving_average_mse(run) -> float:
    """A 3-point moving average of the noisy test signals (edges: 2 points), against the clean ones."""
    from idealfit.data.prepare import load_dataset, prepare  # the run's own split and units

    cfg = run.config.data
    ds = load_dataset(cfg)
    split = np.load(run.dir / "split.npz")
    prep = prepare(ds, {k: split[k] for k in ("train", "val", "test")} | {"stratified": False, "seed": 0}, cfg=cfg)
    noisy, clean = prep.x["test"][:, 0], prep.y["test"][:, 0]  # (N, L)
    pad = np.pad(noisy, ((0, 0), (1, 1)), mode="edge")
    smooth = (pad[:, :-2] + pad[:, 1:-1] + pad[:, 2:]) / 3
    return float(((smooth - clean) ** 2).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true", help="2 epochs: checks that it runs")
    args = ap.parse_args()
    settings = {"train.progress": False, "data.noise": 0.5}
    if args.tiny:
        settings["train.epochs"] = 2
    with tempfile.TemporaryDirectory() as d:
        r = fit.train(data="mnist1d", task="reconstruction", out=f"{d}/run", verbose=False, set=settings)
        s = r.summary
        b = s["baselines"]
        print(f"autoencoder test mse {s['metrics']['test']['mse']:.4f} ({s['epochs_run']} epochs, {s['seconds']:.1f} s, "
              f"{s['params']:,} params)")
        print(f"baselines   identity {b['identity']['test']['mse']:.4f}  pca-{r.config.model.latent} "
              f"{b['pca']['test']['mse']:.4f}  moving average (3) {moving_average_mse(r):.4f}")
        print(f"ratio to the better baseline: {s['metrics']['test']['mse'] / min(b['identity']['test']['mse'], b['pca']['test']['mse']):.2f}")


if __name__ == "__main__":
    main()
