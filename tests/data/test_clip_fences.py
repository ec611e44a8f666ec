"""data.clip_fences: Tukey's fences on top of the quantile clip, against a hand computation of box-plot whiskers."""

import numpy as np
import pytest

import idealfit as fit
from idealfit.config import DataConfig
from idealfit.data.base import Dataset
from idealfit.data.prepare import prepare
from idealfit.data.preprocess import TablePreprocessor, clip_bounds
from idealfit.errors import UserError


def two_typos(n=100, seed=0):
    """(n, 2): a uniform column with two typos 10^4 too large (a 0.99 quantile lets one through), and a 0/1 flag
    that is mostly 0 (IQR 0)."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.uniform(0.1, 2.5, n), (rng.random(n) < 0.1).astype(float)])
    x[7, 0], x[42, 0] = 25_000.0, 16_000.0
    return x


def whiskers(col, k):
    """A box plot's whisker ends: the most extreme values inside [Q1 - k·IQR, Q3 + k·IQR]."""
    q1, q3 = np.percentile(col, [25, 75])
    inside = col[(col >= q1 - k * (q3 - q1)) & (col <= q3 + k * (q3 - q1))]
    return inside.min(), inside.max()


def test_the_quantile_clip_lets_the_second_typo_through_and_the_fences_do_not():
    x = two_typos()
    (lows, highs) = clip_bounds(x, quantiles=[0.01, 0.99], fences=None)
    assert highs[0] == 16_000.0  # one typo is the bound: scaled, it squashes the column to a thousandth
    (lows, highs) = clip_bounds(x, quantiles=[0.01, 0.99], fences=3.0)
    lo, hi = whiskers(x[:, 0], 3.0)
    assert highs[0] == hi == np.sort(x[:, 0])[-3] < 2.5  # the largest real value
    assert lows[0] == max(lo, np.quantile(x[:, 0], 0.01, method="higher"))  # the tighter of the two
    assert (lows[1], highs[1]) == (0.0, 1.0)  # IQR 0: its fences would clip every 1; the quantile bounds stay


def test_fences_alone_are_the_whisker_ends_and_a_wider_k_clips_less():
    x = two_typos()
    x[3, 0] = np.nan  # missing cells are left out of the quartiles
    lows, highs = clip_bounds(x, quantiles=None, fences=1.5)
    col = x[~np.isnan(x[:, 0]), 0]
    assert (lows[0], highs[0]) == whiskers(col, 1.5)
    assert (lows[1], highs[1]) == (0.0, 1.0)  # min and max where IQR is 0
    y = np.concatenate([np.linspace(0, 1, 98), [1.9, 2.6]])[:, None]  # 2.6 is past Q3 + 3·IQR, 1.9 is not
    assert clip_bounds(y, quantiles=None, fences=3.0)[1] == [1.9]
    assert clip_bounds(y, quantiles=None, fences=4.0)[1] == [2.6]


def test_prepare_with_fences_keeps_the_column_spread_that_one_surviving_typo_squashes():
    x = two_typos()
    ds = Dataset("t", x.astype(object), np.zeros(100, np.float32), "regression", "table", columns=["w", "flag"])
    idx = {"train": np.arange(100), "val": np.arange(0), "test": np.arange(0)}
    normal = np.setdiff1d(np.arange(100), [7, 42])
    off = prepare(ds, idx, cfg=DataConfig(clip_quantiles=[0.01, 0.99], clip_fences=None))
    on = prepare(ds, idx, cfg=DataConfig())  # the default: the same quantiles, and fences at k = 10
    assert off.x["train"][normal, 0].std() < 0.01  # the real values' spread, once scaled: gone
    assert on.x["train"][normal, 0].std() > 0.9
    assert on.state["table"]["options"]["clip_fences"] == 10.0
    again = TablePreprocessor.from_dict(on.state["table"])  # saved and read back as a run does
    np.testing.assert_allclose(again.transform(x.astype(object)), on.x["train"], rtol=1e-6)


@pytest.mark.parametrize("k", [0, -1.0, float("nan"), float("inf")])
def test_a_k_that_is_not_positive_and_finite_is_refused(k):
    with pytest.raises(UserError, match=r"data\.clip_fences must be (a positive k|a finite number|a number)"):
        fit.resolve(overrides={"data.clip_fences": k})


def test_the_note_and_the_report_name_both_rules():
    from idealfit.data.preprocess import clip_rule

    opts = {"clip_quantiles": [0.01, 0.99], "clip_fences": 3.0}
    assert clip_rule(opts) == "training quantiles [0.01, 0.99] and Tukey's fences (k = 3)"
    assert clip_rule(opts, keys=True) == "data.clip_quantiles, data.clip_fences"
    assert clip_rule({"clip_quantiles": [0.01, 0.99]}) == "training quantiles [0.01, 0.99]"  # a run from before
    assert clip_rule({"clip_quantiles": None, "clip_fences": 1.5}) == "Tukey's fences (k = 1.5)"
