"""The hand-written ops against torch.nn.functional, and every number the deck's text quotes.

Slide titles refer to deep-learning-tutorial-part-2 ("Convolutional Neural Networks" part).
"""

import itertools
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from idealfit.errors import UserError
from idealfit.explain.conv import (
    DECK_DEFORMED_IMAGE,
    DECK_FILTERS,
    DECK_IMAGE,
    conv2d_steps,
    cross_entropy,
    flatten,
    linear,
    max_pool2d_steps,
    relu,
    softmax,
    worked_example,
)
from idealfit.explain.conv_view import draw_worked_example, format_worked_example

GEN = torch.Generator().manual_seed(0)


def _rand(*shape):
    return torch.randn(*shape, generator=GEN, dtype=torch.float64)


def _torch_conv(image, kernel, *, stride=1, padding=0, bias=0.0):
    b = torch.tensor([bias], dtype=torch.float64)
    return F.conv2d(image[None, None], kernel[None, None], b, stride=stride, padding=padding)[0, 0]


# ---- the ops against torch ------------------------------------------------------------------------------


@pytest.mark.parametrize("stride,padding", list(itertools.product([1, 2, 3], [0, 1, 2])))
@pytest.mark.parametrize("kernel_shape", [(3, 3), (2, 2), (2, 4)])
def test_conv2d_steps_equals_torch_conv2d(stride, padding, kernel_shape):
    image, kernel = _rand(7, 9), _rand(*kernel_shape)
    out, steps = conv2d_steps(image, kernel, stride=stride, padding=padding, bias=0.5)
    torch.testing.assert_close(out, _torch_conv(image, kernel, stride=stride, padding=padding, bias=0.5))
    assert len(steps) == out.numel()


def test_conv2d_steps_records_every_window_in_slide_order():
    image, kernel = _rand(5, 6), _rand(3, 3)
    out, steps = conv2d_steps(image, kernel, stride=1, padding=1, bias=-0.25)
    assert [(s.p, s.q) for s in steps] == [(p, q) for p in range(5) for q in range(6)]
    for s in steps:
        torch.testing.assert_close(s.products, s.patch * kernel)
        assert s.value == pytest.approx(float(s.products.sum()) - 0.25)
        assert out[s.p, s.q] == pytest.approx(s.value)
    assert steps[0].patch[0].tolist() == [0.0, 0.0, 0.0]  # the zero padding is in the patch


def test_conv2d_is_cross_correlation_not_flipped():
    # The deck's sum_ij W_ij X_(i+p, j+q): a kernel with a single 1 in its top-left corner copies the pixel
    # at the window's top-left; a true (flipped) convolution would copy the bottom-right one.
    image = torch.arange(16, dtype=torch.float64).reshape(4, 4)
    kernel = torch.zeros(3, 3, dtype=torch.float64)
    kernel[0, 0] = 1
    out, _ = conv2d_steps(image, kernel)
    assert out.tolist() == [[0.0, 1.0], [4.0, 5.0]]


@pytest.mark.parametrize("size,stride", [(2, 1), (2, 2), (3, 1), (3, 2)])
def test_max_pool2d_steps_equals_torch(size, stride):
    x = _rand(6, 7)
    out, steps = max_pool2d_steps(x, size=size, stride=stride)
    torch.testing.assert_close(out, F.max_pool2d(x[None, None], size, stride)[0, 0])
    for s in steps:
        assert s.value == float(s.window.max()) == float(out[s.p, s.q])


def test_relu_flatten_linear_equal_torch():
    x = _rand(3, 4, 5)
    torch.testing.assert_close(relu(x), F.relu(x))
    torch.testing.assert_close(flatten(x), torch.nn.Flatten()(x[None])[0])
    w, b = _rand(4, 60), _rand(4)
    torch.testing.assert_close(linear(flatten(x), w, b), F.linear(flatten(x), w, b))


def test_softmax_equals_torch_even_for_large_values():
    y = torch.cat([_rand(4, 6), torch.tensor([[1000.0, 999.0, 0, 0, 0, -1000.0]], dtype=torch.float64)])
    torch.testing.assert_close(softmax(y), torch.softmax(y, dim=-1))
    torch.testing.assert_close(softmax(y, dim=0), torch.softmax(y, dim=0))


