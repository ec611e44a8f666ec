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

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from idealfit.config import RunConfig
from idealfit.data.base import Dataset
from idealfit.data.inputs import read_images as _read_images
from idealfit.data.inputs import read_inputs
from idealfit.errors import UserError
from idealfit.run_files import damaged, is_file, read_npz, run_file
from idealfit.run_read import (  # noqa: F401 - their home before; callers import them from here
    WEIGHTS,
    check_run_dir,
    load_config,
    load_weights,
    read_json_object,
    read_state,
)
from idealfit.tasks import get_task

if TYPE_CHECKING:
    from idealfit.export import Exported

BATCH = 512  # samples per forward pass at evaluate and predict: bounds the memory, not the result


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

    def load_inputs(self, paths: str | Path | list[str | Path]) -> torch.Tensor:
        """Image files, one CSV or one NPZ as a batch ready for `self.model`."""
        return torch.from_numpy(read_inputs(self.state, _as_paths(paths, kind=self.state["kind"]))[0])

    def predict_array(self, x: np.ndarray | list) -> np.ndarray:
        """Predictions for raw inputs, as the user has them: the run's fitted preprocessing is applied here.

        Args:
            x: a table as a pandas DataFrame (columns by name), an (N, F) array or a list of N rows (numbers
                or strings, columns in the training order `state["columns"]`); images as (N, C, H, W) (or (N, H, W)
                for one channel) in the training data's units; signals as (N, C, L); text as a list of N strings
                (or one string), or, for text beside table columns, as a table (the text column first, as in
                `state["columns"]`). A forecasting run takes a recent history: a DataFrame of its value columns
                (its time column too, if you have it: gaps are then filled as at training) or an array (T, C) of
                the value columns, one row per time step (T >= data.window); or windows (N, C, data.window).

        Returns:
            class probabilities (N, K) for classification, their columns in the order of `run.class_names`;
            values in data units (N,) for regression; for a forecasting run, the next data.horizon values of
            the target (horizon,) after the end of a history, or (N, horizon) for N windows.
        """
        from idealfit.data.prepare import raw_input_shape, transform_inputs

        if self.task == "forecasting" and not (isinstance(x, np.ndarray) and x.ndim == 3):
            from idealfit.data.forecast_input import forecast_values

            return forecast_values(self, x)
        want = raw_input_shape(self.state)
        beside = self.state["kind"] == "text" and want[0] > 1  # text beside table columns: rows, as a table's
        if self.state["kind"] == "table" or beside:
            labels = None
            if hasattr(x, "columns"):  # a pandas DataFrame: its columns by name, as for a CSV
                missing = [c for c in self.state["columns"] if c not in x.columns]
                if missing:
                    raise UserError(f"the DataFrame lacks column '{missing[0]}' that this run was trained on")
                labels = [f"row {i}" for i in x.index]
                x = x[self.state["columns"]]
            arr = np.asarray(x, dtype=object)  # cells may be numbers or strings, as in a CSV
            if arr.ndim != 2 or arr.shape[1] != want[0]:
                raise UserError(f"predict_array takes a table of rows of {want[0]} cells "
                                f"({', '.join(self.state['columns'])}); got shape {arr.shape}")
            _warn_input_notes(self.state, arr, labels or [f"row {i}" for i in range(len(arr))])
        elif self.state["kind"] == "text":
            if hasattr(x, "columns"):  # a DataFrame: its text column by name (list(frame) is its column names)
                col = self.state["columns"][0]
                if col not in x.columns:
                    raise UserError(f"the DataFrame lacks the text column '{col}' that this run was trained on")
                x = x[col]
            arr = np.asarray([x] if isinstance(x, str) else list(x), dtype=object)  # one text per sample
        else:
            arr = np.asarray(x, dtype=np.float32)
            if arr.ndim == len(want) and want[0] == 1:
                arr = arr[:, None]  # (N, H, W) -> (N, 1, H, W)
            if tuple(arr.shape[1:]) != want:
                raise UserError(f"predict_array takes raw samples of shape {want}; got {tuple(arr.shape[1:])}")
            _warn_range(self.state, arr)
        return self._predict_ready(transform_inputs(self.state, arr))

    def _predict_ready(self, x: np.ndarray) -> np.ndarray:
        """Like `predict_array`, for inputs that already went through the run's preprocessing."""
        return get_task(self.task).decode(self._forward(x), self.state.get("target"))

    def _seen(self, x: np.ndarray) -> np.ndarray:
        """Model-ready inputs as the model sees them when evaluated: a denoising run's one fixed corruption
        (its test inputs had the same draw), anything else unchanged."""
        c = self.state.get("reconstruction")
        if c is None:
            return x
        from idealfit.tasks.reconstruction import CORRUPTION_SEED, Corruption

        seed = c.get("test_seed", CORRUPTION_SEED)  # a run from before test had its own draw: the one it used
        return Corruption(noise=c["noise"], mask_prob=c["mask_prob"]).fixed(np.asarray(x, dtype=np.float32), seed=seed)

    def _forward(self, x: np.ndarray) -> torch.Tensor:
        """The model's outputs for model-ready inputs, BATCH samples at a time without autograd.

        The whole set at once would hold every layer's activations for every sample (7.8 GB for 3,000
        64x64 images); batches keep the peak at one batch's activations.
        """
        xt = torch.from_numpy(np.ascontiguousarray(x))
        with torch.inference_mode():
            outs = [self.model(xt[i : i + BATCH]) for i in range(0, len(xt), BATCH)]
        return torch.cat(outs) if outs else torch.empty(0)

    def predict(self, paths: str | Path | list[str | Path] | Any) -> tuple[list[str], np.ndarray | list[np.ndarray]]:
        """(input names, predictions) for image files, a CSV or an NPZ (one path or a list of them); a forecasting
        run: (time stamps, the next data.horizon values) after one CSV of recent history.

        In-memory inputs work too: a pandas DataFrame or a numpy array (or a list of rows) goes through
        `predict_array`, named by the DataFrame's index or by row number; a forecasting run takes a DataFrame
        with its time column (the stamps come from it) in place of the CSV.

        A segmentation or translation run predicts image files as `idealfit predict` writes them: each whole
        image at the run's scale (data/whole.py), its mask (H, W) of class ids or generated image (C, H, W)
        resized back to the input's size; (N, ...) as one array when the inputs share a size, else a list
        of N arrays. NPZ inputs are arrays at the run's side, as in training.
        """
        if not _is_paths(paths):
            return self._predict_in_memory(paths)
        given = _as_paths(paths, kind=self.state["kind"])
        if self.task == "forecasting":
            from idealfit.data.forecast_input import forecast

            if len(given) != 1:
                raise UserError(f"a forecasting run predicts from one CSV of recent history; got {len(given)} inputs")
            return forecast(self, given[0])
        from idealfit.predict_outputs import predict_whole

        whole = predict_whole(self, given)  # a segmentation or translation run: the CLI's whole-image path
        if whole is not None:  # one array when the inputs share a size (as the S x S path gives), else a list
            same = len({out.shape for out in whole}) == 1
            return [str(p) for p in given], np.stack(whole) if same else whole
        x, names = read_inputs(self.state, given)
        return names, self._predict_ready(x)

    def _predict_in_memory(self, x: Any) -> tuple[list[str], np.ndarray]:
        """`predict` for a DataFrame, an array or a list of rows: names from the index or the row number."""
        if self.task == "forecasting":
            info = self.state["meta"]["series"]
            if not hasattr(x, "columns") or info["time_column"] not in x.columns:
                raise UserError(f"predict stamps a forecast with the history's time column '{info['time_column']}'; "
                                "pass a DataFrame that has it, or use run.predict_array(history) for the values alone")
            from idealfit.data.forecast_input import forecast

            return forecast(self, x)
        pred = self.predict_array(x)
        names = [str(i) for i in range(len(pred))]
        if hasattr(x, "columns"):  # a DataFrame: its identifier column if the run recorded one (as for a CSV), else its index
            from idealfit.data.inputs import id_text

            ids = [c for c in self.state.get("identifiers", []) if c in x.columns]
            names = [id_text(v) or str(i) for v, i in zip(x[ids[0]], x.index, strict=True)] if ids else \
                [str(i) for i in x.index]
        return names, pred

    def export_onnx(self, path: str | Path, *, echo=print) -> Exported:
        """This run's model and prediction head as an ONNX graph at `path` (spec at `path` + ".json"),
        checked against onnxruntime on the run's test samples; see `idealfit.export`. `echo` gets the one-line
        report (print by default). Needs `pip install idealfit[export]`."""
        from idealfit.export import export_onnx

        return export_onnx(self, path, echo=echo)

    def _test_split(self) -> np.ndarray:
        """The test indices from split.npz, checked against the dataset's size."""
        test = read_npz(self.dir, "split.npz", ("test",))["test"]
        if test.ndim != 1 or not np.issubdtype(test.dtype, np.integer):
            raise damaged(self.dir / "split.npz", f"test indices of dtype {test.dtype}, shape {test.shape}")
        return test

    def _test_samples(self, ds: Dataset, test: np.ndarray) -> np.ndarray:
        """The samples `test` (indices of the test split) of `ds`, the run's data source read again
        (load_eval_dataset), model-ready: export's check and explain without --input."""
        from idealfit.data.prepare import transform_inputs

        if ds.paths is not None:  # a folder streamed from disk: read just these files
            return _read_images(self.state, [ds.paths[i] for i in test])
        return transform_inputs(self.state, ds.x[test], lengths=None if ds.lengths is None else ds.lengths[test])

    def evaluate(self, data: str | None = None) -> dict[str, float]:
        """Metrics on the run's own test split, or on labelled data at `data` (a path or embedded name)."""
        from idealfit.data.inputs import load_eval_dataset
        from idealfit.data.prepare import transform_inputs

        cfg = self.config.data
        ds = load_eval_dataset(self.state, cfg, data, run_dir=self.dir)  # a changed source refused; CSV columns matched by name
        if data is not None:  # the training source itself: its score is no test score, so say how much it trained on
            from idealfit.data.overlap import training_rows_note

            split = read_npz(self.dir, "split.npz", ("train", "val", "test"))
            note = training_rows_note(self.state, cfg.name, data, split, len(ds.y)) or _seen_rows_note(self, ds, data, split)
        else:
            note = None
            test = self._test_split()
            if len(test) and (test.min() < 0 or test.max() >= len(ds.y)):
                raise damaged(self.dir / "split.npz", f"test index {test.max()} past the {len(ds.y)} samples")
            ds.x, ds.y = (ds.x[test] if ds.paths is None else ds.x), ds.y[test]
            ds.lengths = None if ds.lengths is None else ds.lengths[test]  # audio clips' real lengths
            if ds.paths is not None:
                ds.paths = [ds.paths[i] for i in test]
        y = _align_labels(self, ds)
        x = transform_inputs(self.state, ds.x, lengths=ds.lengths) if ds.paths is None else \
            _read_images(self.state, ds.paths)
        if not len(x):
            raise UserError(f"{data} has no samples to evaluate")
        task, targets = get_task(self.task), self.state.get("target")
        labels = y
        if task.targets_are_inputs:  # the clean inputs are the targets; the model sees them corrupted
            y = x.astype(np.float32)
        elif targets is not None:
            y = task.encode_targets(y, targets)
        out = self._forward(self._seen(x))
        from idealfit.train.meter import Meter

        yt, meter = torch.from_numpy(y), Meter()
        for i in range(0, len(yt), BATCH):  # the task's statistics summed batch by batch, as in training
            o, t = out[i : i + BATCH], yt[i : i + BATCH]
            meter.add(task.stats(o, t, task.loss(o, t)))
        # the test metrics that training adds from each sample (Task.test_metrics) rather than from sums, again
        metrics = {**task.finish(meter.sums(), targets),
                   **task.evaluate_metrics(out, yt, targets, labels=labels, class_names=ds.class_names, data=cfg)}
        if note:  # once the data proved readable: a bad row's error stays the command's one line
            print(note, file=sys.stderr)
        return metrics


