"""Text beside table columns (data/text_table.py, models/rnn.TextTableNet), end to end on a real CSV.

The label needs both: the topic of the review (sport or food: only the text says it) and whether `price` is high
(only the number says it). Either alone reaches at most half the rows; the network that reads both, nearly all.
"""

import csv
import json

import numpy as np
import pytest
from csv_files import write_csv

from idealfit.cli import main
from idealfit.errors import UserError

SPORT = ["goal", "match", "team", "score", "referee", "league", "striker", "penalty"]
FOOD = ["bread", "cheese", "soup", "recipe", "oven", "butter", "garlic", "salad"]
HEADER = ("id", "review", "price", "shop", "label")


def _rows(n=240, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        topic, high = ["sport", "food"][i % 2], bool((i // 2) % 2)
        words = rng.choice(SPORT if topic == "sport" else FOOD, size=5)
        price = rng.uniform(60, 100) if high else rng.uniform(0, 40)
        # shop: a category with no signal (one-hot encoded); id: an identifier, left out
        rows.append([f"r{i}", "the " + " and ".join(words), f"{price:.2f}", "abc"[i % 3],
                     f"{topic}_{'high' if high else 'low'}"])
    return rows


def _write(path, rows, header=HEADER):
    return write_csv(path, header, rows)


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    data = _write(root / "shop.csv", _rows())
    out = root / "run"
    assert main(["train", "--data", str(data), "--target", "label", "--epochs", "25", "--out", str(out),
                 "--no-progress", "--seed", "0", "--set", "data.tokens=word", "--set", "model.hidden_size=16",
                 "--set", "model.embed_dim=8", "--set", "model.layers=1", "--set", "model.hidden=[16]",
                 "--set", "train.lr=0.01"]) == 0
    return root, out


def test_a_text_column_beside_numbers_and_categories_is_detected(tmp_path):
    from idealfit.config import DataConfig
    from idealfit.data.prepare import load_dataset

    data = _write(tmp_path / "d.csv", _rows(40))
    ds = load_dataset(DataConfig(name=str(data), target="label"))
    assert ds.kind == "text" and ds.columns == ["review", "price", "shop"]
    assert ds.meta["identifiers"] == ["id"] and "and the columns price, shop" in ds.meta["notes"][0]
    assert ds.x[0].tolist() == ["the " + _rows(40)[0][1][4:], float(_rows(40)[0][2]), "a"]
    # data.drop leaves a column out, data.columns keeps only those named
    assert load_dataset(DataConfig(name=str(data), target="label", drop=["shop"])).columns == ["review", "price"]
    assert load_dataset(DataConfig(name=str(data), target="label", columns=["review"])).columns == ["review"]


def test_two_free_text_columns_ask_which_one(tmp_path):
    from idealfit.data.files import load_csv

    rows = [r[:4] + [r[1][::-1]] + r[4:] for r in _rows(30)]
    data = _write(tmp_path / "two.csv", rows, header=("id", "review", "price", "shop", "backwards", "label"))
    with pytest.raises(UserError, match="columns 'review', 'backwards' all look like free text.*data.text_column=review"):
        load_csv(data, target="label", task=None)
    ds = load_csv(data, target="label", task=None, text_column="review", drop=["backwards"])
    assert ds.columns == ["review", "price", "shop"]


def test_a_numeric_target_beside_free_text_is_refused_not_read_as_classes(tmp_path, cli_error):
    rows = [r[:4] + [f"{float(r[2]) * 1.5 + i:.3f}"] for i, r in enumerate(_rows(60))]
    data = _write(tmp_path / "reg.csv", rows, header=("id", "review", "price", "shop", "cost"))
    cli_error(["train", "--data", str(data), "--target", "cost", "--out", str(tmp_path / "run")],
              "holds numbers (regression)", "data.drop=[review]")
    assert not (tmp_path / "run").exists()  # refused before any training


def test_the_table_preprocessing_is_fitted_on_the_training_rows_only(tmp_path):
    from idealfit.config import DataConfig
    from idealfit.data.prepare import load_dataset, prepare
    from idealfit.data.split import split_indices

    rows = _rows(60)
    rows[1][2] = ""  # a missing price: imputed with the training median
    ds = load_dataset(DataConfig(name=str(_write(tmp_path / "d.csv", rows)), target="label"))
    idx = split_indices(ds, val_fraction=0.2, test_fraction=0.2, seed=0)
    prep = prepare(ds, idx, cfg=DataConfig(tokens="word", clip_quantiles=None))
    table = prep.state["text"]["table"]
    price = ds.x.cols[1][idx["train"]]
    assert table["fill"] == [pytest.approx(np.nanmedian(price))]
    assert table["offsets"] == [pytest.approx(np.nanmean(np.where(np.isnan(price), np.nanmedian(price), price)))]
    assert table["categories"] == [["a", "b", "c"]]
    f = prep.state["norm"]["table_features"]
    assert f == 4  # price, shop=a, shop=b, shop=c
    n_ids = len(prep.state["text"]["itos"])
    for s in ("train", "val", "test"):
        x = prep.x[s]
        assert x.dtype == np.float32 and x.shape[1] == prep.state["input_shape"][0]
        assert np.all(x[:, f:] == np.round(x[:, f:])) and x[:, f:].max() < n_ids  # token ids, exact
    train_price = prep.x["train"][:, 0]
    assert train_price.mean() == pytest.approx(0, abs=1e-5)  # standardized with the training statistics


def test_table_options_apply_to_the_columns_beside_the_text(tmp_path):
    from idealfit.config import DataConfig
    from idealfit.data.prepare import load_dataset, prepare
    from idealfit.data.split import split_indices

    rows = _rows(60)
    rows[1][2] = ""
    data = _write(tmp_path / "d.csv", rows)
    ds = load_dataset(DataConfig(name=str(data), target="label"))
    idx = split_indices(ds, val_fraction=0.2, test_fraction=0.2, seed=0)
    dropped = prepare(ds, dict(idx), cfg=DataConfig(impute="drop", scale="minmax"))
    assert 1 not in np.concatenate([dropped.indices[s] for s in ("train", "val", "test")])
    assert dropped.state["text"]["table"]["options"]["scale"] == "minmax"
    pca = prepare(ds, dict(idx), cfg=DataConfig(pca=2))
    assert pca.state["norm"]["table_features"] == 2
    with pytest.raises(UserError, match="data.downsample works on images, signals and tables"):
        prepare(ds, dict(idx), cfg=DataConfig(downsample=2))


def test_the_network_uses_both_the_text_and_the_numbers(mixed_run):
    from idealfit.run import load_run

    _, out = mixed_run
    summary = json.loads((out / "summary.json").read_text())
    base = summary["baselines"]
    assert {"majority", "naive_bayes", "linear", "boosting"} <= set(base)
    assert base["linear"]["note"] == "on the table columns only (not the text)"
    # each baseline sees one half of the signal: about 50%, never near the network
    for key in ("naive_bayes", "linear", "boosting"):
        assert base[key]["test"]["accuracy"] <= 0.7, key
    assert summary["metrics"]["test"]["accuracy"] >= 0.85
    run = load_run(out)
    rows = [["the goal and the match", 90.0, "a"], ["the goal and the match", 10.0, "a"],
            ["garlic soup and bread", 90.0, "a"]]
    pred = [run.class_names[int(p.argmax())] for p in run.predict_array(rows)]
    assert pred == ["sport_high", "sport_low", "food_high"]  # the number moves it, and so does the text


def test_predict_on_a_csv_with_both_matches_predict_array(mixed_run, capsys, cli_error):
    from idealfit.run import load_run

    root, out = mixed_run
    run = load_run(out)
    # columns reordered, an extra one: matched by name
    path = _write(root / "new.csv", [["7.5", "b", "x1", "the goal and the match"], ["80", "c", "x2", "garlic soup"]],
                  header=("price", "shop", "extra", "review"))
    names, proba = run.predict(path)
    assert names == ["new.csv:2", "new.csv:3"]
    want = run.predict_array([["the goal and the match", 7.5, "b"], ["garlic soup", 80.0, "c"]])
    np.testing.assert_allclose(proba, want, atol=1e-6)
    assert main(["predict", str(out), str(path)]) == 0
    lines = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert [float(v) for v in lines[1][2:]] == pytest.approx(proba[0].tolist(), abs=1e-6)
    cli_error(["predict", str(out), "--text", "the goal"], "also reads the columns price, shop", "pass a CSV")
    _write(root / "short.csv", [["the goal", "1"]], header=("review", "price"))
    cli_error(["predict", str(out), str(root / "short.csv")], "lacks column 'shop'")


def test_the_mixed_run_reloads_and_evaluates_the_same(mixed_run):
    from idealfit.models.summary import count_params, summarize
    from idealfit.run import load_run

    _, out = mixed_run
    run = load_run(out)
    summary = json.loads((out / "summary.json").read_text())
    assert run.evaluate()["accuracy"] == pytest.approx(summary["metrics"]["test"]["accuracy"])
    assert f"{count_params(run.model):,}" in summarize(run.model, tuple(run.state["input_shape"]))
    model_txt = (out / "model.txt").read_text()
    assert "0.text.embed" in model_txt and "0.head.1         Linear        (16,)" in model_txt  # 16 + 4 features in


def test_the_reports_mistakes_show_the_table_cells_beside_the_text(mixed_run):
    from idealfit.report.examples import mistakes_html
    from idealfit.run import load_run

    root, out = mixed_run
    p = np.load(out / "predictions.npz")
    wrong = (p["y_true"] + 1) % 4  # every test row "mistaken", with certainty, to fill the table
    html = mistakes_html(out, p["y_true"], wrong, np.eye(4)[wrong], p["index"], load_run(out).class_names)
    assert "<th>top-3 probabilities</th><th>price</th><th>shop</th></tr>" in html
    row = int(p["index"][0])
    price, shop = _rows()[row][2:4]
    assert f"<td>{float(price):.4g}</td><td>{shop}</td></tr>" in html


def test_explain_on_csv_rows_labels_the_bars_by_column_and_leaves_the_tokens_out(mixed_run, capsys):
    """Each row explained; the bars name the table's features; the token ids, which have no gradient, are not
    drawn as 'feature 0…' at zero."""
    import torch

    from idealfit.explain.figures import saliency_figure
    from idealfit.explain.model import saliency
    from idealfit.explain.run_inputs import run_inputs
    from idealfit.run import load_run

    root, out = mixed_run
    rows = [["the goal and the match", f"{p}", "abc"[p % 3], "sport_low"] for p in range(10, 90, 8)]  # 10 rows
    path = _write(root / "explain.csv", rows, header=("review", "price", "shop", "label"))
    assert main(["explain", str(out), "--input", str(path), "--out", str(root / "ex")]) == 0
    said = capsys.readouterr().out
    assert "explaining the first 8 of 10 rows" in said and "the text column (review)" in said
    assert sorted(p.name for p in (root / "ex").glob("saliency_*.png")) == [f"saliency_{i}.png" for i in range(8)]
    run = load_run(out)
    x, names, features = run_inputs(run, [str(path)])
    assert names[:2] == ["explain.csv:2", "explain.csv:3"] and len(features) == x.shape[1]
    scored = [f for f in features if f is not None]
    assert "price" in scored and any(f.startswith("shop=") for f in scored)
    sal = saliency(run.model, x)
    assert torch.count_nonzero(sal[:, len(scored):]) == 0  # why the tokens are left out: their gradient is zero
    ax = saliency_figure(x[0], sal[0], feature_names=features).axes[0]
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == sorted(scored)


def test_predict_notes_unseen_words_and_the_table_columns_cells_as_a_table_run_does(mixed_run, tmp_path, capsys):
    from idealfit.data.input_notes import _number
    from idealfit.run import load_run

    root, out = mixed_run
    rows = [["n1", "the goal and the pizza, pizza", "50", "a"],  # 'pizza' and ',' are no training words
            ["n2", "garlic soup", "", "zzz"],  # a gap in price, a shop training never saw
            ["n3", "the match", "9000", "b"]]  # a price far past the training range
    odd = _write(tmp_path / "odd.csv", rows, header=("id", "review", "price", "shop"))
    capsys.readouterr()
    assert main(["predict", str(out), str(odd)]) == 0
    got = capsys.readouterr()
    high = json.loads((out / "preprocess.json").read_text())["text"]["table"]["clip"][1][0]  # price's upper bound
    assert 90 < high < 100
    assert got.err.strip().splitlines() == [
        "odd.csv: 2 words in 'review' not in the run's vocabulary, read as unknown (<unk>): 'pizza' (n1), ',' (n1)",
        "odd.csv: filled 1 missing cell as training did (numbers with the training medians, text as unknown): "
        "price (n2)",
        "odd.csv: 1 text value training never saw, treated as unknown: shop='zzz' (n2)",
        "odd.csv: clipped 1 value far outside the training range to its bounds (data.clip_quantiles, data.clip_fences): "
        f"price=9000 (n3) to {_number(high)}"]
    assert [r.split(",")[0] for r in got.out.splitlines()[1:]] == ["n1", "n2", "n3"]
    # predict_array says the same as warnings, for rows in the run's column order
    with pytest.warns(UserWarning) as caught:
        load_run(out).predict_array([[r[1], float(r[2]) if r[2] else None, r[3]] for r in rows])
    said = [str(w.message) for w in caught]
    assert len(said) == 4 and said[0].startswith("predict_array: 2 words in 'review'") and "price=9000 (row 2)" in said[3]
    # rows like training's: not a word
    plain = _write(tmp_path / "plain.csv", [["the goal and the match", "50", "a"]], header=("review", "price", "shop"))
    assert main(["predict", str(out), str(plain)]) == 0
    assert capsys.readouterr().err == ""
