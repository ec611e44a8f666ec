"""`idealfit export` of the sequence runs (issue 11): the rnn family over signals, text (token ids), text beside
table columns, and forecasting. For each, onnxruntime gives what predict gives, within 1e-5, on the run's own
inputs and on random model-ready ones, at batch 1 and 5. (tests/test_export.py covers the other families.)"""

import csv
import json

import numpy as np
import pytest

import idealfit as fit
from idealfit.cli import main
from idealfit.export import graph_input, random_inputs

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

TINY = {"model.hidden_size": 6, "model.hidden": [8], "train.batch_size": 32, "train.progress": False}


def _text_csv(path, n=60, table=False):
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["review", "price", "shop", "label"] if table else ["review", "label"])
        for i in range(n):
            words = " ".join(rng.choice(["goal", "match", "team"] if i % 2 else ["soup", "bread", "oven"], size=4))
            row = [f"the {words}", f"{rng.uniform(0, 100):.1f}", "ab"[i % 2 * (i % 3 > 0)], "xy"[i % 2]]
            w.writerow(row if table else [row[0], row[3]])
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{name: (run, raw inputs for predict)}: one 1-epoch run of each."""
    root = tmp_path_factory.mktemp("export-seq")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 2, 12)).astype(np.float32)
    signals = fit.train(data=(x, (x[:, 0].mean(1) > 0).astype(np.int64)), model="rnn", epochs=1, verbose=False,
                        out=root / "rnn", set={**TINY, "model.layers": 2, "model.bidirectional": True})
    np.savez(root / "signals.npz", x=x[:5])
    text = fit.train(data=str(_text_csv(root / "text.csv")), target="label", epochs=1, verbose=False,
                     out=root / "text", set={**TINY, "model.embed_dim": 4, "model.cell": "lstm", "data.max_length": 24})
    mixed = fit.train(data=str(_text_csv(root / "mixed.csv", table=True)), target="label", epochs=1, verbose=False,
                      out=root / "mixed", set={**TINY, "model.embed_dim": 4, "data.tokens": "word", "data.max_length": 8,
                                               "model.bidirectional": True})
    t = np.arange(120)
    with (root / "series.csv").open("w") as fh:
        fh.write("t,y\n" + "".join(f"{i},{np.sin(i / 4) + 0.01 * i:.4f}\n" for i in t))
    series = fit.train(data=str(root / "series.csv"), target="y", task="forecasting", model="rnn", epochs=1,
                       verbose=False, out=root / "series", set={**TINY, "data.window": 8, "data.horizon": 3})
    # the rnn on the series (its linear path at the AR fit, the series default), and on its differences
    differenced = fit.train(data=str(root / "series.csv"), target="y", task="forecasting", model="rnn", epochs=1,
                            verbose=False, out=root / "differenced",
                            set={**TINY, "data.window": 8, "data.horizon": 3, "data.difference": True})
    return {"rnn": (signals, root / "signals.npz"), "text": (text, root / "text.csv"),
            "mixed": (mixed, root / "mixed.csv"), "series": (series, None), "differenced": (differenced, None)}


@pytest.mark.parametrize("name", ["rnn", "text", "mixed", "series", "differenced"])
def test_onnxruntime_gives_predicts_numbers(runs, name, tmp_path):
    run, raw = runs[name]
    res = run.export_onnx(tmp_path / "m.onnx", echo=lambda s: None)
    assert res.max_abs_diff < 1e-5 and res.checked_on.endswith("test samples")
    spec = json.loads((tmp_path / "m.onnx.json").read_text())
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert spec["input"]["shape"][0] == "batch"
    noise = random_inputs(run.state, 5, seed=1)  # any model-ready input (text: random ids of random lengths)
    assert spec["input"]["dtype"] == noise.dtype.name == ("int64" if name == "text" else "float32")
    if name in ("text", "mixed"):  # an empty text (a missing cell): ids all <pad>, read as one <pad> step
        noise[0, noise.shape[1] - int(run.state["text"]["max_length"]):] = 0
    for batch in (noise[:1], noise):
        got = session.run(None, {"x": batch})[0]
        np.testing.assert_allclose(got, run._predict_ready(batch), rtol=1e-5, atol=1e-5)
    if raw is not None:  # the run's own raw inputs, preprocessed as predict does, padded as the spec says
        names, want = run.predict(raw)
        got = session.run(None, {"x": graph_input(run.state, run.load_inputs(raw).numpy())})[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if name == "text":
        assert spec["input"]["shape"] == ["batch", 24]
        assert any("<unk>, id 1" in s for s in spec["preprocessing"])
    if name == "mixed":
        f = run.state["norm"]["table_features"]
        assert spec["input"]["shape"] == ["batch", f + 8]
        assert any("price, shop" in s and "text.table" in s for s in spec["preprocessing"])
    if name in ("series", "differenced"):
        assert spec["outputs"]["forecast"]["shape"] == ["batch", 3]
        assert "standardize each column" in spec["preprocessing"][1]


def test_export_of_a_text_run_through_the_cli(runs, tmp_path, capsys):
    run, raw = runs["mixed"]
    assert main(["export", str(run.dir), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert "onnxruntime matches predict on" in capsys.readouterr().out
    assert (tmp_path / "m.onnx.json").exists()
