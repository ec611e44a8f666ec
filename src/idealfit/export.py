"""`idealfit export RUN --onnx model.onnx`: the model and its task's prediction head as one ONNX graph.

The graph computes what `Run.predict` computes from a model-ready input array (the output of the run's
preprocessing, `Run.load_inputs`): the network (with its input normalization layer, when the run has
one) followed by the task's `decode` step as tensor operations:

    classification  probabilities (N, K)            softmax of the logits
    regression      value (N,)                      de-standardized: out · std + mean (preprocess.json "target")
    forecasting     forecast (N, horizon)           the next data.horizon values, de-standardized likewise
    segmentation    mask (N, H, W) int64 class ids  argmax over classes (what predict writes as mask PNGs)
                    probabilities (N, K, H, W)      softmax over classes, for callers that threshold
    reconstruction  reconstruction (N, ...)         de-standardized per channel, in the data's units
    translation     image (N, C, H, W) in [0, 1]    the pix2pix generator alone (no discriminator)

Text runs take token ids (int64, padded to data.max_length), or, beside table columns, the table features then
the ids (float32); their recurrent networks run on the padded ids (models/rnn._padded), giving the numbers that
packed sequences give in predict. The first dimension is dynamic (any batch size). The preprocessing that is not part of the torch model
(reading files, CSV cleaning, imputation, one-hot encoding, scaling of table columns, image resizing,
pooling, PCA, an autoencoder's input standardization) stays outside the graph; `<path>.json`, written
beside the graph, lists what a caller must apply. A segmentation or translation run's graph takes any H × W
(dynamic, at least the U-Net's pooling multiple), as predict feeds it whole images; its "other_sizes" says how
predict scales an image file of another size and resizes the answer back (data/whole.py). Before anything is
written, onnxruntime runs the graph on a few of the run's own test samples (and, with a dynamic H × W, on two
of them resized to a non-square size) and must agree with `Run.predict` (else: our bug, raised).

Exporter: `torch.onnx.export(..., dynamo=True)`, torch's default since 2.9 (the TorchScript exporter is
deprecated there). It needs the packages onnx, onnxruntime and onnxscript: `pip install idealfit[export]`.

Example:
    >>> import idealfit as fit
    >>> fit.load_run("runs/x").export_onnx("model.onnx")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from idealfit.errors import UserError
from idealfit.export_steps import preprocessing_steps  # noqa: F401 - tests and callers import it from here
from idealfit.run_files import writable_parent

if TYPE_CHECKING:
    from idealfit.run import Run

CHECK_SAMPLES = 8  # test samples run through both torch and onnxruntime at export time
TOLERANCE = 1e-4  # largest difference allowed, relative to the outputs' magnitude (at least 1)
INPUT = "x"
OUTPUTS = {"classification": ["probabilities"], "regression": ["value"], "segmentation": ["mask", "probabilities"],
           "reconstruction": ["reconstruction"], "translation": ["image"], "forecasting": ["forecast"]}
NEEDED = ("onnx", "onnxruntime", "onnxscript")


@dataclass(frozen=True)
class Exported:
    """What `export_onnx` wrote and how it was checked.

    Attributes:
        onnx: the graph. spec: the JSON beside it. max_abs_diff: largest |onnxruntime − predict| over the
        check samples and outputs. checked_on: which samples ("8 test samples" or "8 random inputs (...)").
    """

    onnx: Path
    spec: Path
    max_abs_diff: float
    checked_on: str


class ServedModel(nn.Module):
    """The run's network followed by its task's `decode`, in torch operations (so it exports).

    Args:
        model: the run's network (eval mode). task: the run's task. target: preprocess.json's "target".
    """

    def __init__(self, model: nn.Module, task: str, target: dict[str, Any] | None):
        super().__init__()
        self.model, self.task = model, task
        mean, std = (target or {}).get("mean", 0.0), (target or {}).get("std", 1.0)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))  # () or (C,)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        out = self.model(x).float()  # (N, K), (N, 1), (N, K, H, W), (N, *input_shape) or (N, C, H, W)
        if self.task == "classification":
            return torch.softmax(out, dim=1)  # (N, K)
        if self.task == "regression":
            return out.squeeze(-1) * self.std + self.mean  # (N,) in the target's units
        if self.task == "forecasting":
            return out * self.std + self.mean  # (N, horizon) in the target's units
        if self.task == "segmentation":
            return out.argmax(1), torch.softmax(out, dim=1)  # (N, H, W) int64, (N, K, H, W)
        if self.task == "reconstruction":  # as tasks.reconstruction.unstandardize: one value, or one per channel
            if self.mean.numel() == 1:
                return out * self.std.reshape(()) + self.mean.reshape(())
            shape = (1, -1) + (1,) * (out.dim() - 2)
            return out * self.std.view(shape) + self.mean.view(shape)
        return out.clamp(0, 1)  # translation: (N, C, H, W) in [0, 1]


def check_export_packages() -> None:
    """Refuse, in one line, when the optional packages of ONNX export are missing."""
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(f"ONNX export needs {', '.join(missing)}, which are not installed: "
                        "pip install idealfit[export]")


def check_onnx_path(path: str | Path, run_dir: Path) -> tuple[Path, Path]:
    """(graph path, spec path) for `--onnx path`, refused before any work when they cannot be written."""
    onnx_path = Path(path)
    spec_path = onnx_path.with_name(onnx_path.name + ".json")
    for p in (onnx_path, spec_path):
        if p.is_dir():
            raise UserError(f"--onnx {path}: {p} is a folder; give a file name such as {p / 'model.onnx'}")
    parent = writable_parent(f"--onnx {path}", onnx_path)
    if parent.resolve() == run_dir.resolve() and (onnx_path.exists() or spec_path.exists()):
        raise UserError(f"--onnx {path} would overwrite a file of the run itself; give a new file name")
    return onnx_path, spec_path


def export_onnx(run: str | Path | Run, path: str | Path, *, echo=print) -> Exported:
    """Export a finished run as ONNX to `path`, with its spec at `path` + ".json"; see the module docstring.

    Args:
        run: the run folder `idealfit train` wrote, or a loaded `Run`.
        path: the .onnx file to write (replaced atomically if it exists; never a file of the run itself).
        echo: where the one-line report goes (print by default).

    Raises:
        UserError: the packages are missing, `run` is no finished (or an interrupted) run, or `path` cannot
            be written.
        RuntimeError: onnxruntime disagrees with `Run.predict` (our bug; nothing is written).
    """
    from idealfit.run import Run, load_run

    check_export_packages()
    run = run if isinstance(run, Run) else load_run(run)
    run_dir = run.dir
    if run.summary.get("interrupted"):
        raise UserError(f"{run_dir} was interrupted before it finished; finish it with "
                        f"`idealfit train --resume {run_dir}`, then export")
    onnx_path, spec_path = check_onnx_path(path, run_dir)
    x, checked_on = _check_inputs(run)
    served = ServedModel(exportable(run.model), run.task, run.state.get("target")).eval()
    least = any_size(run)
    graph = _to_onnx(served, x, OUTPUTS[run.task], least_side=least)
    diff = _compare(run, graph, x)
    if least:  # the same graph on an input of another, non-square size, as predict feeds a whole image
        other = _other_size(x[:2], least)
        diff = max(diff, _compare(run, graph, other))
        checked_on += f" and {len(other)} of them resized to {other.shape[-1]}×{other.shape[-2]}"
    spec = _spec(run, graph)
    from idealfit.run_files import atomic_write

    atomic_write(onnx_path, graph)
    atomic_write(spec_path, (json.dumps(spec, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    echo(f"wrote {onnx_path} and {spec_path.name}: {run.task}, outputs {', '.join(spec['outputs'])}; "
         f"onnxruntime matches predict on {checked_on} (max abs difference {diff:.2e})")
    return Exported(onnx_path, spec_path, diff, checked_on)


def exportable(model: nn.Module) -> nn.Module:
    """`model`, or a copy whose recurrent networks run on padded sequences (models/rnn._padded): the same numbers
    as the packed sequences they train with, in operations the exporter traces (no PackedSequence, no shape
    that depends on the data)."""
    import copy

    from idealfit.models.rnn import RecurrentNet

    if not any(isinstance(m, RecurrentNet) for m in model.modules()):
        return model
    model = copy.deepcopy(model)
    for m in model.modules():
        if isinstance(m, RecurrentNet):
            m.padded = True
    return model


def graph_input(state: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Model-ready inputs as the graph takes them: float32, except a text run's token ids, int64 and padded with
    <pad> to data.max_length tokens (predict pads each batch to its longest text, cut at data.max_length; more
    padding changes nothing, and the graph's length is fixed); text beside table columns: float32 (N, F + L)."""
    if state["kind"] != "text":
        return np.ascontiguousarray(x, dtype=np.float32)
    t, features = state["text"], int(state["norm"].get("table_features", 0))
    width = features + int(t["max_length"])
    pad = np.full((len(x), width - x.shape[1]), 0, dtype=x.dtype)  # <pad> is id 0 (data/text.PAD_ID)
    return np.ascontiguousarray(np.concatenate([x, pad], axis=1), dtype=np.float32 if features else np.int64)


