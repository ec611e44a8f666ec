"""Atomic writes and resumable checkpoints.

Every file is written to a temporary name in the same folder, then renamed over the old one: a
kill at any moment leaves either the previous file or the new one, never half of one. We do not
fsync: the rename is atomic against a killed process (the page cache outlives it), and an fsync per
epoch cost more than a whole epoch of a small model (benchmarks/overhead.py). Only power loss can
cost the last epoch's checkpoint.

Because the rename replaces the name itself, a symbolic link planted at a run file's name is
replaced by the new file, never written through. New files get the usual mode (0666 less the
umask), as `open` would give them, not mkstemp's private 0600.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from idealfit.run_files import atomic_write, npz_bytes


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (see the module doc); the one writer is run_files.atomic_write."""
    return atomic_write(path, data)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def finite_json(obj: Any) -> Any:
    """`obj` with every NaN or infinite float (Python or numpy) replaced by None: JSON has no NaN,
    and a bare `NaN` in summary.json breaks every strict JSON reader."""
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(finite_json(obj), indent=2, allow_nan=False) + "\n")


def write_npz(path: str | Path, **arrays: Any) -> Path:
    """np.savez to memory, then one atomic write (np.savez on a path would write through a symlink
    and leave half a file behind a kill)."""
    return atomic_write_bytes(path, npz_bytes(**arrays))


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """torch.save to memory, then one atomic write."""
    buf = io.BytesIO()
    torch.save(payload, buf)
    return atomic_write_bytes(path, buf.getvalue())


# What `train --resume` reads from a checkpoint (session._restore).
CHECKPOINT_KEYS = ("model", "optimizers", "schedulers", "epoch", "history", "stop", "stopped_early", "torch_rng",
                   "order_rng", "cuda_rng", "early")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load with `weights_only=True`: tensors, numbers, strings and containers only, no code.

    The file is read without following a link. One that is not a checkpoint of ours (truncated, garbage,
    a pickle of arbitrary objects) is a UserError naming it, never a traceback.
    """
    import pickle
    import warnings
    import zipfile

    from idealfit.run_files import damaged, read_bytes

    path = Path(path)
    data = read_bytes(path.parent, path.name)
    fix = "start the run again"
    try:
        with warnings.catch_warnings():  # torch warns about a foreign pickle protocol before refusing it
            warnings.simplefilter("ignore")
            ckpt = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's message suggests loading it unsafely: not advice to repeat
        raise damaged(path, "not an idealfit checkpoint: unreadable, or Python objects rather than tensors",
                      fix) from None
    except (RuntimeError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise damaged(path, f"not an idealfit checkpoint: {reason}", fix) from None
    if isinstance(ckpt, dict):  # written before steps had named optimizers: one optimizer, one schedule
        for old in ("optimizer", "scheduler"):
            if old in ckpt and f"{old}s" not in ckpt:
                ckpt[f"{old}s"] = {"main": ckpt.pop(old)}
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in CHECKPOINT_KEYS):
        raise damaged(path, "not an idealfit checkpoint: keys missing", fix)
    return ckpt
