"""Image metrics: PSNR and SSIM against scikit-image, sharpness against blur and noise, sums vs batching."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import metrics  # the reference; a dev dependency (requirements-dev.txt), never a runtime one

from idealfit.tasks.image_metrics import (
    MAX_PSNR,
    finish_image_metrics,
    high_frequency_energy,
    image_sums,
    l1,
    psnr,
    psnr_sums,
    sharpness_ratio,
    ssim,
)


def _structured(b: int, c: int, h: int, w: int, *, seed: int) -> torch.Tensor:
    """Smooth gradients, a bright square and a stripe pattern per image: edges and flat regions."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    out = torch.empty(b, c, h, w)
    for i in range(b):
        for ch in range(c):
            a, f = torch.rand(2, generator=g)
            img = 0.5 * a * xx + 0.3 * yy + 0.1 * torch.sin(2 * math.pi * (2 + 6 * f) * xx)
            t, lft = (int(v) for v in torch.randint(0, h // 2, (2,), generator=g))
            img[t:t + h // 3, lft:lft + w // 3] += 0.4
            out[i, ch] = img.clamp(0, 1)
    return out


def _pairs():
    g = torch.Generator().manual_seed(0)
    rnd = torch.rand(3, 3, 16, 20, generator=g, dtype=torch.float64)
    yield "random", rnd, (rnd + 0.1 * torch.randn(rnd.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    yield "unrelated", rnd, torch.rand(3, 3, 16, 20, generator=g, dtype=torch.float64)
    s = _structured(2, 1, 32, 24, seed=1).double()
    yield "structured_noise", s, (s + 0.05 * torch.randn(s.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    yield "structured_shift", s, torch.roll(s, shifts=1, dims=-1)
    s3 = _structured(2, 3, 40, 40, seed=2).double()
    yield "structured_rgb_blur", s3, _blur(s3, 1.0)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = torch.arange(-3, 4, dtype=x.dtype)
    g = torch.exp(-(r**2) / (2 * sigma**2))
    k = (g[:, None] * g[None, :]) / g.sum() ** 2
    c = x.shape[1]
    return F.conv2d(F.pad(x, (3, 3, 3, 3), mode="reflect"), k.expand(c, 1, 7, 7), groups=c)


@pytest.mark.parametrize(("name", "pred", "target"), list(_pairs()), ids=[p[0] for p in _pairs()])
def test_psnr_matches_scikit_image(name, pred, target):
    ref = [metrics.peak_signal_noise_ratio(t.numpy(), p.numpy(), data_range=1.0) for p, t in zip(pred, target, strict=True)]
    np.testing.assert_allclose(psnr(pred, target).numpy(), ref, rtol=1e-10)
    np.testing.assert_allclose(psnr(pred.float(), target.float()).numpy(), ref, rtol=1e-5)


@pytest.mark.parametrize(("name", "pred", "target"), list(_pairs()), ids=[p[0] for p in _pairs()])
def test_ssim_matches_scikit_image(name, pred, target):
    ref = [metrics.structural_similarity(t.numpy(), p.numpy(), channel_axis=0, data_range=1.0,
                                         gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
           for p, t in zip(pred, target, strict=True)]
    np.testing.assert_allclose(ssim(pred, target).numpy(), ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ssim(pred.float(), target.float()).numpy(), ref, atol=2e-5)


def test_ssim_of_identical_images_is_one_and_symmetric():
    x = _structured(2, 3, 24, 24, seed=3)
    y = _blur(x, 1.5)
    torch.testing.assert_close(ssim(x, x), torch.ones(2))
    torch.testing.assert_close(ssim(x, y), ssim(y, x))
    assert (ssim(x, y) < 1).all()


def test_ssim_refuses_images_smaller_than_its_window():
    with pytest.raises(ValueError, match="11×11"):
        ssim(torch.rand(1, 1, 10, 30), torch.rand(1, 1, 10, 30))


def test_data_range_option():
    # the same images scaled to [0, 255]: PSNR and SSIM unchanged when data_range says so
    x, y = _structured(2, 1, 16, 16, seed=4), _structured(2, 1, 16, 16, seed=5)
    torch.testing.assert_close(psnr(255 * x, 255 * y, data_range=255.0), psnr(x, y), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ssim(255 * x, 255 * y, data_range=255.0), ssim(x, y), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(ssim(255 * x, 255 * y), ssim(x, y), atol=1e-3)


def test_psnr_by_hand_and_capped_for_identical_images():
    pred, target = torch.zeros(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)
    pred[0] = 0.1  # MSE 0.01 -> 20 dB; image 1 is identical -> the cap
    torch.testing.assert_close(psnr(pred, target), torch.tensor([20.0, MAX_PSNR]))


def test_l1_by_hand():
    pred = torch.tensor([[[[0.0, 0.5], [1.0, 0.25]]], [[[1.0, 1.0], [1.0, 1.0]]]])
    target = torch.tensor([[[[0.5, 0.5], [0.0, 0.25]]], [[[0.0, 1.0], [1.0, 1.0]]]])
    torch.testing.assert_close(l1(pred, target), torch.tensor([1.5 / 4, 1 / 4]))


def test_high_frequency_energy_by_hand():
    x = torch.zeros(2, 1, 3, 3)
    x[0, 0, 1, 1] = 1.0  # one bright pixel: Laplacian at the centre −4, the only valid position
    x[1] = torch.linspace(0, 1, 3)  # a linear ramp: no curvature, energy 0
    torch.testing.assert_close(high_frequency_energy(x), torch.tensor([16.0, 0.0]))


def test_sharpness_ratio_identical_blurred_and_noisy():
    x = _structured(4, 3, 32, 32, seed=6)
    assert sharpness_ratio(x, x).item() == pytest.approx(1.0)
    blurred = sharpness_ratio(_blur(x, 1.0), x).item()
    assert blurred < 0.5  # a σ = 1 blur removes most energy at the Laplacian's frequencies
    assert sharpness_ratio(_blur(x, 2.0), x).item() < blurred  # more blur, less sharp
    noisy = (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert sharpness_ratio(noisy, x).item() > 1.0


def test_sharpness_ratio_of_flat_targets_is_nan():
    assert math.isnan(sharpness_ratio(torch.rand(1, 1, 8, 8), torch.full((1, 1, 8, 8), 0.5)).item())


def test_sums_finish_to_per_image_means_whatever_the_batching():
    g = torch.Generator().manual_seed(7)
    x = _structured(6, 3, 16, 16, seed=7)
    y = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)

    def epoch(batch: int) -> dict[str, float]:
        total: dict[str, float] = {}
        for i in range(0, len(x), batch):
            for k, v in image_sums(y[i:i + batch], x[i:i + batch]).items():
                total[k] = total.get(k, 0.0) + float(v)
        return finish_image_metrics(total)

    whole, batched = epoch(6), epoch(4)  # batches of 4 and 2
    for k in whole:
        assert batched[k] == pytest.approx(whole[k], rel=1e-6)
    assert whole["l1"] == pytest.approx(l1(y, x).mean().item(), rel=1e-6)
    assert whole["psnr"] == pytest.approx(psnr(y, x).mean().item(), rel=1e-6)
    assert whole["ssim"] == pytest.approx(ssim(y, x).mean().item(), rel=1e-6)
    assert whole["sharpness_ratio"] == pytest.approx(sharpness_ratio(y, x).item(), rel=1e-6)
    assert whole["sharpness_ratio"] > 1  # the noise


def test_psnr_sums_is_a_sum_over_images():
    x, y = _structured(3, 1, 12, 12, seed=8), _structured(3, 1, 12, 12, seed=9)
    s = psnr_sums(y, x)
    assert s["psnr"].dtype == torch.float64
    assert s["psnr"].item() == pytest.approx(psnr(y, x).sum().item(), rel=1e-6)


def test_sums_do_not_keep_the_graph():
    x = torch.rand(2, 1, 12, 12, requires_grad=True)
    assert not any(isinstance(v, torch.Tensor) and v.requires_grad for v in image_sums(x, x.detach()).values())


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="one shape"):
        psnr(torch.rand(1, 3, 16, 16), torch.rand(1, 1, 16, 16))
