"""PatchDiscriminator: patch-map shapes, the receptive field measured by a gradient, the reference's layout."""

import pytest
import torch
from torch import nn

from idealfit.errors import UserError
from idealfit.models.patchgan import PatchDiscriminator, receptive_field


@pytest.mark.parametrize(("hw", "out"), [(64, 6), (32, 2), (256, 30)])
def test_patch_map_shape(hw, out):
    # 64 -> 32 -> 16 -> 8 (stride 2) -> 7 -> 6 (stride 1, 4×4, padding 1); 256 gives the paper's 30×30
    d = PatchDiscriminator(4, width=4)
    assert d(torch.randn(2, 4, hw, hw)).shape == (2, 1, out, out)


def test_non_square_input():
    d = PatchDiscriminator(2, width=4)
    assert d(torch.randn(1, 2, 64, 32)).shape == (1, 1, 6, 2)


@pytest.mark.parametrize(("layers", "side"), [(1, 16), (2, 34), (3, 70), (4, 142), (5, 286)])
def test_receptive_field_formula(layers, side):
    # The pix2pix paper's 16×16 PatchGAN, 70×70 PatchGAN and 286×286 ImageGAN
    assert receptive_field(layers) == side
    assert PatchDiscriminator(2, width=2, layers=layers).receptive_field == side


def _nonzero_window(d: PatchDiscriminator, size: int, i: int, j: int) -> tuple[int, int, int, int]:
    """Bounding box (top, left, height, width) of the input pixels that move output logit (i, j)."""
    torch.manual_seed(0)
    x = torch.randn(1, d.in_channels, size, size, dtype=torch.float64, requires_grad=True)
    d(x)[0, 0, i, j].backward()
    rows, cols = torch.nonzero(x.grad.abs().sum((0, 1)), as_tuple=True)
    return int(rows.min()), int(cols.min()), int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize(("layers", "size", "ij"), [(3, 128, (7, 7)), (3, 128, (5, 9)), (1, 32, (8, 8)),
                                                    (2, 64, (6, 6))])
def test_gradient_of_one_logit_fills_exactly_the_receptive_field(layers, size, ij):
    # eval(): in training mode BatchNorm's batch statistics tie every output to every input pixel.
    # An interior output, so that the window does not reach the zero padding.
    d = PatchDiscriminator(3, width=4, layers=layers).double().eval()
    top, left, h, w = _nonzero_window(d, size, *ij)
    side = receptive_field(layers)
    assert (h, w) == (side, side)
    # where it starts: the two stride-1 convs move it back 2 (padding 1 each), each stride-2 conv maps
    # a start r to 2r − 1, so output i begins at input (i − 2)·2^L − (2^L − 1)
    jump = 2**layers
    assert (top, left) == tuple((k - 2) * jump - (jump - 1) for k in ij)


def test_gradient_window_is_clipped_at_the_border():
    # A corner output's window hangs over the padding: fewer input pixels, never more than the field
    d = PatchDiscriminator(3, width=4).double().eval()
    top, left, h, w = _nonzero_window(d, 64, 0, 0)
    assert (top, left) == (0, 0) and h < 70 and w < 70


def _convs(d):
    return [m for m in d.modules() if isinstance(m, nn.Conv2d)]


def test_layout_matches_the_reference_nlayer_discriminator():
    # NLayerDiscriminator(input_nc=6, ndf=64, n_layers=3): 6 -> 64 -> 128 -> 256 (stride 2), 512 (stride 1), 1
    d = PatchDiscriminator(6)
    convs = _convs(d)
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in convs] == [
        (6, 64, 2), (64, 128, 2), (128, 256, 2), (256, 512, 1), (512, 1, 1)]
    assert all(c.kernel_size == (4, 4) and c.padding == (1, 1) for c in convs)
    # biases only where no BatchNorm follows
    assert [c.bias is not None for c in convs] == [True, False, False, False, True]
    norms = [m for m in d.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [n.num_features for n in norms] == [128, 256, 512]  # none on the first conv
    acts = [m for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 4 and all(a.negative_slope == 0.2 for a in acts)
    assert isinstance(d.net[-1], nn.Conv2d)  # logits: no sigmoid, the loss applies it


def test_width_is_capped_at_eight_times():
    d = PatchDiscriminator(2, width=2, layers=5)
    assert [c.out_channels for c in _convs(d)] == [2, 4, 8, 16, 16, 16, 1]


@pytest.mark.parametrize(("norm", "kind"), [("instance", nn.InstanceNorm2d), ("none", None)])
def test_norm_option(norm, kind):
    d = PatchDiscriminator(2, width=4, norm=norm)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    found = [m for m in d.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(found) == (3 if kind else 0)
    assert all(c.bias is not None for c in _convs(d))


def test_width_option_counts_channels():
    assert _convs(PatchDiscriminator(2, width=8))[0].out_channels == 8


@pytest.mark.parametrize("kwargs", [{"in_channels": 0}, {"in_channels": 2, "width": 0},
                                    {"in_channels": 2, "layers": 0}, {"in_channels": 2, "norm": "group"}])
def test_bad_options_raise_user_error(kwargs):
    with pytest.raises(UserError):
        PatchDiscriminator(**kwargs)


def test_wrong_channels_raise_user_error():
    with pytest.raises(UserError, match=r"\(B, 4, H, W\)"):
        PatchDiscriminator(4, width=4)(torch.randn(1, 3, 64, 64))


@pytest.mark.parametrize("layers", [1, 3])
def test_smallest_input_gives_one_logit_and_smaller_raises(layers):
    d = PatchDiscriminator(2, width=2, layers=layers)
    side = d.min_size
    assert d(torch.randn(1, 2, side, side + 2**layers)).shape[-2:] == (1, 2)  # one stride-2 step more: 2
    with pytest.raises(UserError, match=f"at least {side}"):
        d(torch.randn(1, 2, side - 1, 64))