def _warn_input_notes(state: dict[str, Any], arr: np.ndarray, names: list[str]) -> None:
    """What predict_array does to table rows unlike training's (cells filled, values never seen, values clipped;
    a text beside table columns: its words never seen), as Python warnings: the notes `idealfit predict` prints
    on stderr, which a notebook shows and a caller may filter (warnings.simplefilter)."""
    import warnings

    from idealfit.data.input_notes import input_notes
    from idealfit.data.table import Table

    for note in input_notes(state, Table.from_array(arr), names, source="predict_array"):
        warnings.warn(note, UserWarning, stacklevel=3)


def _warn_range(state: dict[str, Any], arr: np.ndarray) -> None:
    """Images or signals far outside the training inputs' range (other units), as a Python warning."""
    import warnings

    from idealfit.data.input_notes import array_range_note

    for note in array_range_note(state, arr, [f"sample {i}" for i in range(len(arr))], source="predict_array"):
        warnings.warn(note, UserWarning, stacklevel=3)


def _seen_rows_note(run: Run, ds: Dataset, data: str, split: dict[str, np.ndarray]) -> str | None:
    """`overlap.seen_note` for data given to evaluate that is not the training source itself: rows of it that the
    run trained on, found by reading its training source again (None when that source cannot be read)."""
    from idealfit.data.inputs import load_eval_dataset
    from idealfit.data.overlap import seen_note

    try:
        own = load_eval_dataset(run.state, run.config.data, None)
    except UserError:  # moved or changed since training: nothing to compare with
        return None
    return seen_note(own, split, ds, data)


