"""The Python API, mirroring the CLI: `fit.train(...)`, `fit.load_run(path)`.

Example:
    >>> import idealfit as fit
    >>> run = fit.train(data="digits", model="cnn", epochs=20)   # doctest: +SKIP
    >>> run.summary["metrics"]["test"]["accuracy"]                # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idealfit.run import Run
from idealfit.train.callbacks import Callback

# API keyword -> config key; the CLI's shortcut flags map to the same keys.
SHORTCUTS = {
    "data": "data.name", "target": "data.target", "task": "data.task", "model": "model.name",
    "epochs": "train.epochs", "batch_size": "train.batch_size", "lr": "train.lr", "optimizer": "train.optimizer",
    "schedule": "train.schedule", "seed": "train.seed", "device": "train.device", "progress": "train.progress",
    "out": "out",
}


def train(data: str | Path | tuple | Any = None, model: str | None = None, *, epochs: int | None = None,
          batch_size: int | None = None, lr: float | None = None, optimizer: str | None = None,
          schedule: str | None = None, seed: int | None = None, device: str | None = None,
          target: str | None = None, task: str | None = None, out: str | Path | None = None,
          progress: bool | None = None, config: str | Path | None = None, set: dict[str, Any] | None = None,
          resume: str | Path | None = None, callbacks: list[Callback] | None = None, verbose: bool = True) -> Run:
    """Train a model and write its run folder; every argument left None keeps the config's value.

    Args:
        data: embedded dataset name (`idealfit datasets`) or a path: a folder of class sub-folders of images
            or .wav recordings, a folder with images/ and masks/ (segmentation) or A/ and B/ (image pairs), a
            .csv (a table, text, or a time series with task="forecasting") or a .npz; or in-memory
            data: `(x, y)` numpy arrays (x of shape (N, F), (N, C, L) or (N, C, H, W)), a pandas DataFrame
            with `target` naming its label column, or `(DataFrame, labels)`. In-memory data is saved once
            under `<runs>/data/` (see `save_in_memory`) and the run records that file as data.name, so
            `evaluate RUN`, `predict` and `--resume` work as for any file. Default "digits".
        model: "cnn", "mlp", "rnn" (signals, text, time series), "unet", "autoencoder", "pix2pix" or "auto"
            (default: cnn for images and signals, mlp for tables).
        epochs, batch_size, lr, optimizer, schedule, seed, device: the matching `train.*` fields.
        target, task: CSV target column; "classification", "regression", "reconstruction" (autoencoder),
            "forecasting" (a CSV with a time column), "segmentation" or "translation" to override inference.
        out: run folder (default runs/<timestamp>-<data>-<model>).
        config: a YAML config file. set: any dotted config keys, e.g. {"model.dropout": 0.3}.
        resume: a run folder to continue from its last checkpoint.
        verbose: print the start line (the progress bar follows `train.progress`).

    Under torchrun (`torchrun --nproc_per_node=N script.py`) every process calls this and they train
    one model with DDP; rank 0 writes the run folder and gets the full Run, the others a Run whose
    summary is None (README: "Several processes and machines").
    """
    from idealfit.train.session import train as run_training

    saved = None  # in-memory data written for this call, removed again if the run never starts
    if data is not None and not isinstance(data, (str, Path)):
        runs = Path(out).parent if out else Path("runs")
        existing = list((runs / "data").glob("*")) if (runs / "data").is_dir() else []  # `set` is a parameter here
        data, target = save_in_memory(data, target=target, runs=runs)
        saved = None if data in existing else data
    given = dict(data=data, model=model, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
                 schedule=schedule, seed=seed, device=device, target=target, task=task, out=out, progress=progress)
    overrides = {SHORTCUTS[k]: (str(v) if isinstance(v, Path) else v) for k, v in given.items() if v is not None}
    overrides.update(set or {})
    try:
        return run_training(config_file=config, overrides=overrides, resume=resume, callbacks=callbacks,
                            echo=print if verbose else (lambda *a, **k: None))
    except BaseException:
        out_dir = Path(out) if out else None
        if saved is not None and not (out_dir is not None and (out_dir / "metrics.csv").exists()):
            saved.unlink(missing_ok=True)  # a run that never trained leaves no data file behind
        raise


def save_in_memory(data: Any, *, target: str | None, runs: Path) -> tuple[Path, str | None]:
    """In-memory data as a file the run can name: `(x, y)` arrays -> `runs/data/arrays-<sha>.npz`, a
    DataFrame -> `runs/data/frame-<sha>.csv`. The name holds the content's sha256 (12 hex digits), so the
    same data is saved once, and a file already there is never overwritten with other data.

    Returns:
        (path, target): the file, and the target column (for a DataFrame; "y" for `(DataFrame, labels)`).
    """
    import hashlib
    import io

    import numpy as np

    from idealfit.errors import UserError
    from idealfit.run_files import atomic_write

    pd = _pandas_or_none()
    if pd is not None and isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], pd.DataFrame):
        frame, labels = data
        target = target or "y"
        if target in frame.columns:
            raise UserError(f"data=(DataFrame, labels): the DataFrame already has a column '{target}'; pass "
                            "target= another name for the labels")
        if len(labels) != len(frame):
            raise UserError(f"data=(DataFrame, labels): {len(frame)} rows but {len(labels)} labels; they must match")
        data = frame.assign(**{target: np.asarray(labels)})
    if pd is not None and isinstance(data, pd.DataFrame):
        if target is None or target not in data.columns:
            what = "name the column to predict with target=..." if target is None else f"it has no column '{target}'"
            raise UserError(f"data=DataFrame: {what} (columns: {', '.join(map(str, data.columns))})")
        payload, kind, suffix = data.to_csv(index=False).encode("utf-8"), "frame", ".csv"
    elif isinstance(data, tuple) and len(data) == 2:
        x, y = (np.asarray(a) for a in data)
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
            raise UserError(f"data=(x, y): x has {len(x) if x.ndim else 0} samples and y {len(y) if y.ndim else 0}; "
                            "they must match, one label or value per sample")
        x, y = _plain(x, strings=False), _plain(y, strings=True)
        buf = io.BytesIO()
        np.savez(buf, x=x, y=y)
        payload, kind, suffix = buf.getvalue(), "arrays", ".npz"
    else:
        raise UserError(f"data must be a dataset name, a path, (x, y) arrays or a pandas DataFrame; got "
                        f"{type(data).__name__}")
    folder = runs / "data"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{hashlib.sha256(payload).hexdigest()[:12]}{suffix}"
    if not path.is_file() or path.read_bytes() != payload:
        atomic_write(path, payload)
    return path, target


def _plain(a, *, strings: bool):
    """An object array as the numpy array it stands for: all numbers -> float64, all str -> str (labels only,
    `strings`), as pandas' `.to_numpy()` gives them; anything else (a mix, None, other Python objects) refused."""
    from numbers import Real

    import numpy as np

    from idealfit.errors import UserError

    if a.dtype != object:
        return a
    cells = a.ravel().tolist()
    if cells and all(isinstance(v, Real) and not isinstance(v, bool) for v in cells):
        return a.astype(np.float64)
    if strings and cells and all(isinstance(v, str) for v in cells):
        return a.astype(str)
    raise UserError("data=(x, y): x must be numeric and y numbers or strings, not a mix or other Python objects; "
                    "convert them with numpy (e.g. x.astype(float), y.astype(str))")


def _pandas_or_none():
    try:
        import pandas as pd
    except ImportError:  # pandas is a dependency; without it only arrays are accepted
        return None
    return pd