def random_inputs(state: dict[str, Any], n: int, *, seed: int = 0) -> np.ndarray:
    """`n` random model-ready inputs: standard normal values; for text, random token ids of random lengths (at
    least one token, then <pad>), beside standard normal table features."""
    rng = np.random.default_rng(seed)
    if state["kind"] != "text":
        return rng.standard_normal((n, *state["input_shape"])).astype(np.float32)
    features, length = int(state["norm"].get("table_features", 0)), int(state["text"]["max_length"])
    ids = rng.integers(1, int(state["norm"]["vocab_size"]), size=(n, length))
    ids[np.arange(length)[None, :] >= rng.integers(1, length + 1, size=(n, 1))] = 0
    if not features:
        return ids.astype(np.int64)
    return np.concatenate([rng.standard_normal((n, features)), ids], axis=1).astype(np.float32)


def _check_inputs(run) -> tuple[np.ndarray, str]:
    """Model-ready inputs to check the graph on: the run's first test samples, or random ones if its data
    cannot be read again (moved or changed since training)."""
    from idealfit.data.inputs import load_eval_dataset

    try:
        x = run._test_samples(load_eval_dataset(run.state, run.config.data, None), run._test_split()[:CHECK_SAMPLES])
        if len(x):
            return graph_input(run.state, x), f"{len(x)} test samples"
        reason = "an empty test split"
    except UserError as err:
        reason = str(err).split(";")[0]
    return random_inputs(run.state, CHECK_SAMPLES), f"{CHECK_SAMPLES} random inputs ({reason})"


