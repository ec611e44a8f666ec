"""From a data config to training-ready splits: load, split by seed, fit preprocessing on train only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from idealfit.config import CLIP_FENCES, CLIP_QUANTILES, DataConfig
from idealfit.data.audio import AUDIO_SUFFIXES, is_audio_folder, load_audio_folder
from idealfit.data.base import Dataset
from idealfit.data.embedded import EMBEDDED
from idealfit.data.files import load_csv, load_npz
from idealfit.data.images import IMAGE_SUFFIXES, load_image_folder
from idealfit.data.kinds import KINDS
from idealfit.data.masks import is_mask_folder, load_mask_folder
from idealfit.data.pairs import is_pair_folder, load_pair_folder
from idealfit.data.series import SERIES_EMBEDDED
from idealfit.data.split import SPLITS
from idealfit.data.table import is_csv_path
from idealfit.errors import UserError
from idealfit.tasks import get_task

TRAIN_EVAL_SEED = 54321  # the fixed corruption of a denoising run's training split, for its final metrics


def load_dataset(cfg: DataConfig) -> Dataset:
    """An embedded dataset by name, or a user's image folder, CSV or NPZ by path."""
    if cfg.task == "reconstruction":  # any data can be reconstructed; its labels stay for plots and anomalies
        from dataclasses import replace

        ds = load_dataset(replace(cfg, task=None))
        ds.task = "reconstruction"
        return ds
    name = cfg.name
    if name in SERIES_EMBEDDED or cfg.task == "forecasting":  # time series: windows need data.window, data.horizon
        return _load_series(cfg)
    if name in EMBEDDED:
        ds = EMBEDDED[name][0]()
        if cfg.task and cfg.task != ds.task:
            raise UserError(f"dataset '{name}' is a {ds.task} dataset; drop data.task or set it to {ds.task}")
        if ds.kind == "audio":  # at the run's sample rate and clip length
            from idealfit.data.audio import conform

            ds = conform(ds, sample_rate=cfg.sample_rate, clip_seconds=cfg.clip_seconds)
        return ds
    path = Path(name).expanduser()
    if not path.exists():
        import difflib

        close = difflib.get_close_matches(name, list(EMBEDDED), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"embedded datasets: {', '.join(EMBEDDED)}"
        raise UserError(f"no dataset or path named '{name}'; {hint}")
    if path.is_dir() and is_audio_folder(path):
        if cfg.task not in (None, "classification"):
            raise UserError(f"{path} is a folder of WAV files, which is a classification dataset; drop data.task")
        return load_audio_folder(path, sample_rate=cfg.sample_rate, clip_seconds=cfg.clip_seconds,
                                 skip_unreadable=cfg.skip_unreadable)
    # class folders that happen to be named A/ and B/ (or images/ and masks/) train as classes when the task
    # says so: the folder names alone cannot tell a pix2pix or segmentation folder from two classes
    classes = cfg.task == "classification"
    if path.is_dir() and ((is_pair_folder(path) and not classes) or cfg.pairs != "folders"):
        if cfg.task not in (None, "translation"):
            raise UserError(f"{path} holds paired images (A/ and B/, or side by side), a translation dataset; "
                            "drop data.task")
        return _load_pairs(path, cfg)
    if path.is_dir() and is_mask_folder(path) and not classes:
        if cfg.task not in (None, "segmentation"):
            raise UserError(f"{path} holds images/ and masks/, a segmentation dataset; drop data.task")
        return _load_masks(path, cfg)
    if path.is_dir():
        if cfg.task not in (None, "classification"):
            raise UserError(f"{path} is an image folder, which is a classification dataset; drop data.task")
        return load_image_folder(path, image_size=cfg.image_size, channels=cfg.channels,
                                 max_memory_mb=cfg.max_memory_mb, resize=cfg.resize,
                                 skip_unreadable=cfg.skip_unreadable)
    suffix = path.suffix.lower()
    if is_csv_path(path):
        return load_csv(path, target=cfg.target, task=cfg.task, columns=cfg.columns, drop=cfg.drop,
                        encoding=cfg.encoding, text_column=cfg.text_column, decimal=cfg.decimal)
    if suffix == ".npz":
        return load_npz(path, task=cfg.task)
    if suffix in IMAGE_SUFFIXES:
        raise UserError(f"{path} is a single image; pass a folder with one sub-folder of images per class")
    if suffix in AUDIO_SUFFIXES:
        raise UserError(f"{path} is a single recording; pass a folder with one sub-folder of WAV files per class")
    raise UserError(f"don't know how to read {path}; use an image folder, a .csv (.tsv, .csv.gz) or a .npz file")


def _load_pairs(path: Path, cfg: DataConfig) -> Dataset:
    """A pix2pix folder; when A/ and B/ do not pair up, the error says how to train them as two classes."""
    try:
        return load_pair_folder(path, image_size=cfg.image_size, channels=cfg.channels, resize=cfg.resize,
                                pairs=cfg.pairs)
    except UserError as err:
        if cfg.pairs != "folders" or "has no partner" not in str(err):
            raise
        raise UserError(f"{err}; or, if A and B are two classes, pass --task classification") from None


def _load_masks(path: Path, cfg: DataConfig) -> Dataset:
    """A segmentation folder; when images/ and masks/ do not pair up, the error says how to train them as two
    classes (as `_load_pairs` for A/ and B/)."""
    try:
        return load_mask_folder(path, image_size=cfg.image_size, channels=cfg.channels, resize=cfg.resize)
    except UserError as err:
        if not any(s in str(err) for s in (" has no mask;", " has no image;")):
            raise
        raise UserError(f"{err}; or, if images and masks are two classes, pass --task classification") from None


def _load_series(cfg: DataConfig) -> Dataset:
    from idealfit.data.series import embedded_series, load_series_csv

    opts = {"window": cfg.window, "horizon": cfg.horizon, "season": cfg.season}
    if cfg.name in SERIES_EMBEDDED:
        if cfg.task not in (None, "forecasting"):
            raise UserError(f"dataset '{cfg.name}' is a forecasting dataset; drop data.task or set it to forecasting")
        return embedded_series(cfg.name, **opts)
    path = Path(cfg.name).expanduser()
    if cfg.decimal != "auto":  # series CSVs are read by pandas' defaults: comma-delimited, "." decimals
        raise UserError("data.decimal works on table and text CSVs, not forecasting; drop data.decimal (save the "
                        "series with ',' between fields and '.' decimals)")
    if not (path.is_file() and is_csv_path(path)):
        raise UserError(f"forecasting reads a CSV file with a time column, or {', '.join(SERIES_EMBEDDED)}; "
                        f"{cfg.name} is neither: pass a .csv")
    return load_series_csv(path, target=cfg.target, time_column=cfg.time_column, columns=cfg.columns,
                           drop=cfg.drop, encoding=cfg.encoding, **opts)


@dataclass
class Prepared:
    """Model-ready arrays per split plus everything fitted on the training split."""

    dataset: Dataset
    x: dict[str, np.ndarray]  # split -> (n, ...) float32 inputs (empty for streamed image folders)
    y: dict[str, np.ndarray]  # split -> (n,) labels or standardized targets
    indices: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)  # JSON: preprocessing, normalization, target scale
    eval_x: dict[str, np.ndarray] = field(default_factory=dict)  # split -> inputs for final metrics, where they
    # differ from training's (a denoising autoencoder's training inputs are corrupted per batch, so its
    # final train metrics need one fixed corruption, as validation and test have)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.state["input_shape"])

    @property
    def out_dim(self) -> int:
        return get_task(self.dataset.task).out_dim(num_classes=self.dataset.num_classes,
                                                   input_shape=self.input_shape, targets=self.state.get("target"))


