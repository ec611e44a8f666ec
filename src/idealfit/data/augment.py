"""The deck's data augmentations (Original / Flip / Random crop / Contrast / Tint) as batched tensor ops,
and SpecAugment's frequency and time masks for spectrograms (`band_mask`).

In the spirit of KellerJordan/cifar10-airbench (`batch_flip_lr`, `batch_crop`): every function takes a
float batch `(B, C, H, W)` with values in [0, 1], draws fresh randomness *per sample* in one vectorised
call (no Python loop over samples), works on the input's device and returns the same shape, values
still in [0, 1]. Pass a `torch.Generator` for reproducible draws; it may live on another device than
the images (the draw is made on the generator's device, then moved). The deck's slide of them
(`preview`, `preview_figure`) is `data.augment_preview`.

Example:
    >>> aug = Augment(["flip", {"name": "crop", "padding": 2}, "contrast", "tint"])
    >>> x = aug(torch.rand(8, 1, 28, 28))  # (8, 1, 28, 28)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from idealfit.data.augment_spec import (  # noqa: F401 - the spec's names, re-exported where they were
    AUGMENTATIONS,
    CROP_MODES,
    DIRECTIONS,
    SPECTROGRAM_OPS,
    check_contrast,
    check_crop,
    check_flip,
    check_mask,
    check_specs,
    check_tint,
)
from idealfit.errors import UserError

# --- random draws ---------------------------------------------------------------------------------


def _rand(shape: tuple[int, ...], *, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Float32 U[0, 1) draws of `shape`, made on the generator's device and moved to `like`'s device.

    Kept in float32 even for half-precision images: rounding to bf16 could turn 0.999 into 1.0 and
    make a flip with p=1 fail to fire.
    """
    device = generator.device if generator is not None else like.device
    return torch.rand(shape, generator=generator, device=device).to(like.device)


def _randint(high: int, shape: tuple[int, ...], *, like: torch.Tensor, generator: torch.Generator | None):
    """Integer draws in [0, high) of `shape`, on `like`'s device."""
    device = generator.device if generator is not None else like.device
    return torch.randint(0, high, shape, generator=generator, device=device).to(like.device)


def check_images(x: Any) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise UserError(f"augmentations need a float image batch of shape (B, C, H, W), got {got}")


# --- flip -----------------------------------------------------------------------------------------


def _draw_flip(x: torch.Tensor, *, p: float, direction: str, generator) -> dict[str, torch.Tensor]:
    """Per-sample flip decisions: {"h": (B,) bool, "v": (B,) bool}; horizontal is drawn before vertical."""
    draw = {}
    if direction in ("horizontal", "both"):
        draw["h"] = _rand((x.shape[0],), like=x, generator=generator) < p
    if direction in ("vertical", "both"):
        draw["v"] = _rand((x.shape[0],), like=x, generator=generator) < p
    return draw


def _apply_flip(t: torch.Tensor, draw: dict[str, torch.Tensor]) -> torch.Tensor:
    """Flip the samples of `t` (B, C, H, W) chosen in `draw`; works for any dtype (masks too)."""
    if "h" in draw:
        t = torch.where(draw["h"][:, None, None, None], t.flip(-1), t)
    if "v" in draw:
        t = torch.where(draw["v"][:, None, None, None], t.flip(-2), t)
    return t


def flip(x: torch.Tensor, *, p: float = 0.5, direction: str = "horizontal", generator=None) -> torch.Tensor:
    """Mirror each image with probability `p`, drawn per sample.

    Args:
        x: images (B, C, H, W), float in [0, 1].
        p: probability that a sample is flipped (default 0.5); p=1 is `torch.flip`.
        direction: "horizontal" (left-right, default), "vertical" (up-down) or "both" (each axis flipped
            independently with probability p).
        generator: optional torch.Generator for reproducible draws.
    """
    check_images(x)
    check_flip(p, direction)
    return _apply_flip(x, _draw_flip(x, p=p, direction=direction, generator=generator))


# --- random crop ----------------------------------------------------------------------------------


