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


def train(data: str | Path | None = None, model: str | None = None, *, epochs: int | None = None,
          batch_size: int | None = None, lr: float | None = None, optimizer: str | None = None,
          schedule: str | None = None, seed: int | None = None, device: str | None = None,
          target: str | None = None, task: str | None = None, out: str | Path | None = None,
          progress: bool | None = None, config: str | Path | None = None, set: dict[str, Any] | None = None,
          resume: str | Path | None = None, callbacks: list[Callback] | None = None, verbose: bool = True) -> Run:
    """Train a model and write its run folder; every argument left None keeps the config's value.

    Args:
        data: embedded dataset name (`idealfit datasets`) or a path (image folder, .csv, .npz). Default "digits".
        model: "cnn", "mlp" or "auto" (default: cnn for images and signals, mlp for tables).
        epochs, batch_size, lr, optimizer, schedule, seed, device: the matching `train.*` fields.
        target, task: CSV target column; "classification" or "regression" to override inference.
        out: run folder (default runs/<timestamp>-<data>-<model>).
        config: a YAML config file. set: any dotted config keys, e.g. {"model.dropout": 0.3}.
        resume: a run folder to continue from its last checkpoint.
        verbose: print the start line (the progress bar follows `train.progress`).
    """
    from idealfit.train.session import train as run_training

    given = dict(data=data, model=model, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
                 schedule=schedule, seed=seed, device=device, target=target, task=task, out=out, progress=progress)
    overrides = {SHORTCUTS[k]: (str(v) if isinstance(v, Path) else v) for k, v in given.items() if v is not None}
    overrides.update(set or {})
    return run_training(config_file=config, overrides=overrides, resume=resume, callbacks=callbacks,
                        echo=print if verbose else (lambda *a, **k: None))
