"""From a data config to training-ready splits: load, split by seed, fit preprocessing on train only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from idealfit.config import DataConfig
from idealfit.data.base import Dataset
from idealfit.data.embedded import EMBEDDED
from idealfit.data.files import IMAGE_SUFFIXES, load_csv, load_image_folder, load_npz
from idealfit.data.preprocess import TablePreprocessor, channel_stats
from idealfit.errors import UserError

SPLITS = ("train", "val", "test")


def load_dataset(cfg: DataConfig) -> Dataset:
    """An embedded dataset by name, or a user's image folder, CSV or NPZ by path."""
    name = cfg.name
    if name in EMBEDDED:
        ds = EMBEDDED[name][0]()
        if cfg.task and cfg.task != ds.task:
            raise UserError(f"dataset '{name}' is a {ds.task} dataset; drop data.task or set it to {ds.task}")
        return ds
    path = Path(name).expanduser()
    if not path.exists():
        import difflib

        close = difflib.get_close_matches(name, list(EMBEDDED), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"embedded datasets: {', '.join(EMBEDDED)}"
        raise UserError(f"no dataset or path named '{name}'; {hint}")
    if path.is_dir():
        if cfg.task == "regression":
            raise UserError(f"{path} is an image folder, which is a classification dataset; drop data.task")
        return load_image_folder(path, image_size=cfg.image_size, channels=cfg.channels,
                                 max_memory_mb=cfg.max_memory_mb)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return load_csv(path, target=cfg.target, task=cfg.task)
    if suffix == ".npz":
        return load_npz(path, task=cfg.task)
    if suffix in IMAGE_SUFFIXES:
        raise UserError(f"{path} is a single image; pass a folder with one sub-folder of images per class")
    raise UserError(f"don't know how to read {path}; use an image folder, a .csv or a .npz file")


def split_indices(ds: Dataset, *, val_fraction: float, test_fraction: float, seed: int) -> dict[str, Any]:
    """Deterministic train/val/test indices from the seed, stratified for classification.

    A dataset with its own standard test split (mnist1d) keeps it; validation comes out of its train part.
    """
    from sklearn.model_selection import train_test_split

    n = len(ds)
    idx = np.arange(n)
    strat = ds.y if ds.task == "classification" else None
    stratified = strat is not None
    too_few = UserError(f"{ds.name} has {n} samples, too few for a train/validation/test split; add data")

    def cut(ids: np.ndarray, frac: float, salt: int) -> tuple[np.ndarray, np.ndarray]:
        nonlocal stratified
        s = strat[ids] if stratified else None
        try:
            a, b = train_test_split(ids, test_size=frac, random_state=seed + salt, stratify=s)
        except ValueError:  # a class too small to appear in every split: fall back, and record it
            stratified = False
            try:
                a, b = train_test_split(ids, test_size=frac, random_state=seed + salt)
            except ValueError:  # too few samples to cut at all
                raise too_few from None
        return np.sort(a), np.sort(b)

    if ds.fixed_test is not None:
        test = np.sort(ds.fixed_test)
        rest = np.setdiff1d(idx, test)
        train, val = cut(rest, val_fraction / (1 - test_fraction), 1)
    else:
        rest, test = cut(idx, test_fraction, 0)
        train, val = cut(rest, val_fraction / (1 - test_fraction), 1)
    if len(train) == 0 or len(val) == 0 or len(test) == 0:
        raise too_few
    return {"train": train, "val": val, "test": test, "stratified": stratified, "seed": seed}


@dataclass
class Prepared:
    """Model-ready arrays per split plus everything fitted on the training split."""

    dataset: Dataset
    x: dict[str, np.ndarray]  # split -> (n, ...) float32 inputs (empty for streamed image folders)
    y: dict[str, np.ndarray]  # split -> (n,) labels or standardized targets
    indices: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)  # JSON: preprocessing, normalization, target scale

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.state["input_shape"])

    @property
    def out_dim(self) -> int:
        return self.dataset.num_classes if self.dataset.task == "classification" else 1


def prepare(ds: Dataset, indices: dict[str, Any]) -> Prepared:
    """Fit preprocessing on the training split and apply it to every split."""
    state: dict[str, Any] = {"task": ds.task, "kind": ds.kind, "class_names": ds.class_names,
                             "columns": ds.columns, "meta": ds.meta}
    x = {s: ds.x[indices[s]] if ds.paths is None else ds.x for s in SPLITS}
    if ds.kind == "table":
        pre = TablePreprocessor(ds.columns or []).fit(x["train"])
        x = {s: pre.transform(v) for s, v in x.items()}
        state["table"] = pre.to_dict()
        state["input_shape"] = [pre.n_features_out]
        state["norm"] = None  # already standardized by the table preprocessor
    else:
        state["input_shape"] = list(ds.input_shape)
        train_x = x["train"] if ds.paths is None else _sample_images(ds, indices["train"])
        mean, std = channel_stats(train_x)
        state["norm"] = {"mean": mean, "std": std}  # applied by the model's first layer
    y = {s: ds.y[indices[s]] for s in SPLITS}
    if ds.task == "regression":  # train on standardized targets; report metrics in the data's units
        mu, sd = float(y["train"].mean()), float(y["train"].std() or 1.0)
        state["target"] = {"mean": mu, "std": sd}
        y = {s: ((v - mu) / sd).astype(np.float32) for s, v in y.items()}
    return Prepared(ds, x, y, indices, state)


def _sample_images(ds: Dataset, train_idx: np.ndarray, n: int = 512) -> np.ndarray:
    from idealfit.data.files import open_image

    rng = np.random.default_rng(0)
    pick = rng.choice(train_idx, size=min(n, len(train_idx)), replace=False)
    size, ch = ds.meta["image_size"], ds.meta["channels"]
    return np.stack([open_image(Path(ds.paths[i]), size=size, channels=ch) for i in pick])


def transform_inputs(state: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Apply a saved run's fitted input preprocessing to raw inputs (tables only; images are normalized in-model)."""
    if state["kind"] == "table":
        return TablePreprocessor.from_dict(state["table"]).transform(x)
    return x.astype(np.float32)
