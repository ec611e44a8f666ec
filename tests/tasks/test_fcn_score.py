"""The FCN-score: class maps read from label-map colours, scores by hand, a segmenter trained once and cached."""

import numpy as np
import pytest
import torch
from torch import nn

from idealfit.data.pairs import label_map, labels2shapes_masks, make_labels2shapes, palette_masks
from idealfit.errors import UserError
from idealfit.tasks.fcn_score import fcn_scores, segmenter


def test_label_map_colours_give_back_the_classes_up_to_their_order():
    masks = labels2shapes_masks(20, size=32, seed=3)
    ids = palette_masks(label_map(masks).astype(np.float32) / 255)
    assert ids.shape == masks.shape
    pairs = set(zip(masks.ravel().tolist(), ids.ravel().tolist(), strict=True))
    assert len(pairs) == len(np.unique(masks)) == len({i for _, i in pairs})  # a one-to-one relabelling
    assert (0, 0) in pairs  # black, the background, has the smallest colour code


def test_photos_and_gray_inputs_are_not_label_maps():
    rng = np.random.default_rng(0)
    assert palette_masks(rng.random((4, 3, 16, 16)).astype(np.float32)) is None  # thousands of colours
    assert palette_masks(np.ones((4, 3, 16, 16), np.float32)) is None  # one colour: nothing to tell apart
    assert palette_masks(np.zeros((4, 1, 16, 16), np.float32)) is None  # an edge map is not colour-coded


class OneHot(nn.Module):
    """A "segmenter" that reads the class from the first channel (class k at k/10): scores by hand."""

    def forward(self, x):
        return nn.functional.one_hot((x[:, 0] * 10).round().long(), 3).permute(0, 3, 1, 2).float()


def test_scores_by_hand():
    masks = np.zeros((2, 4, 4), np.int64)
    masks[:, :2] = 1
    masks[:, 3, 3] = 2
    right = np.repeat(masks[:, None] / 10, 3, axis=1).astype(np.float32)
    assert fcn_scores(OneHot(), right, masks) == {"fcn_pixel_accuracy": 1.0, "fcn_miou": 1.0}
    wrong = right.copy()
    wrong[:, :, 0, :] = 0  # the first row of class 1 (4 px per image) read as background
    s = fcn_scores(OneHot(), wrong, masks)
    assert s["fcn_pixel_accuracy"] == pytest.approx(24 / 32)  # 4 of 16 pixels wrong in each image
    assert s["fcn_miou"] == pytest.approx((8 / 16 + 1.0) / 2)  # foreground classes 1 and 2


def test_the_segmenter_is_trained_once_then_read_from_the_cache(tmp_path):
    ds = make_labels2shapes(320, size=32, seed=1)
    masks = labels2shapes_masks(320, size=32, seed=1)
    torch.set_num_threads(1)
    net = segmenter(ds.y, masks, num_classes=4, seed=0, cache=tmp_path)
    files = list(tmp_path.glob("fcn-score-*.safetensors"))
    assert len(files) == 1
    real = fcn_scores(net, ds.y, masks)
    grey = fcn_scores(net, np.full_like(ds.y, 0.5), masks)
    assert real["fcn_pixel_accuracy"] > grey["fcn_pixel_accuracy"] and real["fcn_miou"] > grey["fcn_miou"] + 0.2
    again = segmenter(ds.y, masks, num_classes=4, seed=0, cache=tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True))
    segmenter(ds.y[:64], masks[:64], num_classes=4, seed=0, steps=2, cache=tmp_path)  # other data: another one
    segmenter(ds.y[:64], masks[:64], num_classes=4, seed=1, steps=2, cache=tmp_path)  # another seed: another one
    assert len(list(tmp_path.glob("fcn-score-*.safetensors"))) == 3


def test_an_npz_of_pairs_may_carry_the_masks_behind_its_inputs(tmp_path):
    from idealfit.data.files import load_npz

    rng = np.random.default_rng(0)
    x = rng.random((6, 3, 16, 16)).astype(np.float32)
    masks = rng.integers(0, 3, (6, 16, 16))
    np.savez(tmp_path / "p.npz", x=x, y=1 - x, masks=masks)
    assert np.array_equal(load_npz(tmp_path / "p.npz", task=None).masks, masks)
    np.savez(tmp_path / "bad.npz", x=x, y=1 - x, masks=masks[:, :8])
    with pytest.raises(UserError, match="masks must hold a class id"):
        load_npz(tmp_path / "bad.npz", task=None)
    np.savez(tmp_path / "none.npz", x=x, y=1 - x)
    assert load_npz(tmp_path / "none.npz", task=None).masks is None  # photos in, no classes to score by
