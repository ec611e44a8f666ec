"""The worked example's printout and figure say what they compute: one letter per quantity, the stride in
the formula, one colour scale for all maps (newcomer 3, section 1)."""

import re

import torch

from idealfit.explain.conv import DECK_DEFORMED_IMAGE, DECK_FILTERS, worked_example
from idealfit.explain.conv_view import draw_worked_example, format_worked_example


def test_the_logits_are_z_and_y_is_only_the_one_hot_label():
    result = worked_example()
    text = format_worked_example(result)
    logits = "[" + ", ".join(f"{float(z):.2f}" for z in result.logits) + "]"
    assert f"z = {logits}" in text and "z = W x + b" in text and "softmax(z_i) = e^{z_i} / sum_j e^{z_j}" in text
    assert not re.search(r"^y = ", text, flags=re.M) and "y = W x" not in text  # y never names the logits
    assert "y: the one-hot true label" in text and "(y = [1, 0])" in text
    assert "the deck gives its image no label: we take 'class 0' as the true class" in text
    assert "J = -log(0.0654) = 2.7276" in text  # the course's numbers unchanged


def test_another_true_class_is_named_with_its_one_hot_vector():
    text = format_worked_example(worked_example(class_names=("a", "b", "c"), target=2))
    assert "we take 'c' as the true class (y = [0, 0, 1])" in text


def test_the_formula_and_each_window_carry_the_stride():
    result = worked_example(DECK_DEFORMED_IMAGE, {"f_i1": DECK_FILTERS["f_i1"]}, stride=2)
    text = format_worked_example(result)
    assert "X(i+2p, j+2q)" in text and "X(i+p, j+q)" not in text
    # window (0, 1) is columns 2-4 of the image, as the formula now says, and its patch is those columns
    assert "window (p=0, q=1), rows 0-2, columns 2-4:" in text
    torch.testing.assert_close(result.passes[0].conv_steps[1].patch, DECK_DEFORMED_IMAGE[0:3, 2:5])
    deck = format_worked_example(worked_example())
    assert "sum_ij W_ij X(i+p, j+q) + b" in deck and "rows 0-2" not in deck  # stride 1: the deck's own words


def test_padding_says_x_is_the_padded_image():
    text = format_worked_example(worked_example(filters={"f_2": DECK_FILTERS["f_2"]}, padding=1))
    assert "X: the image zero-padded by 1 on every side" in text


def test_flatten_counts_one_value_in_the_singular():
    one = format_worked_example(worked_example(torch.ones(4, 4), {"k": torch.ones(3, 3)}))
    assert "pooled maps -> 1 value ==" in one
    assert "pooled maps -> 12 values ==" in format_worked_example(worked_example())


def test_all_maps_share_one_colour_scale_with_a_colour_bar_and_the_bars_a_legend():
    fig = draw_worked_example(worked_example())
    scales = {im.get_clim() for ax in fig.axes for im in ax.get_images()}
    assert scales == {(-9.0, 9.0)}  # f_i0's pooled 1s are not drawn as dark as f_i1's 9s
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1
    legend = next(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["true class (class 0: our pick)", "other classes"]
