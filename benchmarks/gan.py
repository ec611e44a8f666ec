"""What the discriminator adds: `idealfit study gan --data labels2shapes` with its defaults, timed.

Target (issue 10): on 2 CPU cores the whole study (the FCN-score's segmenter, L1 only, L1 + cGAN, their
reports) in under 10 minutes; L1 + cGAN closer to real sharpness than L1 alone (|1 − sharpness_ratio|
smaller) while its FCN mean IoU stays within 10% of the L1-only one. Printed: the study's table, the
verdict, the wall time and its ratio to the 10-minute budget, and the time per epoch of each variant.

    python benchmarks/gan.py              # the defaults: 1400 training pairs of 64 px, 10 epochs per variant
    python benchmarks/gan.py --seeds 3    # three seeds per variant
    python benchmarks/gan.py --tiny       # seconds: 60 pairs of 32 px, 1 epoch, tiny networks

Measured (2-core CPU machine, quiet, torch 2.13 CPU, 2026-11-27, seed 0, 2 threads):

    variant     l1   psnr   ssim  sharpness_ratio  fcn_pixel_accuracy  fcn_miou  seconds
    L1       0.193  13.04  0.254            0.023               0.852     0.000      135
    L1+cGAN  0.285   9.43  0.120            0.215               0.804     0.084      148
    real         -      -      -            1.000               0.981     0.818        -
    L1: 13.5 s per epoch; L1+cGAN: 14.8 s per epoch
    whole study: 338 s = 0.56x the 10-minute budget (the FCN-score's segmenter was cached; training it
    takes 57 s more the first time, on 2 threads: ~395 s = 0.66x)

Under load (a test suite and other jobs beside it, auto thread choice: 1 thread) the same study took
1163 s; before pix2pix's early stopping was turned off the GAN kept its epoch-1 weights (sharpness 1.75).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

BUDGET_S = 600.0


def tiny_pairs(folder: Path) -> tuple[str, dict]:
    from idealfit.data.pairs import labels2shapes_masks, make_labels2shapes

    ds = make_labels2shapes(60, size=32, seed=0)
    path = folder / "pairs.npz"
    np.savez(path, x=ds.x, y=ds.y, masks=labels2shapes_masks(60, size=32, seed=0))
    return str(path), {"model.widths": [4, 8], "model.d_width": 8, "train.batch_size": 8}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true", help="seconds: 60 small pairs, 1 epoch")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=None, help="per variant (default: the study's)")
    args = ap.parse_args()
    from idealfit.gan_study import gan_study

    with tempfile.TemporaryDirectory() as tmp:
        data, keys = tiny_pairs(Path(tmp)) if args.tiny else ("labels2shapes", {})
        epochs = 1 if args.tiny else args.epochs
        t0 = time.perf_counter()
        res = gan_study(data=data, seeds=tuple(range(args.seeds)), epochs=epochs, set=keys, out=Path(tmp) / "study",
                        progress=None)
        wall = time.perf_counter() - t0
        print(res.table())
        print(res.verdict.get("text", ""))
        for r in res.rows:
            for p in r["per_seed"]:
                if "epochs" in p:
                    summary = json.loads((res.dir / p["run_dir"] / "summary.json").read_text())
                    print(f"{r['variant']:<8} seed {p['seed']}: {summary['seconds'] / summary['epochs_run']:.1f} s per "
                          f"epoch on {summary['threads']} thread(s), {summary['params']:,} params")
        print(f"whole study: {wall:.0f} s = {wall / BUDGET_S:.2f}x the {BUDGET_S / 60:.0f}-minute budget")


if __name__ == "__main__":
    main()