def _is_paths(paths: Any) -> bool:
    """Whether `predict` got file names (a path, or a list of them) rather than in-memory inputs."""
    if isinstance(paths, (str, Path)):
        return True
    return isinstance(paths, (list, tuple)) and all(isinstance(p, (str, Path)) for p in paths)


def _as_paths(paths: str | Path | list[str | Path], *, kind: str = "image") -> list[Path]:
    """One path or a list of them, a folder standing for the run's `kind` of files under it (data.inputs)."""
    from idealfit.data.inputs import expand_folders

    return expand_folders(paths, kind=kind)


def _align_labels(run: Run, ds: Dataset) -> np.ndarray:
    """The dataset's labels as the run's class ids (matched by class name)."""
    task = get_task(run.task)
    if task.targets_are_inputs:
        return ds.y  # an autoencoder's targets are its inputs; labels play no part in its metrics
    if not task.has_classes and task.name != "regression":
        return ds.y.astype(np.float32)  # images as targets (translation)
    if run.task == "regression":
        if ds.task != "regression":
            raise UserError(f"{ds.name} holds classes but this run predicts values; pass regression data")
        return ds.y.astype(np.float32)
    names = run.class_names or []
    if run.task == "segmentation" and (_unnamed(ds.class_names) or _unnamed(names)):
        # a mask's pixel value is its class id; a folder without classes.txt (names "0".."K-1") is matched by id
        if len(ds.class_names or []) > len(names):
            raise UserError(f"{ds.name}'s masks hold class value {len(ds.class_names) - 1}, but this run knows "
                            f"{len(names)} classes (0..{len(names) - 1}: {', '.join(names)}); fix those masks")
        return ds.y
    missing = [c for c in (ds.class_names or []) if c not in names]
    if missing:
        fix = "; if its mask values mean the same classes, copy the run's names into its classes.txt" \
            if run.task == "segmentation" else ""
        raise UserError(f"{ds.name} has class '{missing[0]}' which this run never saw; its classes are "
                        f"{', '.join(names)}{fix}")
    lookup = np.array([names.index(c) for c in ds.class_names or []], np.int64)
    return lookup[ds.y]