def test_cross_entropy_equals_torch_and_has_the_minus_sign():
    logits, target = _rand(5, 4), torch.tensor([0, 3, 1, 2, 2])
    torch.testing.assert_close(cross_entropy(logits, target), F.cross_entropy(logits, target))
    one = cross_entropy(logits[1], 3)
    torch.testing.assert_close(one, F.cross_entropy(logits[1:2], target[1:2]))
    # Deck: J = sum y log y_hat (no minus); the loss must be -log(p_true) >= 0.
    assert float(one) == pytest.approx(-float(torch.log(torch.softmax(logits[1], 0)[3])))
    assert float(one) > 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: conv2d_steps(torch.ones(2, 2), torch.ones(3, 3)),  # kernel larger than image
        lambda: conv2d_steps(torch.ones(5, 5), torch.ones(3, 3), stride=0),
        lambda: conv2d_steps(torch.ones(5, 5), torch.ones(3, 3), padding=-1),
        lambda: conv2d_steps(torch.ones(5), torch.ones(3, 3)),  # 1-D image
        lambda: max_pool2d_steps(torch.ones(1, 1)),  # 2x2 pool on a 1x1 map
        lambda: worked_example(filters={}),
        lambda: worked_example(target=5),
    ],
)
def test_bad_input_is_a_user_error(call):
    with pytest.raises(UserError):
        call()


# ---- the deck's image -----------------------------------------------------------------------------------


def _window(image, p, q):
    return image[p : p + 3, q : q + 3].tolist()


# Patches the slides "Learning on image data - Example" quote for the first row of windows.
@pytest.mark.parametrize(
    "q,patch",
    [
        # "On the left is a 3x3 input patch with values [-1, -1, -1; -1, -1, 1; -1, 1, -1]"
        (0, [[-1, -1, -1], [-1, -1, 1], [-1, 1, -1]]),
        (1, [[-1, -1, 1], [-1, 1, 1], [1, -1, 1]]),  # "Step size here is one and the clipping is 3x3"
        (2, [[-1, 1, -1], [1, 1, -1], [-1, 1, -1]]),  # the "= -1" slide's bmatrix
    ],
)
def test_deck_image_has_the_quoted_first_row_patches(q, patch):
    assert _window(DECK_IMAGE, 0, q) == patch


def test_deck_image_is_the_only_fill_that_gives_the_quoted_all_ones_sums():
    # Rows 0-2 come from the patches; try all 2^10 fillings of rows 3-4 against the eight quoted sums
    # -5, 1, -1, [no number], 1, -1, -7, -1, -3 ("9 neurons for the 5x5 image").
    fills = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=10)), dtype=torch.float64).reshape(
        -1, 2, 5
    )
    images = torch.cat([DECK_IMAGE[:3].expand(len(fills), 3, 5), fills], dim=1)  # (1024, 5, 5)
    sums = F.conv2d(images[:, None], torch.ones(1, 1, 3, 3, dtype=torch.float64))[:, 0].reshape(-1, 9)
    quoted = torch.tensor([-5.0, 1, -1, 1, -1, -7, -1, -3], dtype=torch.float64)
    ok = (sums[:, [0, 1, 2, 4, 5, 6, 7, 8]] == quoted).all(dim=1)
    assert int(ok.sum()) == 1
    assert torch.equal(images[ok][0], DECK_IMAGE)
    # Reading the quoted numbers as windows 0..7 instead (no gap) fits no image at all.
    assert not bool((sums[:, :8] == quoted).all(dim=1).any())


F_I0_SLIDES = [
    pytest.param((0, 0), -5, id="ones: '(-1)+(-1)+(-1)+(-1)+(-1)+1+(-1)+1+(-1) = -5'"),
    pytest.param((0, 1), 1, id="ones: 'Step size here is one ... = 1'"),
    pytest.param((0, 2), -1, id="ones: 'bmatrix x ones = -1'"),
    pytest.param((1, 0), -5, id="ones: slide with no number in its text (window 1,0)"),
    pytest.param((1, 1), 1, id="ones: '... x ones = 1'"),
    pytest.param((1, 2), -1, id="ones: '... x ones = -1' (first)"),
    pytest.param((2, 0), -7, id="ones: 'Light blue circle = -1 ... = -7'"),
    pytest.param((2, 1), -1, id="ones: '... x ones = -1' (second)"),
    pytest.param((2, 2), -3, id="ones: '9 neurons for the 5x5 image ... = -3'"),
]


