"""The GPU speed paths as runtime options: bf16 autocast, channels_last, torch.compile.

Each is PyTorch's own tool, switched on by a config key and recorded in config.yaml:

- `train.precision=bf16`: the forward pass and the loss run under `torch.autocast(dtype=bfloat16)`.
  bfloat16 has float32's exponent range, so no GradScaler is needed (fp16 would need one); weights,
  gradients and the optimizer stay float32, and the saved weights are plain float32.
- `train.channels_last`: 4-D weights and the in-memory image batches in NHWC layout, which cuDNN's
  tensor-core convolutions prefer (on a CPU it is mostly neutral).
- `train.compile`: `torch.compile` (inductor) of the forward module. The raw module keeps its names, so
  checkpoints and model.safetensors never carry the compiled wrapper's `_orig_mod.` prefix.

All three run on the CPU too (bf16 autocast and inductor work there; inductor needs a C++ compiler),
so they are tested on machines without a GPU. In-memory data already lives on the training device
(`data.batching.TensorBatches`) and the augmentations are batched tensor ops on the batch's device
(`data.augment`), so a GPU run moves no data between host and device inside the loop.

Example:
    >>> speed = Speed(precision="bf16", compile=True)
    >>> forward = speed.wrap(model)                 # doctest: +SKIP
    >>> with speed.autocast(torch.device("cpu")):   # doctest: +SKIP
    ...     out = forward(x).float()
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass

import torch

from idealfit.errors import UserError
from idealfit.train.callbacks import Callback

CXX_COMPILERS = ("g++", "c++", "clang++")  # what inductor's CPU backend can build its kernels with
C_COMPILERS = ("cc", "gcc", "clang")  # what Triton (inductor on CUDA) builds its kernel launchers with


@dataclass(frozen=True)
class Speed:
    """How the forward pass runs (not what it computes, up to float rounding).

    Args:
        precision: "fp32" (default) or "bf16" (autocast).
        channels_last: NHWC layout for 4-D weights and image batches (default False).
        compile: wrap the forward module in `torch.compile` (default False).
    """

    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False

    @classmethod
    def from_config(cls, t) -> Speed:
        """From a `TrainConfig`."""
        return cls(precision=t.precision, channels_last=t.channels_last, compile=t.compile)

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to call forward on. channels_last converts `model` in place (its parameters are the
        ones the optimizer holds); compile returns a wrapper and leaves `model` itself (what is saved) alone."""
        if self.channels_last:
            model.to(memory_format=torch.channels_last)  # only 4-D tensors change layout
        if any(p.is_cuda for p in model.parameters()):
            # batches of one shape (but the last): cuDNN times its convolution algorithms once per shape and
            # keeps the fastest, as hand-tuned scripts (airbench94) ask for
            torch.backends.cudnn.benchmark = True
        return torch.compile(model) if self.compile else model

    def autocast(self, device: torch.device):
        """The context the forward pass and the loss run in: bf16 autocast, or nothing for fp32."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=torch.bfloat16)

    def layout(self, batches) -> None:
        """Store in-memory image batches (`TensorBatches` of (N, C, H, W)) channels_last once, so no batch
        is converted inside the loop (indexing keeps the layout)."""
        x = getattr(batches, "x", None)
        if self.channels_last and isinstance(x, torch.Tensor) and x.dim() == 4:
            batches.x = x.contiguous(memory_format=torch.channels_last)

    @staticmethod
    def augment_on(augment, device: torch.device) -> None:
        """Draw the augmentations' randomness on the training device: a CPU generator would copy each batch's
        draws to the GPU, and each such copy waits for the GPU's queue to drain. Seeded as before."""
        from idealfit.data.augment import Augment  # its ops draw on the generator's device (data/augment.py)

        inner = getattr(augment, "augment", augment)  # PairAugment wraps one
        gen = getattr(inner, "generator", None)
        if not isinstance(inner, Augment) or gen is None or device.type == "cpu" or gen.device.type != "cpu":
            return
        on_device = torch.Generator(device=device).manual_seed(gen.initial_seed())
        for owner in (augment, getattr(augment, "augment", None)):  # PairAugment shares its Augment's generator
            if owner is not None and getattr(owner, "generator", None) is gen:
                owner.generator = on_device

    def describe(self) -> list[str]:
        """The options in effect beyond the defaults, for the start line and the summary, e.g. ["bf16", "compiled"]."""
        return ([self.precision] if self.precision != "fp32" else []) + (
            ["channels_last"] if self.channels_last else []) + (["compiled"] if self.compile else [])

    def record(self) -> dict[str, object]:
        """For summary.json."""
        return {"precision": self.precision, "channels_last": self.channels_last, "compile": self.compile}


