"""Every network family trains, evaluates and predicts on a GPU: one short `idealfit train` per family.

The test suite runs on CPU machines, so this is where each family's CUDA path (its data on the device, its
step, its metrics, its saved weights read back by `evaluate`) is exercised: dense and CNN classification,
a dense regression table, recurrent and convolutional signals (MNIST-1D), recurrent and convolutional
forecasting, a recurrent text classifier (a generated CSV), U-Net segmentation, a convolutional
autoencoder, and pix2pix with its discriminator. Each runs a few epochs in one process (imports paid once)
and prints its device, time, test metric and the run's own baseline, or FAIL with the error's last line.
A run here is not a benchmark of speed: the first run of each family pays cuDNN's autotuning.

Run: python benchmarks/cuda_families.py [--device cuda] [--epochs 3]
`--tiny`: CPU, 1 epoch, 200 training samples, every family but U-Net and pix2pix (a minute and more each
on a CPU; their own tests cover them there): checks that the script still runs here.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import torch

from idealfit import cli


def text_csv(path: Path, n: int = 600, seed: int = 0) -> None:
    """Short generated reviews: the label is the sentiment word's class."""
    rng = np.random.default_rng(seed)
    good, bad = ["great", "lovely", "superb", "fine"], ["awful", "broken", "poor", "dull"]
    rows = ["text,label"]
    for _ in range(n):
        label = int(rng.integers(2))
        word = rng.choice(good if label else bad)
        filler = " ".join(rng.choice(["the", "a", "very", "item", "was", "it", "quite", "really"], 4))
        rows.append(f"{filler} {word} {filler},{'pos' if label else 'neg'}")
    path.write_text("\n".join(rows) + "\n")


def families(tmp: Path) -> dict[str, list[str]]:
    text = tmp / "reviews.csv"
    text_csv(text)
    return {
        "dense (digits)": ["--data", "digits", "--model", "mlp"],
        "cnn (digits, bf16)": ["--data", "digits", "--model", "cnn", "--precision", "bf16"],
        "dense regression (diabetes)": ["--data", "diabetes"],
        "rnn signals (mnist1d)": ["--data", "mnist1d", "--model", "rnn"],
        "cnn signals (mnist1d)": ["--data", "mnist1d", "--model", "cnn"],
        "rnn forecasting (sunspots)": ["--data", "sunspots", "--model", "rnn"],
        "cnn forecasting (elnino)": ["--data", "elnino", "--model", "cnn"],
        "rnn text (csv)": ["--data", str(text), "--target", "label"],
        "unet segmentation (shapes)": ["--data", "shapes", "--model", "unet"],
        "autoencoder (mnist1d)": ["--data", "mnist1d", "--task", "reconstruction"],
        "pix2pix (edges2shapes)": ["--data", "edges2shapes", "--model", "pix2pix"],
    }


def headline(summary: dict) -> str:
    test = summary["metrics"].get("test", {})
    name = summary.get("metric") or next(iter(test), "loss")
    value = test.get(name, test.get("loss"))
    base = summary.get("baselines") or {}
    first = next(iter(base.items()), None)
    rival = ""
    if first and isinstance(first[1], dict):
        b = first[1].get("test", first[1])
        if isinstance(b, dict) and name in b:
            rival = f"  baseline {first[0]} {b[name]:.4g}"
    return f"test {name} {value:.4g}{rival}" if isinstance(value, (int, float)) else f"test {test}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--only", default=None, help="run only the families whose name contains this")
    ap.add_argument("--tiny", action="store_true", help="CPU, 1 epoch, 200 training samples, no U-Net or pix2pix")
    args = ap.parse_args()
    extra = ["--set", "data.train_subset=200"] if args.tiny else []
    device, epochs = ("cpu", 1) if args.tiny else (args.device, args.epochs)
    print(f"every family, {epochs} epoch(s) each, on {torch.cuda.get_device_name() if device.startswith('cuda') else device}, "
          f"torch {torch.__version__}")
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, argv in families(tmp).items():
            if (args.only and args.only not in name) or (args.tiny and name.startswith(("unet", "pix2pix"))):
                continue
            out = tmp / f"run{len(list(tmp.glob('run*')))}"
            full = ["train", *argv, *extra, "--device", device, "--epochs", str(epochs), "--no-progress",
                    "--out", str(out)]
            log = io.StringIO()
            t0 = time.perf_counter()
            try:
                with redirect_stdout(log), redirect_stderr(log):
                    code = cli.main(full)
                    if code == 0:
                        code = cli.main(["evaluate", str(out)])
            except Exception:  # a family's failure is reported and the others still run
                code, log = 1, io.StringIO(traceback.format_exc())
            seconds = time.perf_counter() - t0
            if code != 0:
                failed += 1
                last = [line for line in log.getvalue().splitlines() if line.strip()][-3:]
                print(f"FAIL {name}: exit {code} after {seconds:.1f} s: {' | '.join(last)}")
                continue
            summary = json.loads((out / "summary.json").read_text())
            print(f"ok   {name:<30} {summary['device']:<8} {seconds:6.1f} s  {headline(summary)}")
    print(f"{failed} of the families failed" if failed else "every family trained and evaluated")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
