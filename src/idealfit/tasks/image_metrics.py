"""How close generated images are to their targets, and how sharp: L1, PSNR, SSIM and a sharpness ratio.

Pure torch functions on batches of images (B, C, H, W) with values in [0, 1] (map a tanh generator's
[−1, 1] output with (x + 1) / 2 first; nothing here clips). The per-image functions return (B,);
`image_sums` turns a batch into summable statistics, as every task's `stats` does, and
`finish_image_metrics` turns an epoch's sums into values once, so an epoch's numbers do not depend on
how its images were batched.

- L1: mean |pred − target| per image, the generator's own reconstruction loss.
- PSNR: 10·log10(data_range² / MSE) per image in dB, averaged over images.
- SSIM (Wang et al. 2004): local means, variances and covariance under an 11×11 Gaussian window
  (σ = 1.5), SSIM = (2·μx·μy + C1)(2·σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)), C1 = (0.01·R)²,
  C2 = (0.03·R)², averaged over the window positions that lie inside the image and over channels.
  This is scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=1)`, the setting that reproduces the paper.
- sharpness_ratio: Σ high-frequency energy of the generated images / Σ that of the targets, the energy
  of an image being the mean squared response of the 3×3 Laplacian. 1 = as sharp as the real images;
  an L1-trained generator averages the plausible outputs and blurs (below 1); noise raises it above 1.

Example:
    >>> x = torch.rand(4, 3, 32, 32)
    >>> s = image_sums(x, x)
    >>> {k: round(v, 3) for k, v in finish_image_metrics({k: float(v) for k, v in s.items()}).items()}
    {'l1': 0.0, 'psnr': 100.0, 'ssim': 1.0, 'sharpness_ratio': 1.0}
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

SSIM_SIGMA, SSIM_RADIUS = 1.5, 5  # an 11×11 window: scikit-image's truncate=3.5 gives radius int(3.5·1.5 + 0.5)
SSIM_K1, SSIM_K2 = 0.01, 0.03
MAX_PSNR = 100.0  # dB for identical images (MSE 0): an inf would turn every later sum into inf
LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.dim() != 4 or pred.shape != target.shape:
        raise ValueError(f"expected two image batches (B, C, H, W) of one shape, got {tuple(pred.shape)} "
                         f"and {tuple(target.shape)}")


def _depthwise(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Each channel convolved with the same 2-D kernel, no padding: (B, C, H, W) -> (B, C, H−k+1, W−k+1)."""
    c = x.shape[1]
    weight = kernel.to(x.dtype).expand(c, 1, *kernel.shape)  # (C, 1, k, k)
    return F.conv2d(x, weight, groups=c)


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image: (B, C, H, W) twice -> (B,)."""
    _check(pred, target)
    return (pred - target).abs().flatten(1).mean(1)


def psnr(pred: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB: (B, C, H, W) twice -> (B,), capped at MAX_PSNR.

    Args:
        data_range: the peak value minus the lowest one (default 1.0 for images in [0, 1]).
    """
    _check(pred, target)
    mse = (pred - target).square().flatten(1).mean(1)
    floor = data_range**2 * 10 ** (-MAX_PSNR / 10)  # the MSE at which PSNR reaches MAX_PSNR
    return 10 * torch.log10(data_range**2 / mse.clamp_min(floor))


def _gaussian_window(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    r = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=dtype, device=device)
    g = torch.exp(-(r**2) / (2 * SSIM_SIGMA**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]  # (11, 11), sums to 1


def ssim(pred: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity per image, averaged over channels: (B, C, H, W) twice -> (B,), in [−1, 1].

    Only the window positions that lie wholly inside the image count (scikit-image crops the same
    5-pixel border), so H and W must be at least 11.

    Args:
        data_range: the peak value minus the lowest one (default 1.0 for images in [0, 1]).
    """
    _check(pred, target)
    side = 2 * SSIM_RADIUS + 1
    if min(pred.shape[-2:]) < side:
        raise ValueError(f"ssim needs images of at least {side}×{side} pixels, got {tuple(pred.shape[-2:])}")
    w = _gaussian_window(pred.dtype, pred.device)
    mx, my = _depthwise(pred, w), _depthwise(target, w)  # (B, C, H−10, W−10) local means
    vx = _depthwise(pred * pred, w) - mx * mx  # local variances and covariance (population: weights sum to 1)
    vy = _depthwise(target * target, w) - my * my
    cxy = _depthwise(pred * target, w) - mx * my
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    s = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.flatten(1).mean(1)  # mean over positions and channels (equal-sized channels)


def high_frequency_energy(x: torch.Tensor) -> torch.Tensor:
    """Mean squared response of the 3×3 Laplacian per image (no padding): (B, C, H, W) -> (B,).

    The Laplacian is 0 on flat and linear regions and large on edges, texture and noise; blurring
    lowers it.
    """
    if x.dim() != 4 or min(x.shape[-2:]) < 3:
        raise ValueError(f"expected images (B, C, H, W) of at least 3×3 pixels, got {tuple(x.shape)}")
    k = torch.tensor(LAPLACIAN, dtype=x.dtype, device=x.device)
    return _depthwise(x, k).square().flatten(1).mean(1)


def sharpness_ratio(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Σ high_frequency_energy(pred) / Σ high_frequency_energy(target) over the batch (a 0-dim tensor;
    nan when the targets are all flat)."""
    _check(pred, target)
    num, den = high_frequency_energy(pred).sum(), high_frequency_energy(target).sum()
    return torch.where(den > 0, num / den, torch.full_like(num, float("nan")))  # no device sync


def psnr_sums(pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """{"psnr": Σ per-image PSNR} of one batch; `finish_image_metrics` divides by n."""
    return {"psnr": psnr(pred, target).detach().sum().double()}


def image_sums(pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor | float]:
    """Summable statistics of one batch (0-dim float64 tensors, no device sync), "n" included.

    Keys: "n" (images), "l1", "psnr", "ssim" (sums of the per-image values), "hf_pred", "hf_target"
    (sums of the high-frequency energies, whose ratio is the sharpness).
    """
    pred, target = pred.detach(), target.detach()
    return {"n": float(len(pred)), "l1": l1(pred, target).sum().double(), **psnr_sums(pred, target),
            "ssim": ssim(pred, target).sum().double(),
            "hf_pred": high_frequency_energy(pred).sum().double(),
            "hf_target": high_frequency_energy(target).sum().double()}


def finish_image_metrics(sums: Mapping[str, float]) -> dict[str, float]:
    """Summed statistics of an epoch or a split (the keys of `image_sums`, as numbers) -> the metrics:
    means of l1, psnr (dB) and ssim over the images, and sharpness_ratio = Σ hf_pred / Σ hf_target."""
    n = sums["n"]
    out = {k: float(sums[k]) / n if n else float("nan") for k in ("l1", "psnr", "ssim")}
    hf_target = float(sums["hf_target"])
    out["sharpness_ratio"] = float(sums["hf_pred"]) / hf_target if hf_target > 0 else float("nan")
    return out