def prepare(ds: Dataset, indices: dict[str, Any], *, cfg: DataConfig | None = None) -> Prepared:
    """Fit preprocessing on the training split and apply it to every split.

    Args:
        ds: the loaded dataset. indices: train/val/test indices from `split_indices`.
        cfg: the preprocessing options (impute, missing_indicator, clip_quantiles, scale, pca,
            downsample); default DataConfig() (median imputation, standardization).
    """
    cfg = cfg or DataConfig()
    _check_options(ds, cfg)
    state: dict[str, Any] = {"task": ds.task, "kind": ds.kind, "class_names": ds.class_names,
                             "columns": ds.columns, "meta": ds.meta}
    x, indices = KINDS[ds.kind].fit(ds, indices, cfg, state)
    task = get_task(ds.task)
    if task.targets_are_inputs:
        x, y = _reconstruction_arrays(ds, x, cfg, state)
        noisy = cfg.noise or cfg.mask_prob
        eval_x = {"train": _corruption(cfg).fixed(x["train"], seed=TRAIN_EVAL_SEED)} if noisy else {}
        return Prepared(ds, x, y, indices, state, eval_x)
    y = {s: ds.y[indices[s]] for s in SPLITS}
    target = task.fit_targets(y["train"])  # e.g. regression trains on standardized targets
    if target is not None:
        if "series" in state:  # forecasting: MASE's scale, the training part's in-sample naive error
            target["naive_mae"] = state["series"]["naive_mae"]
        state["target"] = target
        if ds.task == "regression":
            _note_far_targets(ds, indices["train"], target)
        y = {s: task.encode_targets(v, target) for s, v in y.items()}
    return Prepared(ds, x, y, indices, state)


