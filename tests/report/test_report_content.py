"""The report for people, on real runs: per-class scores, ROC-AUC, intervals, confident mistakes,
column treatments and baselines, each checked against scikit-learn or a hand computation."""

import base64
import io
import json
import math
import re
import shutil
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

import idealfit
from idealfit.report.html import build_run_report
from idealfit.report.stats import bootstrap_rmse_interval

SVG = "{http://www.w3.org/2000/svg}"


def train(tmp_path_factory, data, **kw):
    out = tmp_path_factory.mktemp("runs") / "r"
    idealfit.train(data=data, epochs=2, verbose=False, out=out, set={"train.progress": False}, **kw)
    return out


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return train(tmp_path_factory, "digits")


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    """A table classification run from a CSV with a text column and missing cells."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("csv")
    lines = ["size,colour,weight,label"]
    for i in range(240):
        size = rng.normal()
        colour = ("red", "green", "blue")[i % 3]
        weight = "" if i % 17 == 0 else f"{rng.normal() + size:.3f}"
        lines.append(f"{size:.3f},{colour},{weight},{'big' if size + rng.normal(0, 0.7) > 0 else 'small'}")
    path = folder / "things.csv"
    path.write_text("\n".join(lines) + "\n")
    return train(tmp_path_factory, str(path), target="label"), path


def section(page, sid):
    return page[page.index(f'<section id="{sid}">') :].split("</section>")[0]


def table_numbers(html):
    """Rows of a table's numeric cells (th = row name), header row skipped."""
    rows = html.split("</tr>")[1:-1]
    return [[float(c.replace(",", "")) for c in re.findall(r"<td>([-\d.,]+)</td>", r)] for r in rows]


def test_per_class_scores_match_sklearn(digits):
    page = build_run_report(digits).read_text()
    pred = np.load(digits / "predictions.npz")
    p, r, f, support = precision_recall_fscore_support(pred["y_true"], pred["y_pred"], labels=np.arange(10),
                                                       zero_division=0)
    rows = table_numbers(section(page, "per-class"))
    assert len(rows) == 11  # 10 classes and the macro average
    np.testing.assert_allclose(np.array(rows[:10])[:, :3], np.stack([p, r, f], 1), atol=5e-4)
    np.testing.assert_array_equal(np.array(rows[:10])[:, 3], support)
    np.testing.assert_allclose(rows[10][:3], [p.mean(), r.mean(), f.mean()], atol=5e-4)


def test_a_class_without_test_samples_is_left_out_of_the_macro_average():
    from idealfit.report.sections import per_class_table

    y_true = np.array([0, 0, 1, 1, 1, 3])  # class 2 has no test samples, but is predicted once
    y_pred = np.array([0, 2, 1, 1, 0, 3])
    html = per_class_table(y_true, y_pred, ["a", "b", "c", "d"])
    rows = table_numbers(html)
    assert rows[2] == [0]  # c: n/a for precision, recall, F1; support 0
    assert "<th>c</th><td>n/a</td><td>n/a</td><td>n/a</td><td>0</td>" in html
    present = [0, 1, 3]  # the macro average over the classes with support, as scikit-learn's over those labels
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=present, zero_division=0)
    assert "macro average (3 of 4 classes)" in html
    np.testing.assert_allclose(rows[4][:3], [p.mean(), r.mean(), f.mean()], atol=5e-4)
    assert "c has no test samples: n/a, and left out of the macro average." in html
    whole = per_class_table(np.array([0, 1, 2]), np.array([0, 1, 1]), ["a", "b", "c"])  # every class present
    assert "<th>macro average</th>" in whole and "no test samples" not in whole and "n/a" not in whole


def test_test_size_and_wilson_interval(digits):
    page = build_run_report(digits).read_text()
    pred = np.load(digits / "predictions.npz")
    n, k = pred["y_true"].size, int(np.sum(pred["y_true"] == pred["y_pred"]))
    z = 1.959964  # Wilson by hand: (p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n)
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)
    assert f"<dt>test samples</dt><dd>{n:,}</dd>" in page
    assert f"<dt>test accuracy, 95% interval</dt><dd>{lo:.1%} – {hi:.1%}</dd>" in page
    assert f"<dt>test accuracy</dt><dd>{p:.1%}</dd>" in page