def _unnamed(names: list[str] | None) -> bool:
    """Class names that are only the ids "0".."K-1", a segmentation folder's names without classes.txt."""
    return names is not None and names == [str(k) for k in range(len(names))]


def load_run(path: str | Path) -> Run:
    """Load a finished run folder: the model in eval mode on the CPU, ready for evaluate and predict."""
    from idealfit.metrics_csv import read_history
    from idealfit.models.build import build_model

    p = check_run_dir(path)
    if not is_file(p, WEIGHTS) or not is_file(p, "summary.json"):
        raise UserError(f"{p} has no finished model yet; continue it with `idealfit train --resume {p}`")
    cfg = load_config(p)
    state = read_state(p)
    summary = read_json_object(p, "summary.json")
    if summary.get("task") != state["task"]:  # the two files were written together by the same run
        raise damaged(run_file(p, "summary.json"), f"its task {summary.get('task')!r} is not {state['task']!r}")
    out_dim = get_task(state["task"]).out_dim(num_classes=len(state.get("class_names") or []),
                                              input_shape=tuple(state["input_shape"]), targets=state.get("target"))
    model = build_model(cfg.model, input_shape=tuple(state["input_shape"]), out_dim=out_dim, norm=state["norm"],
                        difference=bool(state.get("series", {}).get("difference")))
    load_weights(p, model)
    model.eval()
    return Run(p, cfg, summary, read_history(p / "metrics.csv"), model, state)
