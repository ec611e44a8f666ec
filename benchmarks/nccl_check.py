"""On one CUDA GPU: `idealfit train`'s torchrun path (NCCL, SyncBatchNorm, DDP with idealfit's gradient hook,
metrics summed over ranks, rank 0 writing) against the same run in one plain process.

torchrun cannot start two NCCL ranks on one GPU (NCCL refuses a GPU that two ranks share, and idealfit
refuses it first with one line), so a one-GPU machine checks the distributed code path with a world of one
process: `launched()` is made true here, the only change, so the run joins an NCCL group and wraps its
model exactly as under `torchrun --nproc_per_node=N` with N GPUs. The two runs must agree: SyncBatchNorm
over one process is BatchNorm, and the hook's weight is 1. They are compared to a tolerance, not exactly:
cuDNN's autotuner may pick different convolution algorithms in the two runs.
Prints each run's last validation loss and accuracy, how many SyncBatchNorm forward calls the torchrun
path made (0 would mean the conversion did not happen), the process group's backend, and PASS or FAIL.

Run (one GPU): python benchmarks/nccl_check.py [--epochs 3]  (it sets the variables torchrun would set for a
world of one; under `torchrun --standalone --nproc_per_node=1` it uses torchrun's)
`--tiny` runs both on the CPU (gloo, BatchNorm stays per-process): checks that the script runs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

import torch

from idealfit import cli
from idealfit.train import distributed


def train(out: Path, *, device: str, epochs: int) -> dict:
    argv = ["train", "--data", "digits", "--model", "cnn", "--epochs", str(epochs), "--device", device,
            "--seed", "0", "--no-progress", "--out", str(out), "--set", "model.batchnorm=true",
            "--set", "train.early_stopping=false"]
    if cli.main(argv) != 0:
        raise SystemExit(f"idealfit {' '.join(argv)} failed")
    return json.loads((out / "summary.json").read_text())


def torchrun_environment() -> None:
    """The variables `torchrun --standalone --nproc_per_node=1` sets, where they are not set."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}.items():
        os.environ.setdefault(key, value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--tiny", action="store_true", help="CPU and gloo, 1 epoch: checks that it runs")
    args = ap.parse_args()
    device = "cpu" if args.tiny else "cuda"
    epochs = 1 if args.tiny else args.epochs
    calls = [0]
    sync_forward = torch.nn.SyncBatchNorm.forward

    def counted(self, x):
        calls[0] += 1
        return sync_forward(self, x)

    torch.nn.SyncBatchNorm.forward = counted
    with tempfile.TemporaryDirectory() as tmp:
        plain = train(Path(tmp) / "plain", device=device, epochs=epochs)
        torchrun_environment()
        distributed.launched = lambda: True  # the torchrun path with this one process (see the header)
        ddp = train(Path(tmp) / "ddp", device=device, epochs=epochs)
    backend = torch.distributed.get_backend() if torch.distributed.is_initialized() else "none"
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}, "
          f"process group backend: {backend}, SyncBatchNorm forward calls: {calls[0]}")
    ok = True
    for split in ("train", "val", "test"):
        for key in ("loss", "accuracy"):
            a, b = plain["metrics"][split][key], ddp["metrics"][split][key]
            close = abs(a - b) <= 0.02 * max(1.0, abs(a))
            ok &= close
            print(f"{split} {key:>8}: plain {a:.4f}  torchrun path {b:.4f}  {'close' if close else 'DIFFERENT'}")
    print(f"summary.json 'distributed': plain {plain['distributed']}, torchrun path {ddp['distributed']}")
    if device == "cuda":
        ok &= backend == "nccl" and calls[0] > 0
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