@pytest.mark.parametrize("pq,value", F_I0_SLIDES)
def test_all_ones_filter_f_i0_gives_the_deck_sums(pq, value):
    out, _ = conv2d_steps(DECK_IMAGE, DECK_FILTERS["f_i0"])
    assert out[pq] == value


F_I1_SLIDES = [
    pytest.param((0, 0), -1, id="f_i1: 'Low score ! barely matches' -1"),
    pytest.param((0, 1), 9, id="f_i1: 'Maximum score ! Filter matches full' 9"),
    pytest.param((0, 2), -5, id="f_i1: 'Very low score ! Many mismatches' -5"),
    pytest.param((2, 1), 3, id="f_i1: '... x kernel = 3' (window read as 2,1)"),
    pytest.param((2, 2), -3, id="f_i1: '... x kernel = -3' (window read as 2,2)"),
]


@pytest.mark.parametrize("pq,value", F_I1_SLIDES)
def test_filter_f_i1_gives_the_deck_scores(pq, value):
    out, _ = conv2d_steps(DECK_IMAGE, DECK_FILTERS["f_i1"])
    assert out[pq] == value


def test_f_i1_full_match_is_the_patch_equal_to_the_filter():
    # "Maximum score ! Filter matches full": patch == filter, so all 9 products are +1.
    _, steps = conv2d_steps(DECK_IMAGE, DECK_FILTERS["f_i1"])
    assert torch.equal(steps[1].patch, DECK_FILTERS["f_i1"])
    assert steps[1].products.tolist() == [[1.0] * 3] * 3


@pytest.mark.parametrize(
    "image,pq,terms,value",
    [
        (DECK_IMAGE, (0, 0), [1, 1, -1, 1, -1, 1, -1, -1], -1),  # "= 1+1+(-1)+1+(-1)+1+(-1)+(-1) = -1"
        (DECK_IMAGE, (0, 1), [1] * 8, 9),  # "= 1+1+1+1+1+1+1+1 = 9"
        # "= 1+(-1)+(-1)+(-1)+1+(-1)+(-1)+(-1) = -5"
        (DECK_IMAGE, (0, 2), [1, -1, -1, -1, 1, -1, -1, -1], -5),
        (DECK_DEFORMED_IMAGE, (0, 2), [1, 1, 1, 1, 1, -1, 1, 1], 7),  # "= 1+1+1+1+1+(-1)+1+1 = 7"
    ],
)
def test_deck_written_f_i1_sums_miss_one_of_the_nine_products(image, pq, terms, value):
    # The deck writes 8 terms for 9 products; they are the products minus one term, and the total is right.
    out, steps = conv2d_steps(image, DECK_FILTERS["f_i1"])
    products = Counter(steps[pq[0] * 3 + pq[1]].products.reshape(-1).tolist())
    assert sum((products - Counter(terms)).values()) == 1
    assert out[pq] == value


def test_filter_f_2_gives_the_deck_feature_map():
    # Slide "Next filter f_2": the map "3 -3 7 / 3 -3 7 / 5 -5 9".
    out, _ = conv2d_steps(DECK_IMAGE, DECK_FILTERS["f_2"])
    assert out.tolist() == [[3, -3, 7], [3, -3, 7], [5, -5, 9]]


def test_filter_f_2_first_window_is_3_and_last_window_is_the_full_match_9():
    # "... x f_2 = 3" and "f_2 x f_2 = 9" (the last patch equals the filter).
    out, steps = conv2d_steps(DECK_IMAGE, DECK_FILTERS["f_2"])
    assert out[0, 0] == 3
    assert torch.equal(steps[-1].patch, DECK_FILTERS["f_2"]) and steps[-1].value == 9


@pytest.mark.parametrize(
    "q,patch,value",
    [
        (0, [[-1, -1, -1]] * 3, -1),  # "[-1 -1 -1; -1 -1 -1; -1 -1 -1] x f_i1 = ..."
        (1, [[-1, -1, -1], [-1, -1, 1], [-1, -1, -1]], 1),  # "[-1 -1 -1; -1 **-1** 1; -1 -1 -1] x f_i1 = ..."
        (2, [[-1, -1, 1], [-1, 1, 1], [-1, -1, 1]], 7),  # "Not a full match but still a high score ... = 7"
    ],
)
def test_deformed_image_first_row_is_the_deck_minus1_1_7(q, patch, value):
    # Slide "Filters to detect features": "-1 1 7", and "A full match would be 9".
    out, steps = conv2d_steps(DECK_DEFORMED_IMAGE, DECK_FILTERS["f_i1"])
    assert steps[q].patch.tolist() == patch
    assert out[0, q] == value


