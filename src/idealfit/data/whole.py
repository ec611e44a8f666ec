"""Whole images at a run's scale, for the fully convolutional runs' predict (segmentation, translation).

Training made every image S x S by the run's resize rule; `open_image` does the same for predict, which
drops the sides of a wide image under crop (a 303x384 photo became its centre square) and returns an
S x S answer whatever the input's size. A U-Net takes any H x W (it pads to its pooling multiple and
crops back), so predict keeps the whole image instead, at the scale the rule gives it:

    crop    the shorter side becomes S (as in training), the longer one follows: nothing is cut off
    pad     the longer side becomes S (as in training), without the padding
    squash  S x S (training squashed every image: the same distortion)

and the network's answer is resized back to the input's own size (nearest-neighbour for class masks,
whose values must never be blended; bilinear for generated images).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from idealfit.data.images import OLD_RUN_RESIZE, image_array, upright


def predicts_whole(state: dict[str, Any]) -> bool:
    """Whether a run's model takes whole images of any size: an image run whose preprocessing keeps the
    pixels as they are (no pooling, no PCA: both fix the input's shape)."""
    array = state.get("array") or {}
    return state["kind"] in ("image", "image_pair") and array.get("pca") is None and \
        (array.get("options") or {}).get("downsample", 1) == 1


def scaled_size(width: int, height: int, *, size: int, resize: str) -> tuple[int, int]:
    """(width, height) of a whole `width` x `height` image at the scale the `resize` rule gives it (module
    docstring), each side at least 1."""
    if resize == "squash":
        return size, size
    side = min(width, height) if resize == "crop" else max(width, height)
    scale = size / side
    return max(1, round(width * scale)), max(1, round(height * scale))


def read_whole(state: dict[str, Any], path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """(the model's input (1, C, h, w): the whole image at the run's scale, the image's own (width, height)).

    The same decoding and pixel range as `inputs.read_images`; only the geometry differs.
    """
    from PIL import Image

    from idealfit.data.prepare import raw_input_shape

    meta = state["meta"]
    channels, *spatial = raw_input_shape(state)
    size = meta.get("image_size", spatial[0])
    im = upright(Path(path), channels=channels, folder=False)
    w, h = scaled_size(*im.size, size=size, resize=meta.get("resize", OLD_RUN_RESIZE))
    x = image_array(im.resize((w, h), Image.Resampling.BILINEAR), channels)[None]  # bilinear, as to_square
    lo, hi = meta.get("pixel_range", (0.0, 1.0))
    return (x * (hi - lo) + lo).astype(np.float32), im.size


def read_original(state: dict[str, Any], path: Path) -> np.ndarray:
    """The image at its own size, (C, H, W) in [0, 1], in the run's channels (for overlays)."""
    from idealfit.data.prepare import raw_input_shape

    channels = raw_input_shape(state)[0]
    return image_array(upright(Path(path), channels=channels, folder=False), channels)


def run_scale(state: dict[str, Any]) -> tuple[int, str]:
    """(S, the resize rule) a run's training images were made S x S with, as its meta records them."""
    meta = state["meta"]
    return meta.get("image_size", state["input_shape"][-1]), meta.get("resize", OLD_RUN_RESIZE)


def scale_note(state: dict[str, Any]) -> str:
    """How `read_whole` scaled the inputs, in words for predict's summary line."""
    size, resize = run_scale(state)
    rule = {"crop": f"its shorter side resized to {size} px", "pad": f"its longer side resized to {size} px",
            "squash": f"squashed to {size}×{size} px"}[resize]
    return f"each image predicted whole at the run's scale ({rule}, as data.resize={resize} did in training)"


def to_size(out: np.ndarray, width: int, height: int, *, nearest: bool) -> np.ndarray:
    """A network's answer back at the input's size: a mask (h, w) of class ids (nearest) or an image
    (C, h, w) in [0, 1] (bilinear, each channel)."""
    from PIL import Image

    if out.shape[-2:] == (height, width):
        return out
    if nearest:  # each output pixel takes the class of the network's pixel its centre falls in
        rows = np.minimum((np.arange(height) + 0.5) * out.shape[0] / height, out.shape[0] - 1).astype(int)
        cols = np.minimum((np.arange(width) + 0.5) * out.shape[1] / width, out.shape[1] - 1).astype(int)
        return out[rows[:, None], cols[None, :]]
    return np.stack([np.asarray(Image.fromarray(c.astype(np.float32)).resize((width, height),
                                                                              Image.Resampling.BILINEAR))
                     for c in out]).astype(np.float32)


def other_sizes_note(state: dict[str, Any], task: str, *, least_side: int = 1) -> str:
    """For the ONNX spec (export.py): the graph takes any H x W (at least `least_side`); how predict handles an
    image file of another size, worded so that a caller can reproduce the scaling and the resize back."""
    s, resize = run_scale(state)
    rule = {"crop": f"the shorter side becomes {s}: with m = min(W, H), w = round(W * ({s} / m)) and "
                    f"h = round(H * ({s} / m))",
            "pad": f"the longer side becomes {s}: with m = max(W, H), w = round(W * ({s} / m)) and "
                   f"h = round(H * ({s} / m)), without the padding",
            "squash": f"squashed to w = h = {s}, as in training"}[resize]
    back = ("with nearest-neighbour (output row r takes the network's row min(floor((r + 0.5) * h / H), h - 1), "
            "columns likewise), so the mask holds class ids only" if task == "segmentation" else
            "bilinearly (Pillow BILINEAR, each channel as a float32 image)")
    return (f"the graph takes any height and width of at least {least_side} (x is (batch, C, height, width); "
            f"training used {s}×{s}). `idealfit predict` and Run.predict handle an image file of W×H by scaling "
            f"the whole image, nothing cut off, by the run's data.resize={resize} rule: {rule} (Pillow BILINEAR "
            "resize, then the pixel steps of 'preprocessing'); the network runs on that w×h image, as this graph "
            f"does, and its answer is resized back to W×H {back}. Feed the graph the scaled image to get what "
            "predict gets.")
