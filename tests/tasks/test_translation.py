"""Image-to-image translation: the task's metrics by hand, and the pix2pix step's two updates."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from idealfit.tasks import get_task
from idealfit.train.meter import Meter


def _finish(task, out, y, splits=1):
    meter = Meter()
    for o, t in zip(out.chunk(splits), y.chunk(splits), strict=True):
        meter.add(task.stats(o, t, task.loss(o, t)))
    return task.finish(meter.sums(), None)


def test_translation_metrics_by_hand_and_independent_of_batching():
    task = get_task("translation")
    g = torch.Generator().manual_seed(0)
    y = torch.rand(4, 3, 16, 16, generator=g)
    out = (y + 0.1 * torch.randn(4, 3, 16, 16, generator=g)).clamp(0, 1)
    m = _finish(task, out, y)
    assert m["l1"] == pytest.approx(float((out - y).abs().mean()), rel=1e-6)
    mse = ((out - y) ** 2).flatten(1).mean(1)
    assert m["psnr"] == pytest.approx(float((10 * torch.log10(1 / mse)).mean()), rel=1e-6)
    assert m == pytest.approx(_finish(task, out, y, splits=2), rel=1e-6)
    same = _finish(task, y, y)
    assert same["l1"] == 0 and same["ssim"] == pytest.approx(1.0) and same["sharpness_ratio"] == pytest.approx(1.0)
    blur = F.avg_pool2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    assert _finish(task, blur, y)["sharpness_ratio"] < 0.8  # a blurred copy is less sharp than the real thing
    assert math.isinf(same["psnr"]) or same["psnr"] > 90


def test_the_pix2pix_step_updates_each_network_with_its_own_optimizer():
    from idealfit.models.pix2pix import Pix2Pix
    from idealfit.train.gan_step import Pix2PixStep

    torch.manual_seed(0)
    core = Pix2Pix(3, 3, widths=(4, 8), d_width=8, d_layers=2)
    model = nn.Sequential(core)
    opts = {"discriminator": torch.optim.Adam(core.discriminator.parameters(), lr=1e-2),
            "generator": torch.optim.Adam(core.generator.parameters(), lr=1e-2)}
    step = Pix2PixStep(model, opts, {}, task=get_task("translation"), l1_weight=100.0)
    a, b = torch.rand(4, 3, 16, 16), torch.rand(4, 3, 16, 16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    stats = step.train((a, b))
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert any(k.startswith("0.generator") for k in changed) and any(k.startswith("0.discriminator") for k in changed)
    assert {"g_adv", "d_loss", "l1", "ssim"} <= set(stats)
    assert np.isfinite(float(stats["d_loss"])) and float(stats["d_loss"]) > 0


def test_paired_flips_and_crops_move_input_and_target_together():
    from idealfit.data.augment import Augment
    from idealfit.train.setup import PairAugment

    g = torch.Generator().manual_seed(0)
    a = torch.rand(8, 3, 16, 16, generator=g)
    b = a[:, :1].clone()  # the target is the input's first channel: any misalignment shows
    aug = PairAugment(Augment([{"name": "flip", "p": 0.5}, {"name": "crop", "padding": 3}],
                              generator=torch.Generator().manual_seed(1)))
    a2, b2 = aug(a, mask=b)
    assert a2.shape == a.shape and b2.shape == b.shape and not torch.equal(a2, a)
    assert torch.equal(a2[:, :1], b2)


def test_photometric_augmentation_of_pairs_is_refused_before_any_work(tmp_path, cli_error):
    rng = np.random.default_rng(0)
    x = rng.random((32, 3, 32, 32)).astype(np.float32)
    np.savez(tmp_path / "pairs.npz", x=x, y=1 - x)
    cli_error(["train", "--data", str(tmp_path / "pairs.npz"), "--set", "data.augment=[flip,tint]",
               "--out", str(tmp_path / "run")], "flip, crop only", "drop tint")
    assert not (tmp_path / "run").exists()


def test_a_pix2pix_run_with_paired_augmentation_trains_and_resumes(tmp_path):
    import idealfit as fit

    rng = np.random.default_rng(0)
    x = rng.random((32, 3, 32, 32)).astype(np.float32)
    run = fit.train(data=(x, 1 - x), epochs=1, out=tmp_path / "run", verbose=False,
                    set={"train.batch_size": 8, "train.progress": False, "model.widths": [4, 8],
                         "data.augment": ["flip", {"name": "crop", "padding": 2}]})
    assert run.summary["model"] == "pix2pix" and {"train_g_adv", "train_d_loss"} <= set(run.history[-1])
    from PIL import Image

    grid = Image.open(run.dir / "progress.png")  # 4 validation rows of 32 px: input | after epoch 1 | target, ×2
    assert grid.size == ((3 * 32 + 2 * 4) * 2, 4 * (32 + 4) * 2)
    page = (run.dir / "report.html").read_text()
    assert "generated after epochs 1, real targets" in page
    assert "Generator and discriminator" in page and "no under/overfitting U-shape" in page  # how to read them
    again = fit.train(resume=run.dir, epochs=2, verbose=False)
    assert again.summary["epochs_run"] == 2


def test_a_discriminator_that_wins_outright_is_reported():
    task = get_task("translation")
    balanced = [{"train_d_loss": v} for v in (0.7, 0.6, 0.65, 0.62, 0.6, 0.61)]
    won = [{"train_d_loss": v} for v in (0.7, 0.3, 0.04, 0.02, 0.01, 0.01, 0.01, 0.3)]
    assert task.history_facts(balanced)["gan"]["discriminator_won"] is False
    facts = task.history_facts(won)["gan"]
    assert facts["discriminator_won"] and facts["longest_d_won_epochs"] == 5 and "won outright" in facts["note"]
    assert task.history_facts([{"train_loss": 1.0}]) == {}  # the L1-only generator has no discriminator


def test_a_two_optimizer_pix2pix_run_resumed_ends_bit_identical_to_an_uninterrupted_one(tmp_path):
    """Both networks, both Adam states, the batch order and the paired augmentation's draws are restored."""
    from safetensors.torch import load_file

    import idealfit as fit

    rng = np.random.default_rng(1)
    x = rng.random((40, 3, 32, 32)).astype(np.float32)
    keys = {"train.batch_size": 8, "train.progress": False, "model.widths": [4, 8], "model.d_width": 8,
            "train.lr": 2e-3, "data.augment": ["flip", {"name": "crop", "padding": 2}], "train.threads": 1}
    whole = fit.train(data=(x, 1 - x), epochs=3, out=tmp_path / "whole", verbose=False, set=keys)
    part = fit.train(data=(x, 1 - x), epochs=1, out=tmp_path / "part", verbose=False, set=keys)
    again = fit.train(resume=part.dir, epochs=3, verbose=False)
    assert again.summary["epochs_run"] == 3 and whole.summary["gan"]["final_d_loss"] > 0
    a, b = load_file(str(whole.dir / "model.safetensors")), load_file(str(again.dir / "model.safetensors"))
    assert a.keys() == b.keys() and any(k.startswith("1.discriminator") or "discriminator" in k for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    drop = ("seconds",)
    assert ([{k: v for k, v in r.items() if k not in drop} for r in whole.history]
            == [{k: v for k, v in r.items() if k not in drop} for r in again.history])


def test_a_sharpness_ratio_is_read_against_1_from_both_sides():
    from idealfit.tasks.translation import sharpness_reading

    assert sharpness_reading(0.191) == "blurrier than the real targets"
    assert sharpness_reading(1.05) == "about as sharp as the real targets"
    assert sharpness_reading(1.751).startswith("more high-frequency energy than the real targets: noise or grid")
