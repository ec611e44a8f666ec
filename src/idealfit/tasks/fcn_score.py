"""The pix2pix paper's "FCN-score": how recognisable generated images are to a segmenter of real ones.

A segmentation network (the `unet` family's U-Net) is trained on the *real* target images of the
training split and their class maps; it is then applied to generated images, and its per-pixel
accuracy and mean IoU against the class maps behind the inputs are the scores. The same scores on
the real images are the upper bound (`baselines.real`): a generator can at best be as recognisable
as reality. Isola et al. (2017) report on Cityscapes labels→photo, per-pixel accuracy / IoU:
L1 0.42 / 0.11, L1+cGAN 0.66 / 0.17, real 0.80 / 0.21.

The segmenter depends only on the training split's real images, class maps and the seed, so it is
trained once and cached on disk (IDEALFIT_CACHE, as the embedded datasets), keyed by a hash of those:
the two variants of `idealfit study gan`, and every rerun, share it.

Example:
    >>> net = segmenter(images, masks, num_classes=4, seed=0)      # doctest: +SKIP
    >>> fcn_scores(net, generated, masks_of_inputs)                 # doctest: +SKIP
    {'fcn_pixel_accuracy': 0.93, 'fcn_miou': 0.71}
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from idealfit.tasks.segmentation import Segmentation

VERSION = 1  # bump when the segmenter's recipe below changes: older cached ones are then not used
# The recipe: the unet family's defaults (benchmarks/segmentation.py: widths [8, 16, 32], one-cycle at
# lr 1e-2) with cross-entropy, for a fixed number of steps whatever the data's size (a small dataset gets
# more epochs): 360 steps, 8 epochs of labels2shapes' 1400 training pairs, reach mean IoU ~0.8 on real
# test renderings; 8 epochs of 224 pairs (56 steps) left the segmenter at 0.13.
WIDTHS, STEPS, BATCH, LR = (8, 16, 32), 360, 32, 1e-2
EVAL_BATCH = 256


def _key(images: np.ndarray, masks: np.ndarray, num_classes: int, seed: int, steps: int) -> str:
    h = hashlib.sha256()
    for a in (images, masks):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    h.update(f"{num_classes}-{seed}-{VERSION}-{WIDTHS}-{steps}-{BATCH}-{LR}".encode())
    return h.hexdigest()[:20]


def _build(channels: int, num_classes: int) -> torch.nn.Module:
    from idealfit.models.unet import UNet

    return UNet(channels, num_classes, widths=WIDTHS)


def segmenter(images: np.ndarray, masks: np.ndarray, *, num_classes: int, seed: int = 0, steps: int = STEPS,
              cache: Path | None = None) -> torch.nn.Module:
    """The FCN-score's segmenter of real images, trained (or read from the cache), in eval mode.

    Args:
        images: (N, C, H, W) float32 real target images in [0, 1] (the training split's).
        masks: (N, H, W) integer class ids 0..num_classes-1 of those images.
        num_classes: the classes of the masks.
        seed: seeds the initialization and the batch order.
        steps: training steps, at least (default STEPS; whole epochs are run).
        cache: folder of cached segmenters (default: IDEALFIT_CACHE or ~/.cache/idealfit).
    """
    from safetensors.torch import load_file, save

    from idealfit.data.embedded import _cache_dir
    from idealfit.run_files import atomic_write

    path = Path(cache or _cache_dir()) / f"fcn-score-{_key(images, masks, num_classes, seed, steps)}.safetensors"
    torch.manual_seed(seed)
    net = _build(images.shape[1], num_classes)
    if path.is_file():
        net.load_state_dict(load_file(path))
        return net.eval()
    _fit(net, torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)),
         torch.from_numpy(np.ascontiguousarray(masks, dtype=np.int64)), seed=seed, steps=steps)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, save({k: v.contiguous() for k, v in net.state_dict().items()}))
    return net.eval()


def _fit(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, seed: int, steps: int) -> None:
    """Train with the shared step (cross-entropy, Adam, one-cycle); no validation, checkpoints or report:
    the scorer is a fixed instrument, not a run of its own."""
    from idealfit.train.step import SupervisedStep

    per_epoch = -(-len(x) // BATCH)
    epochs = -(-steps // per_epoch)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=epochs * per_epoch)
    step = SupervisedStep(net, {"main": opt}, {"main": sched}, task=Segmentation("ce"))
    order = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=order)
        for i in range(0, len(x), BATCH):
            idx = perm[i : i + BATCH]
            step.train((x[idx], y[idx]))
    net.eval()


@torch.no_grad()
def fcn_scores(net: torch.nn.Module, images: np.ndarray, masks: np.ndarray) -> dict[str, float]:
    """{"fcn_pixel_accuracy", "fcn_miou"} of `net`'s segmentation of images (N, C, H, W) in [0, 1]
    against masks (N, H, W); mean IoU over the foreground classes that occur, as segmentation's miou."""
    from idealfit.train.meter import Meter

    net.eval()
    seg, meter = Segmentation("ce"), Meter()
    for i in range(0, len(images), EVAL_BATCH):
        xb = torch.from_numpy(np.ascontiguousarray(images[i : i + EVAL_BATCH], dtype=np.float32))
        yb = torch.from_numpy(np.ascontiguousarray(masks[i : i + EVAL_BATCH], dtype=np.int64))
        out = net(xb)
        meter.add(seg.stats(out, yb, torch.zeros(())))  # the class counts; the loss is not needed
    m = seg.finish(meter.sums(), None)
    return {"fcn_pixel_accuracy": m["pixel_accuracy"], "fcn_miou": m["miou"]}