def test_most_confident_mistakes_show_the_right_images(digits):
    from idealfit.data.prepare import load_dataset
    from idealfit.run import load_config

    page = build_run_report(digits).read_text()
    pred = np.load(digits / "predictions.npz")
    wrong = np.flatnonzero(pred["y_true"] != pred["y_pred"])
    conf = pred["proba"][wrong, pred["y_pred"][wrong]]
    expected = wrong[np.argsort(-conf, kind="stable")][:8]
    body = section(page, "mistakes")
    thumbs = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="test example (\d+)"', body)
    assert len(thumbs) == min(8, wrong.size) > 0
    ds = load_dataset(load_config(digits).data)
    for (data, row), pos in zip(thumbs, expected, strict=True):
        assert int(row) == pred["index"][pos]
        shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"), dtype=float)
        original = ds.x[int(row), 0]  # (8, 8), scaled up to 72 px by whole pixels
        small = shown[:: shown.shape[0] // 8, :: shown.shape[1] // 8]
        span = original.max() - original.min()
        np.testing.assert_allclose(small / 255, (original - original.min()) / span, atol=1 / 255)
    names = json.loads((digits / "summary.json").read_text())["class_names"]
    first = expected[0]
    assert (f"true <b>{names[pred['y_true'][first]]}</b><br>predicted <b>{names[pred['y_pred'][first]]}</b>"
            in body)


def test_roc_auc_for_two_classes(tmp_path_factory):
    run = train(tmp_path_factory, "xo")
    page = build_run_report(run).read_text()
    pred = np.load(run / "predictions.npz")
    auc = roc_auc_score(pred["y_true"], pred["proba"][:, 1])
    body = section(page, "roc")
    assert f"ROC-AUC {auc:.3f}" in body
    svg = base64.b64decode(re.search(r'data:image/svg\+xml;base64,([^"]+)"', body).group(1))
    curve = ElementTree.fromstring(svg).find(f"{SVG}polyline[@data-label='ROC']")
    points = np.array([p.split(",") for p in curve.get("points").split()], dtype=float)
    assert np.all(np.diff(points[:, 0]) >= 0) and np.all(np.diff(points[:, 1]) <= 0)  # up and to the right


def test_regression_interval_and_columns(tmp_path_factory):
    run = train(tmp_path_factory, "diabetes")
    page = build_run_report(run).read_text()
    pred = np.load(run / "predictions.npz")
    lo, hi = bootstrap_rmse_interval(pred["y_true"], pred["y_pred"])
    assert f"<dt>test rmse, 95% interval</dt><dd>{lo:.4g} – {hi:.4g}</dd>" in page
    assert "bootstrap: 1000 resamples" in page
    columns = section(page, "columns")
    state = json.loads((run / "preprocess.json").read_text())["table"]
    (lows, highs), quantiles = state["clip"], state["options"]["clip_quantiles"]  # clipping is on by default
    fences = state["options"]["clip_fences"]
    for k, name in enumerate(state["columns"]):
        fill, mean, scale = state["fill"][k], state["offsets"][k], state["scales"][k]
        assert (f'<tr><th>{name}</th><td class="text">numeric</td><td class="text">clipped to '
                f"[{lows[k]:.4g}, {highs[k]:.4g}] (training quantiles {quantiles} and Tukey&#x27;s fences (k = {fences:g})); no missing values in training "
                f"(one at predict time would get {fill:.4g}, the training median); standardised: (x {'+' if mean < 0 else '−'} {abs(mean):.4g}) "
                f"/ {scale:.4g}</td></tr>"
                ) in columns
    assert "mistakes" not in page and 'id="roc"' not in page
    ratio = json.loads((run / "summary.json").read_text())["diagnosis"]["evidence"]["metric_ratio"]
    assert re.search(rf"Error ratio \(validation / training\)<br><code>metric_ratio</code></th><td>{ratio:.4g}</td>",
                     page)


def test_classification_evidence_has_no_empty_error_ratio(digits):
    page = build_run_report(digits).read_text()
    assert "<h3>Evidence</h3>" in page and "Score gap (training vs validation)" in page
    assert "Error ratio" not in page and "metric_ratio" not in page


def test_learning_curves_svg_draws_the_history(digits):
    page = build_run_report(digits).read_text()
    svg = base64.b64decode(re.search(r'data:image/svg\+xml;base64,([^"]+)"', section(page, "curves")).group(1))
    lines = ElementTree.fromstring(svg).findall(f"{SVG}polyline")
    rows = [r.split(",") for r in (digits / "metrics.csv").read_text().splitlines()]
    history = {name: [float(r[i]) for r in rows[1:]] for i, name in enumerate(rows[0])}
    expected = [history[c] for c in ("train_loss", "val_loss", "train_accuracy", "val_accuracy")]
    assert [ln.get("data-label") for ln in lines] == ["train", "validation"] * 2
    for line, values in zip(lines, expected, strict=True):
        pts = np.array([p.split(",") for p in line.get("points").split()], dtype=float)
        np.testing.assert_array_equal(np.diff(pts[:, 0]) > 0, True)  # one point per epoch, left to right
        # pixels are an affine, downward-growing map of the values: pixel = a + b * value, b < 0
        b, a = np.polyfit(values, pts[:, 1], 1)
        assert b < 0 and np.allclose(a + b * np.array(values), pts[:, 1], atol=0.02)


def test_table_mistakes_rows_columns_and_source_gone(csv_run):
    run, path = csv_run
    page = build_run_report(run).read_text()
    columns = section(page, "columns")
    assert "one-hot: 3 categories (blue, green, red)" in columns and "size" in columns and "weight" in columns
    # only the column with gaps in training says it was filled, with how many (every 17th weight is empty)
    state = json.loads((run / "preprocess.json").read_text())["table"]
    train_rows = np.load(run / "split.npz")["train"]
    gaps = int(np.sum(train_rows % 17 == 0))
    fill = state["fill"][state["numeric"].index(2)]  # weight: the third column
    weight_row = columns[columns.index("<th>weight</th>"):].split("</tr>")[0]
    size_row = columns[columns.index("<th>size</th>"):].split("</tr>")[0]
    assert f"{gaps:,} missing values filled with {fill:.4g} (the training median)" in weight_row
    assert "no missing values in training (one at predict time would get" in size_row and "filled" not in size_row
    pred = np.load(run / "predictions.npz")
    body = section(page, "mistakes")
    if np.any(pred["y_true"] != pred["y_pred"]):
        assert "<th>size</th><th>colour</th><th>weight</th>" in body
        rows = re.findall(r"<tr><th>things.csv:(\d+)</th>", body)  # named as predict names rows: file:line
        assert len(rows) == min(8, int(np.sum(pred["y_true"] != pred["y_pred"])))
        first = path.read_text().splitlines()[int(rows[0]) - 1].split(",")  # line 1 is the header
        assert f'<td>{float(first[0]):.4g}</td><td>{first[1]}</td>' in body
    path.unlink()  # the source is gone: the report still builds and says why the rows are missing
    body = section(build_run_report(run).read_text(), "mistakes")
    if np.any(pred["y_true"] != pred["y_pred"]):
        assert "could not be re-loaded" in body


def test_baselines_table_when_summary_has_them(digits, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(digits, run)
    summary = json.loads((run / "summary.json").read_text())
    summary["baselines"] = {"linear": {"val": {"accuracy": 0.95}, "test": {"accuracy": 0.9375}},
                            "majority": {"val": {"accuracy": 0.125}, "test": {"accuracy": 0.1}}}
    (run / "summary.json").write_text(json.dumps(summary))
    page = build_run_report(run).read_text()
    table = page[page.index('<table class="baselines">') :].split("</table>")[0]
    assert "<tr><th>linear</th><td>0.95</td><td>0.9375</td></tr>" in table
    assert "<tr><th>majority</th><td>0.125</td><td>0.1</td></tr>" in table
    net = summary["metrics"]
    assert (f'<tr class="key"><th>this network</th><td>{net["val"]["accuracy"]:.4g}</td>'
            f'<td>{net["test"]["accuracy"]:.4g}</td></tr>') in table
    real = build_run_report(digits).read_text()  # every run measures at least the majority class
    majority = json.loads((digits / "summary.json").read_text())["baselines"]["majority"]
    assert f'<tr><th>majority</th><td>{majority["val"]["accuracy"]:.4g}</td>' in real
    # an image run's linear model on principal components, and how it was fitted (its note)
    linear = json.loads((digits / "summary.json").read_text())["baselines"]["linear"]
    assert f"linear: a linear model ({linear['note']})" in real and "principal components" in linear["note"]
    del summary["baselines"]
    (run / "summary.json").write_text(json.dumps(summary))
    assert 'class="baselines"' not in build_run_report(run).read_text()


def test_table_mistakes_are_named_by_the_identifier_with_whole_numbers_and_missing_cells(tmp_path_factory):
    rng = np.random.default_rng(1)
    folder = tmp_path_factory.mktemp("ids")
    lines = ["customer,visits,note,size,code,label"]
    for i in range(200):
        size = rng.normal()
        note = "" if i % 5 == 0 else ("ok", "check")[i % 2]
        label = "big" if size + rng.normal(0, 1.5) > 0 else "small"  # noisy: some confident mistakes
        label = "NA" if i in (3, 150) else label  # unlabelled: left out before the split
        lines.append(f"C-{(i * 7919) % 100000:05d},{101600 + 37 * i},{note},{size:.3f},k{i % 150},{label}")
    path = folder / "ids.csv"
    path.write_text("\n".join(lines) + "\n")
    run = train(tmp_path_factory, str(path), target="label")
    pred = np.load(run / "predictions.npz")
    assert np.any(pred["y_true"] != pred["y_pred"])
    page = build_run_report(run).read_text()
    columns = section(page, "columns")  # which columns were treated how: the left-out ones and rows too
    assert "<th>customer</th><td class=\"text\">identifier</td>" in columns
    assert "<th>code</th><td class=\"text\">free text</td>" in columns
    assert "one-hot: 3 categories (missing, check, ok)" in columns  # the empty note cells: their own category
    assert "2 rows with no value in the target left out before the split (lines 5, 152)." in columns
    body = section(page, "mistakes")
    names = re.findall(r"<tr><th>(C-\d+)</th>", body)
    assert names, body
    by_id = {ln.split(",")[0]: ln.split(",") for ln in lines[1:]}
    for name in names:  # each row's cells are that customer's, from the file
        row = body[body.index(f"<th>{name}</th>"):].split("</tr>")[0]
        visits, note = by_id[name][1], by_id[name][2]
        assert f"<td>{visits}</td>" in row  # 101637, not 1.016e+05 nor 101,637
        assert (f"<td>{note}</td>" if note else "<td><i>missing</i></td>") in row
    assert "<i>missing</i>: an empty cell in the file" in body


def test_image_mistakes_name_their_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("imgs") / "data"
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 255, (8, 8)).astype(np.uint8)  # noise: the labels cannot be learned
            Image.fromarray(pixels, mode="L").save(root / name / f"{name[0]}{i}.png")
    run = train(tmp_path_factory, str(root))
    pred = np.load(run / "predictions.npz")
    body = section(build_run_report(run).read_text(), "mistakes")
    shown = re.findall(r'alt="([^"]+)" title="[^"]+"><figcaption><span class="file">([^<]+)</span>', body)
    assert len(shown) == min(8, int(np.sum(pred["y_true"] != pred["y_pred"]))) > 0
    for alt, caption in shown:
        assert alt == caption and re.fullmatch(r"(cats/c|dogs/d)\d+\.png", caption)
        assert (root / caption).is_file()
        assert f"{caption}</span><br>true <b>{caption.split('/')[0]}</b>" in body  # its folder is its true class
