#!/usr/bin/env bash
# The GPU checks of issue 12 in one short run, for a lent CUDA machine (one GPU is enough):
#   1. benchmarks/gpu.py: airbench94's recipe through idealfit against a hand loop (target <= 1.05x),
#      compiled, then under torch.profiler;
#   2. benchmarks/nccl_check.py: the torchrun path on CUDA (NCCL, SyncBatchNorm, the gradient hook) equals
#      a plain run;
#   3. the CLI on CUDA: train (bf16, channels_last), resume, evaluate, predict, export --onnx;
#      torchrun with more processes than GPUs refused in one line;
#   4. benchmarks/ddp.py on the machine's CPU cores (1 process against 4);
#   5. benchmarks/gpu.py eager (no torch.compile).
# Each step has its own time limit, so one that hangs does not cost the rest. Logs go to $OUT (or ./out).
# Run from the repository root: bash benchmarks/device_check.sh   (uses `python3` and src/ without installing)
# `--tiny`: every step on the CPU in its tiny mode, to check the script itself here.
set -u
DEV=cuda TINY=""
if [ "${1:-}" = --tiny ]; then DEV=cpu TINY=--tiny; fi
OUT=${OUT:-out}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
LOG="$OUT/device_check.log"

step() {  # step NAME SECONDS COMMAND...: runs it with a limit, logs it, never stops the script
  local name=$1 limit=$2
  shift 2
  echo "=== $name (limit ${limit}s): $*" | tee -a "$LOG"
  local t0=$SECONDS
  timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$LOG"
  echo "=== $name: exit ${PIPESTATUS[0]} after $((SECONDS - t0)) s" | tee -a "$LOG"
}

step info 60 bash -c "nvidia-smi -L; nproc; $PY -c 'import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else \"\")'"
step gpu-compiled 270 $PY benchmarks/gpu.py --profile $TINY
step nccl 120 $PY benchmarks/nccl_check.py --epochs 3 $TINY
R="$WORK/run"
step cli-train 90 $PY -m idealfit train --data digits --model cnn --device $DEV --epochs 3 --precision bf16 \
  --set train.channels_last=true --set model.batchnorm=true --no-progress --out "$R"
step cli-resume 60 $PY -m idealfit train --resume "$R" --epochs 5 --no-progress
step cli-evaluate 60 $PY -m idealfit evaluate "$R"
step cli-predict 60 bash -c "$PY -c 'from sklearn.datasets import load_digits; import numpy as np; d = load_digits(); np.savez(\"$WORK/few.npz\", x=d.images[:8] / 16.0, y=d.target[:8])' && $PY -m idealfit predict '$R' '$WORK/few.npz' --out '$WORK/pred.csv' && head -4 '$WORK/pred.csv'"
step cli-export 90 $PY -m idealfit export "$R" --onnx "$WORK/model.onnx"
step torchrun-too-many 60 $PY -m torch.distributed.run --standalone --nproc_per_node=2 -m idealfit train \
  --data digits --device $DEV --epochs 1 --no-progress --out "$WORK/two"
step ddp-cpu 150 $PY benchmarks/ddp.py --nproc 4 --repeats 2 --epochs 3 $TINY
step gpu-eager 120 $PY benchmarks/gpu.py --no-compile --repeats 3 $TINY
rm -rf "$WORK"