class CompileClock(Callback):
    """Takes torch.compile's compiling time out of each epoch's `seconds` into its own `compile_seconds` column,
    so an epoch's time is what training costs and compiling (mostly the first steps: the training graph, then
    the evaluation graph and a last batch of another size) is on record beside it.

    The clock is dynamo's own (`torch._dynamo.utils.calculate_time_spent`: whole forward and backward graph
    compiles, inductor's C++ build included), read before and after each epoch; timing the first step instead
    would miss the recompiles that come later. Where this torch does not offer it, nothing changes.
    """

    def on_fit_start(self, state) -> None:
        self.last = compile_seconds_so_far()

    def on_epoch_end(self, state) -> None:
        now = compile_seconds_so_far()
        if now is None or self.last is None:
            return
        row, spent = state.history[-1], max(0.0, now - self.last)
        self.last = now
        row["compile_seconds"] = spent
        row["seconds"] = max(0.0, row["seconds"] - spent)


def compile_seconds_so_far() -> float | None:
    """Seconds torch.compile has spent compiling in this process so far, or None where torch does not say."""
    try:
        from torch._dynamo.utils import calculate_time_spent  # private, but the number torch itself reports

        return float(calculate_time_spent()["total_wall_time"])
    except (ImportError, AttributeError, KeyError, TypeError, ValueError):
        return None


def compile_note(seconds: float | None) -> str:
    """" (+ 64.2 s compiling)" after the time line's training time, "" when nothing was compiled."""
    return f" (+ {seconds:.1f} s compiling)" if seconds else ""


def restore_generator(gen: torch.Generator, state: torch.Tensor) -> None:
    """Set a checkpointed generator state; one saved on another device type (a CUDA run's augmentation draws,
    resumed with train.device=cpu) has another size, and the generator then keeps its seed instead."""
    if state.numel() == gen.get_state().numel():
        gen.set_state(state)


def speed_note(record: dict | None) -> str:
    """", bf16, channels_last, compiled" for the start line and the summary's time line ("" at the defaults)."""
    if not record:  # a run folder written before these options
        return ""
    on = Speed(**record).describe()
    return f", {', '.join(on)}" if on else ""


def check_speed(t, *, kind: str, gan: bool, device: torch.device) -> None:
    """Refuse a speed option that cannot apply to this run or this machine, before any work (one line each).

    Args:
        t: the `TrainConfig`. kind: the data kind ("image", "table", ...).
        gan: whether the model trains with a discriminator (pix2pix's own step: eager fp32).
        device: the resolved training device.
    """
    if t.channels_last and kind not in ("image", "image_pair"):
        raise UserError(f"train.channels_last lays out image batches (N, C, H, W) as NHWC, and this run has "
                        f"{kind} data; drop train.channels_last")
    if gan and (t.precision != "fp32" or t.compile):
        key = "train.precision" if t.precision != "fp32" else "train.compile"
        raise UserError(f"{key} does not apply to pix2pix with a discriminator: its step runs both networks "
                        f"eagerly in fp32; drop {key} (train.channels_last does apply)")
    if t.precision == "bf16":
        _check_bf16(device)
    if t.compile:
        _check_compile(device)


def _check_bf16(device: torch.device) -> None:
    if device.type == "cuda" and not torch.cuda.is_bf16_supported(including_emulation=False):
        name = torch.cuda.get_device_name(device)
        raise UserError(f"train.precision=bf16 needs a GPU with bfloat16 arithmetic (NVIDIA Ampere or newer), and "
                        f"{name} has none; use train.precision=fp32")
    if device.type not in ("cpu", "cuda") and not torch.amp.is_autocast_available(device.type):
        raise UserError(f"train.precision=bf16: this torch has no autocast on {device.type}; use "
                        "train.precision=fp32 or train.device=cpu")


def _check_compile(device: torch.device) -> None:
    """Inductor builds its CPU kernels with a C++ compiler, and Triton (its GPU backend) its launchers with a C one."""
    if device.type == "cpu":
        env, compilers, lang, pkg = "CXX", CXX_COMPILERS, "C++", "g++"
    else:
        env, compilers, lang, pkg = "CC", C_COMPILERS, "C", "gcc"
    if not (os.environ.get(env) or any(shutil.which(c) for c in compilers)):
        raise UserError(f"train.compile on {device.type} builds its kernels with a {lang} compiler, and none is on "
                        f"the PATH ({', '.join(compilers)}); install one (e.g. apt install {pkg}) or drop train.compile")