def _note_far_targets(ds: Dataset, train: np.ndarray, target: dict[str, Any]) -> None:
    """Regression targets far outside the rest (typos): recorded beside the target's scale and said at train; not
    clipped, since the target is what the model must predict (data/far_values.py)."""
    from idealfit.data.far_values import far_targets, far_targets_note
    from idealfit.report.examples import row_name  # names rows as predict and the report do

    far = far_targets(ds.y[train], [row_name(ds, int(i)) for i in train])
    if far is not None:
        target["far"] = far
        name = ds.meta.get("target") or "the target"
        note, notes = far_targets_note(far, target=name, n=len(train)), ds.meta.setdefault("notes", [])
        notes += [note] if note not in notes else []  # a dataset prepared again (tune's trials): said once


def _reconstruction_arrays(ds: Dataset, x: dict, cfg: DataConfig, state: dict[str, Any]) -> tuple[dict, dict]:
    """Autoencoders: standardized inputs as targets; validation and test inputs corrupted once (seeded, each
    split its own draw), training inputs corrupted per batch by the training step."""
    from idealfit.tasks.reconstruction import standardize

    if ds.paths is not None:
        raise UserError(f"reconstruction needs the images in memory; {ds.name} streams from disk: raise "
                        f"data.max_memory_mb above {cfg.max_memory_mb:g}")
    clean, state["target"] = standardize(x, state.get("norm"), ds.kind)
    state["norm"] = None  # standardized here, so the model sees (and returns) standardized values
    from idealfit.tasks.reconstruction import CORRUPTION_SEED, TEST_CORRUPTION_SEED

    # test_seed: the test split's draw, which `evaluate RUN` repeats (runs without it used CORRUPTION_SEED)
    state["reconstruction"] = {"noise": cfg.noise, "mask_prob": cfg.mask_prob, "test_seed": TEST_CORRUPTION_SEED}
    seeds = {"val": CORRUPTION_SEED, "test": TEST_CORRUPTION_SEED}
    inputs = {s: (v if s == "train" else _corruption(cfg).fixed(v, seed=seeds[s])) for s, v in clean.items()}
    return inputs, clean


def _corruption(cfg: DataConfig):
    from idealfit.tasks.reconstruction import Corruption

    return Corruption(noise=cfg.noise, mask_prob=cfg.mask_prob)


