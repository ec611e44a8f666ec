"""Augmentations against their definitions: torch.flip, F.pad + slicing, the contrast/tint formulas."""

import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from idealfit.data.augment import AUGMENTATIONS, Augment, contrast, crop, flip, tint
from idealfit.data.augment_preview import DECK_AUGMENTATIONS, preview, preview_figure
from idealfit.errors import UserError


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def x():
    return torch.rand(6, 3, 5, 7, generator=_gen(123))  # (B, C, H, W), non-square to catch H/W mix-ups


# --- flip -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "dims"), [("horizontal", [-1]), ("vertical", [-2]), ("both", [-2, -1])]
)
def test_flip_p1_is_torch_flip(x, direction, dims):
    assert torch.equal(flip(x, p=1.0, direction=direction), torch.flip(x, dims))


def test_flip_p0_is_identity(x):
    assert torch.equal(flip(x, p=0.0, direction="both"), x)


def test_flip_per_sample_draw_recomputed(x):
    out = flip(x, p=0.5, direction="both", generator=_gen(7))
    g = _gen(7)
    h = torch.rand(x.shape[0], generator=g) < 0.5  # horizontal is drawn first, then vertical
    v = torch.rand(x.shape[0], generator=g) < 0.5
    for b in range(x.shape[0]):
        dims = [d for d, on in ((-1, h[b]), (-2, v[b])) if on]
        assert torch.equal(out[b], torch.flip(x[b], dims) if dims else x[b])


# --- crop -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["zeros", "reflect"])
@pytest.mark.parametrize("padding", [1, 3])
def test_crop_equals_padded_slice_at_drawn_offsets(x, mode, padding):
    out = crop(x, padding=padding, mode=mode, generator=_gen(3))
    g = _gen(3)
    oy = torch.randint(0, 2 * padding + 1, (x.shape[0],), generator=g)
    ox = torch.randint(0, 2 * padding + 1, (x.shape[0],), generator=g)
    padded = F.pad(x, [padding] * 4, mode="constant" if mode == "zeros" else "reflect")
    H, W = x.shape[-2:]
    for b in range(x.shape[0]):
        assert torch.equal(out[b], padded[b, :, oy[b] : oy[b] + H, ox[b] : ox[b] + W])


def test_crop_padding0_is_identity(x):
    assert torch.equal(crop(x, padding=0), x)


def test_crop_reflect_padding_too_large(x):
    with pytest.raises(UserError, match="reflect"):
        crop(x, padding=5, mode="reflect")


# --- contrast / tint ------------------------------------------------------------------------------


def test_contrast_hand_computed():
    img = torch.tensor([[0.2, 0.4], [0.6, 0.8]]).reshape(1, 1, 2, 2)  # mean 0.5
    out = contrast(img, low=1.5, high=1.5)
    expected = torch.tensor([[0.05, 0.35], [0.65, 0.95]]).reshape(1, 1, 2, 2)  # (x - .5) * 1.5 + .5
    torch.testing.assert_close(out, expected)
    clamped = contrast(img, low=3.0, high=3.0)  # (x - .5) * 3 + .5 = [-.4, .2, .8, 1.4] -> clamp
    torch.testing.assert_close(clamped, torch.tensor([[0.0, 0.2], [0.8, 1.0]]).reshape(1, 1, 2, 2))


def test_contrast_per_sample_factor_recomputed(x):
    out = contrast(x, low=0.5, high=1.8, generator=_gen(11))
    f = 0.5 + 1.3 * torch.rand(x.shape[0], generator=_gen(11))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    torch.testing.assert_close(out, ((x - mean) * f[:, None, None, None] + mean).clamp(0, 1))


def test_tint_known_draw(x):
    out = tint(x, strength=0.3, generator=_gen(5))
    shift = (2 * torch.rand(x.shape[0], x.shape[1], generator=_gen(5)) - 1) * 0.3  # (B, C)
    torch.testing.assert_close(out, (x + shift[:, :, None, None]).clamp(0, 1))
    assert shift.abs().max() <= 0.3


def test_tint_grey_is_brightness_shift():
    img = torch.full((2, 1, 3, 3), 0.5)
    out = tint(img, strength=0.2, generator=_gen(1))
    shift = (2 * torch.rand(2, 1, generator=_gen(1)) - 1) * 0.2
    torch.testing.assert_close(out, 0.5 + shift[:, :, None, None].expand(2, 1, 3, 3))


def test_zero_strength_photometric_is_identity(x):
    torch.testing.assert_close(contrast(x, low=1.0, high=1.0), x)
    assert torch.equal(tint(x, strength=0.0), x)


# --- batch-wide properties ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda t, g: flip(t, p=0.5, generator=g),
        lambda t, g: crop(t, padding=2, generator=g),
        lambda t, g: contrast(t, generator=g),
        lambda t, g: tint(t, generator=g),
    ],
)
def test_draws_differ_across_batch_shape_and_range_kept(fn):
    one = torch.rand(1, 3, 8, 8, generator=_gen(0))
    batch = one.expand(64, -1, -1, -1).contiguous()  # 64 copies of one image
    out = fn(batch, _gen(2))
    assert out.shape == batch.shape and out.dtype == batch.dtype
    assert out.min() >= 0 and out.max() <= 1
    distinct = {tuple(o.flatten().tolist()) for o in out}
    assert len(distinct) > 1  # one draw per sample, not one per batch


