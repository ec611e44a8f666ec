"""The hand-written SVG charts: well-formed documents whose pixels are an affine map of the data."""

import math
from xml.etree import ElementTree

import numpy as np

from idealfit.report.svg import line_panels, nice_ticks, roc_chart, scatter_identity

SVG = "{http://www.w3.org/2000/svg}"


def test_nice_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(3.0, 97.0) == [20.0, 40.0, 60.0, 80.0]
    assert nice_ticks(2.0, 2.0) == [1.6, 1.8, 2.0, 2.2, 2.4]  # a flat series still gets an axis
    assert nice_ticks(math.nan, 1.0) == []


def test_scatter_skips_non_finite_points():
    doc = ElementTree.fromstring(scatter_identity([0.0, 1.0, np.nan, 3.0], [0.5, np.inf, 2.0, 2.5],
                                                  title="t <x>", xlabel="true", ylabel="predicted"))
    path = doc.find(f"{SVG}path[@class='points']").get("d")
    assert path.count("M") == 2 and "nan" not in path and "inf" not in path  # (0, 0.5) and (3, 2.5)
    assert doc.find(f"{SVG}text[@font-weight='600']").text == "t <x>"  # escaped in the file, text when parsed


def test_line_panels_skip_nan_and_mark_the_best_epoch():
    doc = ElementTree.fromstring(line_panels([("loss", {"train": ([1, 2, 3], [math.nan, 1.0, 0.5]),
                                                        "validation": ((), ())})], xlabel="epoch",
                                             vline=(2, "best epoch (2)")))
    (line,) = doc.findall(f"{SVG}polyline")  # the empty validation series draws nothing
    assert len(line.get("points").split()) == 2
    vline = doc.find(f"{SVG}line[@class='vline']")
    x_at_2 = float(line.get("points").split()[0].split(",")[0])
    assert float(vline.get("x1")) == x_at_2


def test_roc_chart_is_well_formed():
    doc = ElementTree.fromstring(roc_chart([0.0, 0.5, 1.0], [0.0, 1.0, 1.0], auc=0.75))
    assert doc.get("aria-label") == "ROC curve"
    assert any((t.text or "").startswith("ROC curve (AUC 0.750)") for t in doc.iter(f"{SVG}text"))