def _check_options(ds: Dataset, cfg: DataConfig) -> None:
    """An option that cannot apply to this data stops here, rather than being silently ignored."""
    csv_only = {"columns": cfg.columns is not None, "drop": bool(cfg.drop), "encoding": cfg.encoding != "utf-8",
                "decimal": cfg.decimal != "auto",
                "text_column": cfg.text_column is not None}
    for key, given in csv_only.items():
        if given and not is_csv_path(Path(str(ds.meta.get("source", "")))):
            raise UserError(f"data.{key} works on CSV files; {ds.name} is not one: drop data.{key}")
    if cfg.resize != DataConfig.resize and "image_size" not in ds.meta:  # only image folders record their side
        raise UserError(f"data.resize works on image folders; {ds.name} is not one: drop data.resize")
    if cfg.skip_unreadable and "unreadable_files" not in ds.meta:  # recorded by image and WAV folders only
        raise UserError(f"data.skip_unreadable works on image and WAV folders; {ds.name} is not one: "
                        "drop data.skip_unreadable")
    if ds.task != "reconstruction" and (cfg.noise or cfg.mask_prob):
        key = "noise" if cfg.noise else "mask_prob"
        raise UserError(f"data.{key} corrupts the inputs of a denoising autoencoder; add --task reconstruction "
                        f"or drop data.{key}")
    if ds.task == "reconstruction" and cfg.augment:
        raise UserError("data.augment is not applied to reconstruction (the target would have to move too); "
                        "drop data.augment, or use data.noise / data.mask_prob to corrupt the inputs")
    text_only = {k: getattr(cfg, k) != getattr(DataConfig, k) for k in ("tokens", "min_freq", "max_vocab", "max_length")}
    for key, given in text_only.items():
        if given and ds.kind != "text":
            texts = ds.meta.get("sentence_columns") or []  # a column of sentences read as a category: the user wants text
            fix = f"read the column '{texts[0]}' as text with --set data.text_column={texts[0]}" if texts else \
                f"drop data.{key}"
            raise UserError(f"data.{key} works on text; {ds.name} is {ds.kind} data: {fix}")
    audio_only = {k: getattr(cfg, k) != getattr(DataConfig, k) for k in ("sample_rate", "clip_seconds", "n_mels")}
    for key, given in audio_only.items():
        if given and ds.kind != "audio":
            raise UserError(f"data.{key} works on audio; {ds.name} is {ds.kind} data: drop data.{key}")
    beside = ds.kind == "text" and len(ds.columns or []) > 1  # text beside table columns: they get table options
    if ds.kind in ("text", "audio") and ((cfg.pca is not None and not beside) or cfg.downsample != 1):
        key = "pca" if cfg.pca is not None and not beside else "downsample"
        raise UserError(f"data.{key} works on images, signals and tables; {ds.name} is {ds.kind} data: drop data.{key}")
    if ds.kind == "table" or beside:
        if cfg.downsample != 1:
            raise UserError(f"data.downsample works on images and signals; {ds.name} is table data: "
                            "drop data.downsample")
        return
    table_only = {"impute": cfg.impute != DataConfig.impute, "missing_indicator": cfg.missing_indicator,
                  "clip_quantiles": cfg.clip_quantiles not in (None, list(CLIP_QUANTILES)),
                  "clip_fences": cfg.clip_fences not in (None, CLIP_FENCES)}
    for key, given in table_only.items():
        if given:
            raise UserError(f"data.{key} works on tables; {ds.name} is {ds.kind} data: drop data.{key}")
    if ds.paths is not None and (cfg.downsample != 1 or cfg.pca is not None):
        key = "downsample" if cfg.downsample != 1 else "pca"
        raise UserError(f"data.{key} is not supported for image folders streamed from disk (larger than "
                        f"data.max_memory_mb={cfg.max_memory_mb:g}); raise data.max_memory_mb to load the "
                        f"folder into memory, or drop data.{key}")
    if cfg.pca is not None and cfg.augment:
        raise UserError("data.augment works on images, and data.pca turns them into vectors; drop one of the two")


def transform_inputs(state: dict[str, Any], x: np.ndarray, *, names: list[str] | None = None,
                     lengths: np.ndarray | None = None) -> np.ndarray:
    """Apply a saved run's fitted input preprocessing to raw inputs, for every kind of data.

    The one place that does so: training (through `prepare`), predict and evaluate all call it.
    Tables get cleaning, scaling, encoding and PCA; images and signals get pooling and PCA (their
    per-channel scaling is the model's first layer, unless PCA moved it here).

    Args:
        state: the run's preprocess.json. x: raw inputs, (N, F) cells or (N, *raw_input_shape(state)).
        names: one name per sample for error messages (default: "row i").
        lengths: audio: (N,) real samples of each clip (`Dataset.lengths`), the rest silence padding.
    """
    if lengths is not None and state["kind"] == "audio":
        from idealfit.data.audio import transform_audio

        x = transform_audio(state, x, names, lengths=lengths)
    else:
        x = KINDS[state["kind"]].transform(state, x, names)
    if "reconstruction" in state:  # an autoencoder's inputs are standardized here, not by the model
        from idealfit.tasks.reconstruction import standardize

        x = standardize({"x": x}, state["target"], state["kind"])[0]["x"]
    return x


def raw_input_shape(state: dict[str, Any]) -> tuple[int, ...]:
    """One raw sample's shape, before preprocessing: (F,) table cells, (C, H, W) images, (C, L) signals."""
    return KINDS[state["kind"]].raw_shape(state)