def _draw_crop(x: torch.Tensor, *, padding: int, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample crop offsets into the padded image: (oy, ox), each (B,) in [0, 2*padding], oy drawn first."""
    oy = _randint(2 * padding + 1, (x.shape[0],), like=x, generator=generator)
    ox = _randint(2 * padding + 1, (x.shape[0],), like=x, generator=generator)
    return oy, ox


def _reflect(idx: torch.Tensor, n: int) -> torch.Tensor:
    """Map out-of-range indices back into [0, n) like F.pad(mode="reflect") (edge not repeated)."""
    idx = idx.abs()
    return torch.where(idx > n - 1, 2 * (n - 1) - idx, idx)


def _apply_crop(t: torch.Tensor, offsets, *, padding: int, mode: str) -> torch.Tensor:
    """Crop an H×W window at `offsets` out of `t` padded by `padding`, without materialising the pad.

    Pure index arithmetic (one gather for the whole batch), so it works for masks of any dtype and keeps
    values unmixed (nearest). Zero padding fills with 0.
    """
    oy, ox = offsets
    B, C, H, W = t.shape
    if mode == "reflect" and padding > min(H, W) - 1:
        raise UserError(f"crop: reflect padding must be < image size, got padding={padding} for {H}x{W}")
    rows = oy[:, None] + torch.arange(H, device=t.device) - padding  # (B, H) rows in the unpadded image
    cols = ox[:, None] + torch.arange(W, device=t.device) - padding  # (B, W)
    if mode == "reflect":
        rows, cols = _reflect(rows, H), _reflect(cols, W)
        valid = None
    else:
        valid = ((rows >= 0) & (rows < H))[:, :, None] & ((cols >= 0) & (cols < W))[:, None, :]  # (B, H, W)
        rows, cols = rows.clamp(0, H - 1), cols.clamp(0, W - 1)
    b = torch.arange(B, device=t.device)[:, None, None]
    out = t.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    if valid is not None:
        out = torch.where(valid[..., None], out, torch.zeros((), dtype=t.dtype, device=t.device))
    # (B, C, H, W); channels_last in, channels_last out (the gather's own layout: no copy, train.channels_last)
    nhwc = t.dim() == 4 and t.shape[1] > 1 and t.is_contiguous(memory_format=torch.channels_last)
    return out.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last if nhwc else torch.contiguous_format)


def crop(x: torch.Tensor, *, padding: int = 2, mode: str = "zeros", generator=None) -> torch.Tensor:
    """Pad each image by `padding` pixels, then cut a random H×W window from it, drawn per sample.

    Equivalent to `F.pad(x, [padding] * 4, mode)[b, :, oy:oy + H, ox:ox + W]` with offsets oy, ox drawn
    uniformly in [0, 2 * padding] per sample (oy first, then ox, with `torch.randint`).

    Args:
        x: images (B, C, H, W), float in [0, 1].
        padding: pixels added on every side (default 2); 0 is the identity.
        mode: "zeros" (default, black border) or "reflect" (mirror the edge; needs padding < H and W).
        generator: optional torch.Generator for reproducible draws.
    """
    check_images(x)
    check_crop(padding, mode)
    return _apply_crop(x, _draw_crop(x, padding=padding, generator=generator), padding=padding, mode=mode)


# --- photometric ----------------------------------------------------------------------------------


def contrast(x: torch.Tensor, *, low: float = 0.7, high: float = 1.3, generator=None) -> torch.Tensor:
    """Scale each image's deviation from its mean by a factor f ~ U(low, high), drawn per sample.

    out = clamp((x - mean) * f + mean, 0, 1), with `mean` over the image's channels and pixels, so f < 1
    washes the image towards grey and f > 1 sharpens its contrast.

    Args:
        x: images (B, C, H, W), float in [0, 1].
        low: smallest factor (default 0.7).
        high: largest factor (default 1.3); low = high gives a fixed factor.
        generator: optional torch.Generator for reproducible draws.
    """
    check_images(x)
    check_contrast(low, high)
    f = low + (high - low) * _rand((x.shape[0],), like=x, generator=generator)  # (B,)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    return ((x - mean) * f.to(x.dtype)[:, None, None, None] + mean).clamp(0.0, 1.0)


def tint(x: torch.Tensor, *, strength: float = 0.1, generator=None) -> torch.Tensor:
    """Shift each channel of each image by s ~ U(-strength, strength), drawn per sample and channel.

    With 3 channels this tints the colour; with 1 channel it is a brightness shift.
    out = clamp(x + s, 0, 1).

    Args:
        x: images (B, C, H, W), float in [0, 1].
        strength: largest absolute shift (default 0.1), in [0, 1].
        generator: optional torch.Generator for reproducible draws.
    """
    check_images(x)
    check_tint(strength)
    shift = (2.0 * _rand(tuple(x.shape[:2]), like=x, generator=generator) - 1.0) * strength  # (B, C)
    return (x + shift.to(x.dtype)[:, :, None, None]).clamp(0.0, 1.0)


# --- SpecAugment (spectrograms) -------------------------------------------------------------------


def band_mask(x: torch.Tensor, *, axis: int, width: int = 8, count: int = 1, generator=None) -> torch.Tensor:
    """SpecAugment's masking (Park et al. 2019): zero `count` bands of each spectrogram along `axis`.

    Each band's width w ~ U{0..width} and start ~ U{0..n - w} are drawn per sample (all samples at once);
    masked values become 0, the mean of a per-file normalized spectrogram. Frequency masks take axis -2
    (mel bands), time masks axis -1 (frames). A clip padded with silence has all-zero frames after its end
    (data/audio.py); time masks are drawn within its real frames, so none is wasted on padding.

    Args:
        x: spectrograms (B, C, mels, frames), float.
        axis: -2 (frequency) or -1 (time).
        width: the widest band, in bands or frames (default 8).
        count: bands masked per sample (default 1).
        generator: optional torch.Generator for reproducible draws.
    """
    check_images(x)
    check_mask(width, count)
    n = x.shape[axis]
    pos = torch.arange(n, device=x.device)  # (n,)
    keep = torch.ones(x.shape[0], n, dtype=torch.bool, device=x.device)
    real = torch.full((x.shape[0],), n, device=x.device) if axis in (-2, 2) else _real_frames(x)  # (B,)
    for _ in range(count):  # a few bands, each drawn for the whole batch at once
        w = (_rand((x.shape[0],), like=x, generator=generator) * (torch.clamp(real, max=width) + 1)).long()  # (B,)
        start = (_rand((x.shape[0],), like=x, generator=generator) * (real - w + 1)).long()  # (B,)
        keep &= ~((pos >= start[:, None]) & (pos < (start + w)[:, None]))  # (B, n)
    shape = (x.shape[0], 1, n, 1) if axis in (-2, 2) else (x.shape[0], 1, 1, n)
    return x * keep.view(shape).to(x.dtype)


def _real_frames(x: torch.Tensor) -> torch.Tensor:
    """(B, C, mels, frames) -> (B,) frames up to the last one with a nonzero value (at least 1)."""
    steps = torch.arange(1, x.shape[-1] + 1, device=x.device)
    return ((x != 0).flatten(1, 2).any(dim=1) * steps).amax(dim=1).clamp(min=1)


def _run_freq_mask(x, mask, generator, *, width, count):
    return band_mask(x, axis=-2, width=width, count=count, generator=generator), mask


def _run_time_mask(x, mask, generator, *, width, count):
    return band_mask(x, axis=-1, width=width, count=count, generator=generator), mask


# --- pipeline -------------------------------------------------------------------------------------


def _run_flip(x, mask, generator, *, p, direction):
    draw = _draw_flip(x, p=p, direction=direction, generator=generator)
    return _apply_flip(x, draw), None if mask is None else _apply_flip(mask, draw)


def _run_crop(x, mask, generator, *, padding, mode):
    offsets = _draw_crop(x, padding=padding, generator=generator)
    out = _apply_crop(x, offsets, padding=padding, mode=mode)
    return out, None if mask is None else _apply_crop(mask, offsets, padding=padding, mode=mode)


def _run_contrast(x, mask, generator, *, low, high):
    return contrast(x, low=low, high=high, generator=generator), mask  # photometric: mask unchanged


def _run_tint(x, mask, generator, *, strength):
    return tint(x, strength=strength, generator=generator), mask


# Each augmentation's batched implementation; its parameters, defaults and checks: data/augment_spec.py.
_RUN: dict[str, Callable[..., tuple]] = {  # (x, mask, generator, **params) -> (x, mask)
    "flip": _run_flip, "crop": _run_crop, "contrast": _run_contrast, "tint": _run_tint,
    "freq_mask": _run_freq_mask, "time_mask": _run_time_mask,
}
assert set(_RUN) == set(AUGMENTATIONS)


def _mask_4d(mask: Any, x: torch.Tensor) -> torch.Tensor:
    """Check a mask against images `x` (B, C, H, W) and view it as (B, 1, H, W)."""
    shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else None
    if (
        shape is None
        or len(shape) not in (3, 4)
        or (len(shape) == 4 and shape[1] != 1)
        or (shape[0] != x.shape[0] or shape[-2:] != tuple(x.shape[-2:]))
    ):
        got = shape if shape is not None else type(mask).__name__
        raise UserError(
            f"augment: mask must be (B, H, W) or (B, 1, H, W) matching {tuple(x.shape)}, got {got}"
        )
    return mask[:, None] if mask.ndim == 3 else mask


class Augment:
    """A pipeline of augmentations, built from config and validated up front.

    Args:
        specs: list of names ("flip") or dicts ({"name": "crop", "padding": 1}); applied in order.
        generator: optional torch.Generator shared by every step (default: torch's global RNG).

    Example:
        >>> aug = Augment(["flip", {"name": "crop", "padding": 1}])
        >>> x, m = aug(torch.rand(4, 3, 8, 8), mask=torch.zeros(4, 8, 8, dtype=torch.long))
    """

    def __init__(self, specs: list, *, generator: torch.Generator | None = None):
        self.specs = specs
        self.generator = generator
        self._steps = check_specs(specs)

    def __call__(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        """Augment `x` (B, C, H, W); with `mask` (B, H, W) or (B, 1, H, W) return (x, mask).

        Geometric steps (flip, crop) move the mask with the same draw (nearest, values never mixed);
        photometric steps (contrast, tint) leave it alone.
        """
        check_images(x)
        m = None if mask is None else _mask_4d(mask, x)  # (B, 1, H, W)
        for step in self._steps:
            params = {k: v for k, v in step.items() if k != "name"}
            x, m = _RUN[step["name"]](x, m, self.generator, **params)
        if mask is None:
            return x
        return x, (m[:, 0] if mask.ndim == 3 else m)

    def get_config(self) -> list[dict[str, Any]]:
        """The normalised steps: one dict per step with its name and every parameter filled in."""
        return [dict(step) for step in self._steps]

    def __repr__(self) -> str:
        return f"Augment({self.get_config()!r})"