def test_max_pool_2x2_stride_1_turns_the_9_neurons_into_4():
    # "Using max pool (find max with 2x2 filters and stride 1)" on "the layer with the 9 neurons".
    fmap, _ = conv2d_steps(DECK_IMAGE, DECK_FILTERS["f_i1"])
    pooled, steps = max_pool2d_steps(relu(fmap), size=2, stride=1)
    assert pooled.tolist() == [[9, 9], [3, 3]]
    assert len(steps) == 4


# ---- the whole pipeline ---------------------------------------------------------------------------------


def _torch_pipeline(result):
    kernels = torch.stack([fp.kernel for fp in result.passes])[:, None]  # (F, 1, 3, 3)
    maps = F.conv2d(result.image[None, None], kernels, stride=result.stride, padding=result.padding)
    pooled = F.max_pool2d(F.relu(maps), 2, 1)  # (1, F, H'', W'')
    logits = F.linear(pooled.flatten(1), result.fc_weight, result.fc_bias)[0]
    return logits, F.cross_entropy(logits[None], torch.tensor([result.target]))


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 2)])
def test_worked_example_equals_the_torch_pipeline(stride, padding):
    image = torch.sign(_rand(6, 6))
    result = worked_example(image, DECK_FILTERS, stride=stride, padding=padding, target=1)
    logits, loss = _torch_pipeline(result)
    torch.testing.assert_close(result.logits, logits)
    torch.testing.assert_close(result.probs, torch.softmax(logits, 0))  # "softmax(y_i) = e^y_i / sum_j e^y_j"
    assert result.loss == pytest.approx(float(loss))
    expected = (6 + 2 * padding - 3) // stride + 1
    assert result.passes[0].feature_map.shape == (expected, expected)


def test_worked_example_defaults_are_the_deck_and_fc_is_seeded():
    result = worked_example()
    assert torch.equal(result.image, DECK_IMAGE)
    assert [fp.name for fp in result.passes] == ["f_i0", "f_i1", "f_2"]
    assert result.flat.tolist() == [1, 1, 1, 1, 9, 9, 3, 3, 3, 7, 5, 9]
    assert torch.equal(result.fc_weight, worked_example().fc_weight)
    assert not torch.equal(result.fc_weight, worked_example(fc_seed=1).fc_weight)
    assert len(worked_example(class_names=("a", "b", "c")).probs) == 3


def test_worked_example_takes_user_filters():
    result = worked_example(filters={"mine": [[1, 0], [0, -1]]})
    torch.testing.assert_close(
        result.passes[0].feature_map,
        _torch_conv(DECK_IMAGE, torch.tensor([[1.0, 0], [0, -1]], dtype=torch.float64)),
    )
    assert result.passes[0].quoted == {}


def test_format_prints_every_window_and_checks_it_against_the_deck():
    text = format_worked_example(worked_example())
    assert text.count("window (p=") == 27 + 12  # 3 filters x 9 conv windows + 3 x 4 pool windows
    assert "= -5   [deck: -5, matches]" in text
    assert "DIFFERS" not in text
    # Unquoted: f_i0 window (1,0); f_i1 windows (1,0), (1,1), (1,2), (2,0).
    assert text.count("gives no number for this window") == 1 + 4
    assert "without the minus sign" in text and "'3 -3 7 / 3 -3 7 / 5 -5 9'" in text
    assert "(-1)+(-1)+(-1)+(-1)+(-1)+1+(-1)+1+(-1) = -5" in text


def test_format_max_windows_and_deformed_notes():
    text = format_worked_example(
        worked_example(DECK_DEFORMED_IMAGE, {"f_i1": DECK_FILTERS["f_i1"]}), max_windows=3
    )
    assert text.count("window (p=") == 3 + 3
    assert "6 more windows" in text
    assert "= 7   [deck: 7, matches]" in text
    assert "rows 3-4 are our assumption" in text


def test_draw_worked_example_has_a_panel_per_step():
    fig = draw_worked_example(worked_example())
    assert isinstance(fig, Figure)
    # rows: filters, feature maps, pooled maps; columns: image + 3 filters; and the maps' one colour bar
    assert len(fig.axes) == 3 * 4 + 1
