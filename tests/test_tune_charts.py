"""The study report's SVG charts (tune_charts.py): each trial drawn where its values are, on the right axes."""

import math
import xml.etree.ElementTree as ET

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from idealfit.report.svg import MARGIN, PANEL_H
from idealfit.tune_charts import (
    history_chart,
    importance_chart,
    parallel_chart,
    parallel_coordinates,
    slice_chart,
    viridis,
)
from idealfit.tune_space import parse_space

NS = "{http://www.w3.org/2000/svg}"
SPACE = parse_space({"train.lr": {"log_uniform": [1e-3, 1e-1]}, "model.widths": {"choice": [[4], [4, 8], [8]]}})
DISTS = {"train.lr": FloatDistribution(1e-3, 1e-1, log=True),
         "model.widths": CategoricalDistribution(["[4]", "[4, 8]", "[8]"])}


def _study(rows, direction="minimize"):
    st = optuna.create_study(direction=direction)
    for lr, widths, value in rows:
        st.add_trial(optuna.trial.create_trial(params={"train.lr": lr, "model.widths": widths}, distributions=DISTS,
                                               value=value))
    return st


def _svg(doc):
    return ET.fromstring(doc)


def test_viridis_runs_from_dark_purple_to_yellow():
    assert viridis(0) == "#440154" and viridis(1) == "#fde725" and viridis(2) == viridis(1)
    assert viridis(0.5) == "#21908d"  # matplotlib's viridis(0.5) is #21918c: the table, rounded


def test_parallel_coordinates_put_each_trial_where_its_values_are_on_each_axis():
    st = _study([(1e-2, "[4, 8]", 0.5), (1e-3, "[8]", 0.9), (1e-1, "[4]", 0.7)])
    names, ys, vals, _ = parallel_coordinates(st, SPACE)
    assert names == ["train.lr", "model.widths"] and list(vals) == [0.5, 0.9, 0.7]
    # (lr on its log axis, widths among the three choices, value in its range), per trial
    assert [tuple(round(float(v), 6) for v in row) for row in ys] == [(0.5, 0.5, 0.0), (0.0, 1.0, 1.0), (1.0, 0.0, 0.5)]
    lines = _svg(parallel_chart(st, SPACE, "val_loss")).findall(f"{NS}polyline")
    assert len(lines) == 3
    best = lines[-1]  # drawn last, on top, in the colour of the best (lowest) value: yellow
    assert best.get("stroke") == "#fde725" and float(best.get("data-shade")) == 1.0
    ends = [float(line.get("points").split()[-1].split(",")[1]) for line in lines]
    assert ends[-1] > ends[0]  # its value sits lowest on the value axis (SVG's y grows downwards)
    assert parallel_chart(optuna.create_study(), SPACE, "val_loss") is None
    maximize = _svg(parallel_chart(_study([(1e-2, "[4]", 0.5), (1e-3, "[8]", 0.9)], "maximize"), SPACE, "val_acc"))
    assert maximize.findall(f"{NS}polyline")[-1].get("stroke") == "#fde725"


def test_the_history_has_a_tick_per_whole_trial_only_and_the_best_so_far():
    st = _study([(1e-2, "[4]", 0.5), (1e-3, "[8]", 0.3), (1e-1, "[4]", 0.4)])
    svg = _svg(history_chart(st, "val_loss"))
    row = PANEL_H - MARGIN[3] + 15  # the x tick labels' row (report/svg._frame)
    ticks = [t.text for t in svg.iter(f"{NS}text") if t.get("y") and math.isclose(float(t.get("y")), row)]
    assert ticks and all(float(t).is_integer() for t in ticks)
    best = svg.find(f"{NS}polyline[@class='best']")
    ys = [float(p.split(",")[1]) for p in best.get("points").split()]
    # 0.5 up to trial 1, where it steps to 0.3 and stays (trial 2's 0.4 is no better); a lower value has a larger y
    assert ys[0] == ys[1] < ys[2] == ys[3] == ys[4]
    assert len(svg.findall(f"{NS}circle")) == 3


def test_slices_draw_a_log_range_on_powers_of_ten_and_every_choice():
    st = _study([(1e-2, "[4, 8]", 0.5), (1e-3, "[8]", 0.9)])
    svg = _svg(slice_chart(st, SPACE, "val_loss"))
    panels = svg.findall(f"{NS}g")
    assert [p.get("data-param") for p in panels] == ["train.lr", "model.widths"]
    labels = [[t.text for t in p.iter(f"{NS}text")] for p in panels]
    assert {"0.001", "0.01", "0.1"} <= set(labels[0]) and {"[4]", "[4, 8]", "[8]"} <= set(labels[1])
    xs = [float(c.get("cx")) for c in panels[0].iter(f"{NS}circle")]
    lo, hi = (float(t.get("x")) for t in panels[0].iter(f"{NS}text") if t.text in ("0.001", "0.01"))
    assert xs[0] == pytest.approx(hi, abs=0.1) and xs[1] == pytest.approx(lo, abs=0.1)  # 1e-2 and 1e-3, on the log axis


def test_importance_bars_are_as_long_as_their_share():
    svg = _svg(importance_chart({"train.lr": 0.75, "model.widths": 0.25}))
    bars = {b.get("data-label"): float(b.get("width")) for b in svg.iter(f"{NS}rect") if b.get("class") == "bar"}
    assert bars["train.lr"] == pytest.approx(3 * bars["model.widths"], rel=0.01)
