"""A run folder and what can be done with it: load, evaluate, predict.

Layout of `runs/<timestamp>-<data>-<model>/`:
    config.yaml        the fully resolved config
    split.npz          train / val / test indices into the dataset
    preprocess.json    everything fitted on the training split (cleaning, scaling, encoding, pooling, PCA,
                       input normalization, target scale), applied by `data.prepare.transform_inputs`
    model.txt          the model summary
    metrics.csv        one row per epoch
    checkpoint.pt      the last completed epoch, for --resume (weights_only loadable)
    model.safetensors  the final (best) weights, with the input normalization buffers
    predictions.npz    test-split targets and predictions (for the report)
    summary.json       the contract read by later tools
    report.html        self-contained report
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from idealfit.config import RunConfig, resolve
from idealfit.data.base import Dataset
from idealfit.data.inputs import read_images as _read_images
from idealfit.data.inputs import read_inputs
from idealfit.errors import UserError

WEIGHTS = "model.safetensors"


@dataclass
class Run:
    """A trained model with its config, history, summary and fitted preprocessing.

    Attributes:
        dir: the run folder. summary: summary.json as a dict. history: metrics.csv rows.
        model: the network in eval mode on the CPU. config: the resolved RunConfig.
        state: the fitted preprocessing (preprocess.json).
    """

    dir: Path
    config: RunConfig
    summary: dict[str, Any]
    history: list[dict[str, Any]]
    model: torch.nn.Module
    state: dict[str, Any] = field(repr=False)

    @property
    def task(self) -> str:
        return self.state["task"]

    @property
    def class_names(self) -> list[str] | None:
        return self.state.get("class_names")

    def load_inputs(self, paths: list[str | Path]) -> torch.Tensor:
        """Image files, one CSV or one NPZ as a batch ready for `self.model`."""
        return torch.from_numpy(read_inputs(self.state, [Path(p) for p in paths])[0])

    @torch.no_grad()
    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (N, K) for classification, values in data units (N,) for regression."""
        out = self.model(torch.from_numpy(x))
        if self.task == "classification":
            return torch.softmax(out, dim=1).numpy()
        t = self.state["target"]
        return (out.squeeze(-1) * t["std"] + t["mean"]).numpy()

    def predict(self, paths: list[str | Path]) -> tuple[list[str], np.ndarray]:
        """(input names, predictions) for image files, a CSV or an NPZ."""
        x, names = read_inputs(self.state, [Path(p) for p in paths])
        return names, self.predict_array(x)

    def evaluate(self, data: str | None = None) -> dict[str, float]:
        """Metrics on the run's own test split, or on labelled data at `data` (a path or embedded name)."""
        from idealfit.data.inputs import load_eval_dataset
        from idealfit.data.prepare import transform_inputs
        from idealfit.train.metrics import compute_metrics

        cfg = self.config.data
        ds = load_eval_dataset(self.state, cfg, data)  # a changed source refused; CSV columns matched by name
        if data is None:
            with np.load(self.dir / "split.npz") as f:
                test = f["test"]
            ds.x, ds.y = (ds.x[test] if ds.paths is None else ds.x), ds.y[test]
            if ds.paths is not None:
                ds.paths = [ds.paths[i] for i in test]
        y = _align_labels(self, ds)
        x = transform_inputs(self.state, ds.x) if ds.paths is None else _read_images(self.state, ds.paths)
        out = self.model(torch.from_numpy(x)) if len(x) else None
        if out is None:
            raise UserError(f"{data} has no samples to evaluate")
        y_std = 1.0
        if self.task == "regression":
            t = self.state["target"]
            y, y_std = (y - t["mean"]) / t["std"], t["std"]
        with torch.no_grad():
            return compute_metrics(out.detach(), torch.from_numpy(y), task=self.task, y_std=y_std)


def _align_labels(run: Run, ds: Dataset) -> np.ndarray:
    """The dataset's labels as the run's class ids (matched by class name)."""
    if run.task == "regression":
        if ds.task != "regression":
            raise UserError(f"{ds.name} holds classes but this run predicts values; pass regression data")
        return ds.y.astype(np.float32)
    names = run.class_names or []
    missing = [c for c in (ds.class_names or []) if c not in names]
    if missing:
        raise UserError(f"{ds.name} has class '{missing[0]}' which this run never saw; its classes are "
                        f"{', '.join(names)}")
    lookup = np.array([names.index(c) for c in ds.class_names or []], np.int64)
    return lookup[ds.y]


def check_run_dir(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_dir() or not (p / "config.yaml").is_file():
        raise UserError(f"{p} is not an idealfit run folder (no config.yaml); pass the folder `idealfit train` printed")
    return p


def load_run(path: str | Path) -> Run:
    """Load a finished run folder: the model in eval mode on the CPU, ready for evaluate and predict."""
    from safetensors.torch import load_file

    from idealfit.models.build import build_model
    from idealfit.report.figures import read_history

    p = check_run_dir(path)
    if not (p / WEIGHTS).is_file() or not (p / "summary.json").is_file():
        raise UserError(f"{p} has no finished model yet; continue it with `idealfit train --resume {p}`")
    cfg = resolve(config_file=p / "config.yaml")
    state = json.loads((p / "preprocess.json").read_text())
    out_dim = len(state["class_names"]) if state["task"] == "classification" else 1
    model = build_model(cfg.model, input_shape=tuple(state["input_shape"]), out_dim=out_dim, norm=state["norm"])
    model.load_state_dict(load_file(str(p / WEIGHTS)))
    model.eval()
    summary = json.loads((p / "summary.json").read_text())
    return Run(p, cfg, summary, read_history(p / "metrics.csv"), model, state)