def any_size(run) -> int | None:
    """The least side a segmentation or translation run's U-Net takes, when its graph can take any H × W (the
    network is fully convolutional and no pooling or PCA fixes the input's shape: data/whole.predicts_whole);
    else None (the graph keeps the run's input shape)."""
    from idealfit.data.whole import predicts_whole
    from idealfit.models.unet import UNet

    if run.task not in ("segmentation", "translation") or not predicts_whole(run.state):
        return None
    unet = next((m for m in run.model.modules() if isinstance(m, UNet)), None)
    return None if unet is None else unet.multiple


def _other_size(x: np.ndarray, least: int) -> np.ndarray:
    """`x` (N, C, S, S) resized to a non-square size that is no multiple of the U-Net's pooling (so the graph's
    padding and crop back run): about 3/4 S high, S + 5 wide, each side at least `least`."""
    s = x.shape[-1]
    size = (max(least, 3 * s // 4 + 1), max(least, s + 5))
    return torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="bilinear").numpy()


def _to_onnx(served: ServedModel, x: np.ndarray, outputs: list[str], *, least_side: int | None = None) -> bytes:
    """The serialized ONNX model of `served`, its first dimension dynamic (with `least_side`, its H and W too,
    each at least that), weights inside the file."""
    example = torch.from_numpy(x[:2] if len(x) >= 2 else np.concatenate([x, x]))  # batch 1 would be specialized
    dims = {0: torch.export.Dim("batch")}
    if least_side:
        dims |= {2: torch.export.Dim("height", min=least_side), 3: torch.export.Dim("width", min=least_side)}
    quiet = logging.getLogger("torch.onnx")  # "torchvision is not installed" warnings: nothing of ours uses it
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch's own deprecations inside torch.export
            program = torch.onnx.export(served, (example,), dynamo=True, input_names=[INPUT], output_names=outputs,
                                        dynamic_shapes=(dims,), verbose=False)
    finally:
        quiet.setLevel(level)
    return program.model_proto.SerializeToString()


def _compare(run, graph: bytes, x: np.ndarray) -> float:
    """Max |onnxruntime − predict| on `x`; raises RuntimeError beyond TOLERANCE (our bug)."""
    import onnxruntime as ort

    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    got = dict(zip(OUTPUTS[run.task], session.run(None, {INPUT: x}), strict=True))
    want = run._predict_ready(x)  # exactly what predict computes from these inputs
    if run.task == "segmentation":
        logits = run._forward(x)
        probs = torch.softmax(logits.float(), dim=1).numpy()
        diff = _max_diff(got["probabilities"], probs)
        # a pixel whose mask differs is a near tie: its two classes' probabilities within the tolerance
        ids = got["mask"].astype(np.int64)
        wrong = ids != want
        gap = np.abs(np.take_along_axis(probs, ids[:, None], 1)[:, 0] - probs.max(1))
        if wrong.any() and gap[wrong].max() > TOLERANCE:
            raise RuntimeError(f"ONNX export: the exported mask differs from predict at {int(wrong.sum())} pixels")
    else:
        diff = _max_diff(got[OUTPUTS[run.task][0]], want)
    return diff


def _max_diff(got: np.ndarray, want: np.ndarray) -> float:
    if got.shape != want.shape:
        raise RuntimeError(f"ONNX export: onnxruntime gives shape {got.shape}, predict {want.shape}")
    diff = float(np.abs(got.astype(np.float64) - want).max()) if want.size else 0.0
    if not diff <= TOLERANCE * max(1.0, float(np.abs(want).max()) if want.size else 1.0):
        raise RuntimeError(f"ONNX export: onnxruntime differs from predict by {diff:.3g} (tolerance {TOLERANCE:g})")
    return diff


def _spec(run, graph: bytes) -> dict[str, Any]:
    """The JSON beside the graph: input, outputs, classes and the preprocessing a caller must apply."""
    import onnx

    model = onnx.load_from_string(graph)
    dims = lambda t: [d.dim_param or d.dim_value for d in t.type.tensor_type.shape.dim]  # noqa: E731
    dtype = lambda t: onnx.helper.tensor_dtype_to_np_dtype(t.type.tensor_type.elem_type).name  # noqa: E731
    spec = {
        "run": str(run.dir), "task": run.task, "opset": model.opset_import[0].version,
        "input": {"name": INPUT, "shape": dims(model.graph.input[0]), "dtype": dtype(model.graph.input[0])},
        "outputs": {o.name: {"shape": dims(o), "dtype": dtype(o)} for o in model.graph.output},
        "class_names": run.class_names,
        "preprocessing": preprocessing_steps(run.state),
    }
    from idealfit.data.whole import other_sizes_note

    if least := any_size(run):
        spec["other_sizes"] = other_sizes_note(run.state, run.task, least_side=least)  # how predict scales images
    return spec
