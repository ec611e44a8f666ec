"""The deck's "Feature extraction with convolutions" kernels, checked against hand computations."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from idealfit.errors import UserError
from idealfit.explain.conv import conv2d_steps
from idealfit.explain.kernels import CLASSIC_KERNELS, apply_kernels, classic_kernels_figure, load_gray_image


def test_the_four_kernels_of_the_slide():
    assert list(CLASSIC_KERNELS) == ["Original", "Sharpen", "Edge detect", "Strong edge detect"]
    assert CLASSIC_KERNELS["Sharpen"].tolist() == [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    assert CLASSIC_KERNELS["Edge detect"].tolist() == [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    assert CLASSIC_KERNELS["Strong edge detect"].tolist() == [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    # Identity and sharpen keep the brightness (weights sum to 1); edge detectors see nothing in flat areas (0).
    assert [float(k.sum()) for k in CLASSIC_KERNELS.values()] == [1, 1, 0, 0]


def test_apply_kernels_matches_the_hand_computed_windows_inside_the_image():
    image = torch.rand(9, 11, generator=torch.Generator().manual_seed(0))
    out = apply_kernels(image)
    assert torch.equal(out["Original"], image)
    for name, kernel in CLASSIC_KERNELS.items():
        assert out[name].shape == image.shape
        inner, _ = conv2d_steps(image.double(), kernel.double())  # (7, 9): windows fully inside
        torch.testing.assert_close(out[name][1:-1, 1:-1].double(), inner, atol=1e-5, rtol=0)


def test_borders_repeat_the_edge_so_a_flat_image_has_no_edges():
    out = apply_kernels(torch.full((5, 6), 0.7))
    assert float(out["Edge detect"].abs().max()) < 1e-6
    assert float(out["Strong edge detect"].abs().max()) < 1e-6
    torch.testing.assert_close(out["Sharpen"], torch.full((5, 6), 0.7))


def test_apply_kernels_takes_user_kernels_and_rejects_bad_ones():
    out = apply_kernels(torch.eye(4), kernels={"shift": [[0, 0, 0], [0, 0, 1], [0, 0, 0]]})
    assert list(out) == ["shift"]
    assert out["shift"][1].tolist() == [1, 0, 0, 0]  # each pixel takes its right neighbour's value
    with pytest.raises(UserError, match="odd side"):
        apply_kernels(torch.eye(4), kernels={"even": torch.ones(2, 2)})
    with pytest.raises(UserError, match="2-D"):
        apply_kernels(torch.ones(3, 4, 4))


def test_default_image_is_sklearns_china_in_gray():
    image = load_gray_image()
    assert image.shape == (171, 256)  # 427 x 640 shrunk to a longest side of 256
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert load_gray_image(max_side=None).shape == (427, 640)


def test_load_gray_image_reads_any_pillow_file(tmp_path):
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[..., 0] = 255  # pure red: luma 0.299 * 255 = 76
    Image.fromarray(rgb).save(tmp_path / "red.png")
    gray = load_gray_image(tmp_path / "red.png")
    assert gray.shape == (4, 6)
    assert float(gray[0, 0]) == pytest.approx(76 / 255)
    assert load_gray_image(tmp_path / "red.png", max_side=3).shape == (2, 3)


def test_load_gray_image_errors_name_the_file(tmp_path):
    with pytest.raises(UserError, match="nope.png"):
        load_gray_image(tmp_path / "nope.png")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(UserError, match="notes.png"):
        load_gray_image(tmp_path / "notes.png")


def test_classic_kernels_figure_has_four_panels():
    fig = classic_kernels_figure(torch.rand(20, 30))
    assert isinstance(fig, Figure)
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == list(CLASSIC_KERNELS)
    one = classic_kernels_figure(torch.rand(8, 8), kernels={"Sharpen": CLASSIC_KERNELS["Sharpen"]})
    assert [ax.get_title().split("\n")[0] for ax in one.axes] == ["Sharpen"]