def test_generator_reproducible_and_seed_matters(x):
    aug = ["flip", "crop", "contrast", "tint"]
    a = Augment(aug, generator=_gen(9))(x)
    b = Augment(aug, generator=_gen(9))(x)
    c = Augment(aug, generator=_gen(10))(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


# --- pipeline -------------------------------------------------------------------------------------


def _labelled(B=16, H=6, W=9):
    """Images whose channel 0 encodes a per-pixel label 1..H*W, so mask and image can be compared."""
    mask = (torch.arange(H * W).reshape(H, W) + 1).expand(B, H, W).clone()  # (B, H, W) long
    x = (mask.float() / (H * W))[:, None].repeat(1, 3, 1, 1)  # (B, 3, H, W) in (0, 1]
    return x, mask


@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_mask_shares_geometric_draw(mode):
    x, mask = _labelled()
    aug = Augment(
        [{"name": "flip", "direction": "both"}, {"name": "crop", "padding": 2, "mode": mode}],
        generator=_gen(4),
    )
    out, m = aug(x, mask)
    assert m.shape == mask.shape and m.dtype == mask.dtype
    assert torch.equal(m, torch.round(out[:, 0] * mask.shape[1] * mask.shape[2]).long())  # same draw
    assert not torch.equal(m, mask)
    assert set(m.unique().tolist()) <= set(range(0, mask.numel() // len(mask) + 1))  # nearest, no mixing


def test_mask_4d_and_photometric_leaves_mask_alone():
    x, mask = _labelled()
    mask4 = mask[:, None]  # (B, 1, H, W)
    out, m = Augment(["contrast", "tint"], generator=_gen(0))(x, mask4)
    assert m.shape == mask4.shape and torch.equal(m, mask4)
    assert not torch.equal(out, x)


def test_pipeline_matches_functions_in_order(x):
    specs = [
        {"name": "flip", "p": 1.0},
        {"name": "crop", "padding": 1},
        "contrast",
        {"name": "tint", "strength": 0.2},
    ]
    got = Augment(specs, generator=_gen(8))(x)
    g = _gen(8)
    want = flip(x, p=1.0, generator=g)
    want = crop(want, padding=1, generator=g)
    want = contrast(want, generator=g)
    want = tint(want, strength=0.2, generator=g)
    torch.testing.assert_close(got, want)


def test_get_config_fills_defaults():
    cfg = Augment(["flip", {"name": "crop", "padding": 1}, "contrast", "tint"]).get_config()
    assert cfg == [
        {"name": "flip", "p": 0.5, "direction": "horizontal"},
        {"name": "crop", "padding": 1, "mode": "zeros"},
        {"name": "contrast", "low": 0.7, "high": 1.3},
        {"name": "tint", "strength": 0.1},
    ]
    assert Augment(cfg).get_config() == cfg  # round-trips


@pytest.mark.parametrize(
    ("specs", "match"),
    [
        (["flp"], r"unknown augmentation 'flp' \(did you mean 'flip'\?\); valid: flip, crop, contrast, tint"),
        (
            [{"name": "crop", "pad": 1}],
            r"no parameter 'pad' \(did you mean 'padding'\?\); valid: padding, mode",
        ),
        ([{"name": "flip", "p": 1.5}], r"p must be a probability"),
        ([{"name": "flip", "direction": "diagonal"}], r"direction must be one of"),
        ([{"name": "crop", "padding": -1}], r"padding must be"),
        ([{"name": "crop", "padding": 1.5}], r"padding must be"),
        ([{"name": "crop", "mode": "wrap"}], r"mode must be one of zeros, reflect"),
        ([{"name": "contrast", "low": 1.2, "high": 0.8}], r"low <= high"),
        ([{"name": "tint", "strength": -0.1}], r"strength"),
        ([{"p": 0.5}], r"'name' key"),
        ("flip", r"expected a list"),
    ],
)
def test_validation_errors(specs, match):
    with pytest.raises(UserError, match=match):
        Augment(specs)


def test_bad_inputs(x):
    with pytest.raises(UserError, match=r"\(B, C, H, W\)"):
        flip(x[0])
    with pytest.raises(UserError, match=r"\(B, C, H, W\)"):
        crop((x * 255).to(torch.uint8))
    with pytest.raises(UserError, match="mask must be"):
        Augment(["flip"])(x, torch.zeros(6, 4, 7))


# --- preview --------------------------------------------------------------------------------------


def test_preview_original_then_each_alone(x):
    grid = preview(x[:3], seed=0)
    assert grid.shape == (3, 1 + len(DECK_AUGMENTATIONS), 3, 5, 7)
    assert torch.equal(grid[:, 0], x[:3])
    assert torch.equal(grid[:, 1], torch.flip(x[:3], [-1]))  # flip at full strength
    g = _gen(0)
    for j, name in enumerate(DECK_AUGMENTATIONS, start=1):
        step = [{"name": name, "p": 1.0}] if name == "flip" else [name]
        torch.testing.assert_close(grid[:, j], Augment(step, generator=g)(x[:3]))
    assert not torch.equal(preview(x[:3], seed=1), grid)  # the seed is used


def test_preview_figure_grid(x):
    fig = preview_figure(x[:2, :1], ["flip", "crop", "contrast", "tint"])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * 5
    assert [ax.get_title() for ax in fig.axes[:5]] == ["Original", "Flip", "Random crop", "Contrast", "Tint"]
    from idealfit.data.augment import SPECTROGRAM_OPS
    from idealfit.data.augment_preview import TITLES

    # every augmentation is on the deck's slide, or is SpecAugment's for spectrograms (audio runs); all have a title
    assert set(AUGMENTATIONS) == set(DECK_AUGMENTATIONS) | set(SPECTROGRAM_OPS) == set(TITLES)
    spec = preview_figure(torch.randn(2, 1, 40, 101), list(SPECTROGRAM_OPS))  # values outside [0, 1]: drawn
    assert [ax.get_title() for ax in spec.axes[:3]] == ["Original", "Frequency mask", "Time mask"]
