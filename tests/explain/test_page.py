"""`idealfit explain --page` without a browser: the exported layers against torch, the fallback for layers
the page cannot run, the CLI's options and mistakes, and the report's link."""

import base64
import json
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import idealfit as fit
from idealfit.cli import main
from idealfit.explain.page import page_data
from idealfit.explain.page_layers import NotRunnable, page_layers
from idealfit.models.blocks import Normalize


def _f32(b64: str, shape) -> torch.Tensor:
    return torch.from_numpy(np.frombuffer(base64.b64decode(b64), dtype="<f4").copy()).double().reshape(shape)


def _trained_bn(bn: nn.Module) -> nn.Module:
    """Batch norm with non-trivial running statistics and affine parameters, in eval mode."""
    g = torch.Generator().manual_seed(0)
    n = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(n, generator=g))
        bn.running_var.copy_(torch.rand(n, generator=g) + 0.5)
        bn.weight.copy_(torch.randn(n, generator=g))
        bn.bias.copy_(torch.randn(n, generator=g))
    return bn.eval()


def test_batch_norm_folds_into_the_convolution_exactly():
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(3, 5, 3, stride=2, padding=1), _trained_bn(nn.BatchNorm2d(5))
    layer = page_layers(nn.Sequential(conv, bn))[0]
    assert layer["kind"] == "conv" and layer["bn"] and layer["stride"] == [2, 2] and layer["pad"] == [1, 1]
    x = torch.randn(2, 3, 9, 7)
    folded = F.conv2d(x.double(), _f32(layer["w"], layer["shape"]), _f32(layer["b"], [5]), stride=2, padding=1)
    with torch.no_grad():
        assert torch.allclose(folded, bn(conv(x)).double(), atol=1e-5)


def test_dense_with_batch_norm_and_conv1d_as_one_row():
    torch.manual_seed(1)
    lin, bn = nn.Linear(6, 4), _trained_bn(nn.BatchNorm1d(4))
    model = nn.Sequential(Normalize([0.5], [2.0]), nn.Conv1d(1, 2, 5, padding=2), nn.LeakyReLU(0.1),
                          nn.MaxPool1d(2), nn.Flatten(), nn.Dropout(0.5), lin, bn)
    layers = page_layers(model)
    kinds = [layer["kind"] for layer in layers]
    assert kinds == ["normalize", "conv", "leaky_relu", "maxpool", "flatten", "dense", "softmax"]
    conv, pool, dense = layers[1], layers[3], layers[5]
    assert conv["shape"] == [2, 1, 1, 5] and conv["pad"] == [0, 2] and pool["k"] == [1, 2]
    assert layers[2]["slope"] == pytest.approx(0.1)
    x = torch.randn(3, 6)
    y = x.double() @ _f32(dense["w"], dense["shape"]).T + _f32(dense["b"], [4])
    with torch.no_grad():
        assert torch.allclose(y, bn(lin(x)).double(), atol=1e-5)


@pytest.mark.parametrize(
    ("module", "why"),
    [(nn.GELU(), "GELU"), (nn.Conv2d(1, 2, 3, dilation=2), "dilation"), (nn.AvgPool2d(2, padding=1), "padding")],
)
def test_layers_the_page_cannot_run_are_named(module, why):
    with pytest.raises(NotRunnable, match=why):
        page_layers(nn.Sequential(module))


def test_unrunnable_model_falls_back_to_pytorchs_activations():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.GELU(), nn.Flatten(), nn.Linear(2 * 16, 3)).eval()
    x = np.random.default_rng(0).normal(size=(2, 1, 4, 4)).astype(np.float32)
    data = page_data(model, x, labels=["a", "b", "c"], examples=[{"name": "e0"}, {"name": "e1"}],
                     draw={"background": 0, "ink": 1}, title="t")
    assert data["layers"] is None and "GELU" in data["why"] and data["draw"] is None
    names = [c["kind"] for c in data["columns"]]
    assert names == ["Conv2d", "GELU", "Flatten", "Linear", "softmax"]
    with torch.no_grad():
        want = torch.softmax(model(torch.from_numpy(x)), dim=1).double()
    got = _f32(data["examples"][1]["acts"][-1], [3])
    assert torch.allclose(got, want[1], atol=1e-6)
    assert data["examples"][1]["probs"] == pytest.approx(want[1].tolist())


def test_recorded_activations_are_capped(monkeypatch):
    import idealfit.explain.page as page

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.GELU(), nn.Flatten(), nn.Linear(2 * 4, 2))
    x = np.zeros((3, 1, 4, 4), dtype=np.float32)
    examples = [{"name": f"e{i}"} for i in range(3)]
    assert len(page_data(model, x, labels=["a", "b"], examples=examples, draw=None, title="t")["examples"]) == 3
    monkeypatch.setattr(page, "RECORDED_BUDGET", 200)  # one example: 8 + 8 + 8 + 2 floats, 139 base64 bytes
    data = page_data(model, x, labels=["a", "b"], examples=examples, draw=None, title="t")
    assert [e["name"] for e in data["examples"]] == ["e0"] and "1 of 3 shown" in data["note"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return fit.train(data="digits", epochs=1, out=tmp_path_factory.mktemp("r") / "run", verbose=False,
                     set={"train.progress": False, "model.widths": [4], "model.hidden": [8]})


def _page_json(path) -> dict:
    html = path.read_text()
    blob = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(blob)


def test_run_page_writes_an_offline_file_and_links_it_from_the_report(tiny_run, tmp_path, capsys):
    report = (tiny_run.dir / "report.html").read_text()
    assert "--page</code> to write explain.html" in report and 'href="explain.html"' not in report
    img = tmp_path / "mine.png"
    from PIL import Image

    Image.fromarray(np.eye(8, dtype=np.uint8) * 255).save(img)
    assert main(["explain", str(tiny_run.dir), "--page", "--input", str(img)]) == 0
    out = capsys.readouterr().out
    assert "explain.html" in out and "its own forward pass" in out
    data = _page_json(tiny_run.dir / "explain.html")
    assert data["examples"][0] == {**data["examples"][0], "name": "mine.png", "group": "yours", "true": None}
    groups = {e["group"] for e in data["examples"][1:]}
    assert groups <= {"correct", "wrong"} and "correct" in groups
    assert data["draw"]["ink"] > data["draw"]["background"]  # digits: dark background, bright ink
    assert data["labels"] == [str(k) for k in range(10)]
    assert 'href="explain.html"' in (tiny_run.dir / "report.html").read_text()
    # --out elsewhere: the page is written there and the report keeps its link to the run's own page
    assert main(["explain", str(tiny_run.dir), "--page", "--out", str(tmp_path / "pages")]) == 0
    assert (tmp_path / "pages" / "explain.html").is_file()


def test_conv_page_carries_the_decks_filters(tmp_path, capsys):
    out = tmp_path / "deck.html"
    assert main(["explain", "conv", "--page", "--out", str(out)]) == 0
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1 and said[0].startswith(f"wrote {out}") and "filters f_i0, f_i1, f_2" in said[0]
    data = _page_json(out)
    assert data["filter_names"] == ["f_i0", "f_i1", "f_2"]
    conv = data["layers"][0]
    w = _f32(conv["w"], conv["shape"])
    assert w[2, 0].tolist() == [[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]]  # the deck's f_2
    x = _f32(data["examples"][0]["x"], [1, 5, 5])
    assert x[0, 0].tolist() == [-1, -1, -1, 1, -1]  # the deck's image, row 0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["explain", "conv", "--page", "--filter", "f_i0", "--filter", "1,2;3,4"], "same size"),
        (["explain", "conv", "--page", "--out", "x.png"], ".html"),
        (["explain", "kernels", "--page"], "--page does not apply"),
    ],
)
def test_page_mistakes_are_one_line(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and words in err and out == ""  # said before any output
    assert list(tmp_path.iterdir()) == []


def test_page_refuses_a_regression_run(tmp_path, capsys):
    rows = ["a,b,y"] + [f"{i % 7},{i % 5},{i * 0.5}" for i in range(60)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    run = fit.train(data=str(tmp_path / "t.csv"), target="y", epochs=1, out=tmp_path / "run", verbose=False,
                    set={"train.progress": False})
    assert main(["explain", str(run.dir), "--page"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "classifier of images or signals" in err[0]
    assert not (run.dir / "explain.html").exists()


def test_a_forecasting_run_is_refused_with_what_shows_it_instead(tmp_path, cli_error):
    run = fit.train(data="sunspots", epochs=1, out=tmp_path / "run", verbose=False, set={"train.progress": False})
    line = cli_error(["explain", str(run.dir), "--page"], "forecasting run on series data", "report.html")
    assert "--input" not in line  # explain --input cannot show a forecaster either: not suggested
    (tmp_path / "recent.csv").write_text("x\n1\n")
    line = cli_error(["explain", str(run.dir), "--input", str(tmp_path / "recent.csv")], "is a forecasting run",
                     "idealfit predict RUN recent.csv")
    assert "reconstruction" not in line
    assert not (run.dir / "explain.html").exists() and not (run.dir / "explain").exists()


def test_a_run_whose_image_folder_is_gone_shows_the_users_own_inputs(tmp_path, capsys):
    import shutil

    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / "pics" / cls).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(np.full((6, 6), 40 + 150 * (cls == "b") + i, dtype=np.uint8)).save(
                tmp_path / "pics" / cls / f"{i}.png")
    run = fit.train(data=str(tmp_path / "pics"), epochs=1, out=tmp_path / "run", verbose=False,
                    set={"train.progress": False, "model.widths": [2], "model.hidden": [4]})
    keep = tmp_path / "mine.png"
    shutil.copy(tmp_path / "pics" / "b" / "0.png", keep)
    shutil.rmtree(tmp_path / "pics")
    assert main(["explain", str(run.dir), "--page"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no longer exists" in err[0] and "--input" in err[0]
    assert main(["explain", str(run.dir), "--page", "--input", str(keep)]) == 0
    data = _page_json(run.dir / "explain.html")
    assert [e["name"] for e in data["examples"]] == ["mine.png"] and data["draw"] is not None


def test_the_note_gives_the_test_accuracy_and_the_gallerys_own_count(tiny_run):
    """The accuracy is over every scored test example (the run's test accuracy), and the gallery's right and
    wrong are counted from the examples it shows (newcomer 2: 'accuracy on them 0.722' was 0.667 there)."""
    from idealfit.explain.page import run_page
    from idealfit.run import load_run

    run = load_run(tiny_run.dir)
    _, data = run_page(run)
    m = re.fullmatch(r"accuracy (\S+) on all (\d+) test examples \((\d+) right\); shown: (\d+) of them, "
                     r"(\d+) right and (\d+) wrong", data["note"])
    assert m, data["note"]
    acc, n, n_right, shown, shown_right, shown_wrong = float(m[1]), *map(int, m.groups()[1:])
    assert acc == pytest.approx(run.summary["metrics"]["test"]["accuracy"], abs=5e-4) and n_right == round(acc * n)
    right = [int(np.argmax(e["probs"]) == e["true"]) for e in data["examples"]]
    assert shown == len(right) and shown_right == sum(right) and shown_wrong == len(right) - sum(right)
    assert 0 < shown_wrong and shown_right / shown != pytest.approx(acc, abs=1e-3)  # two different numbers


def test_a_big_page_says_what_makes_it_big(tiny_run, capsys, monkeypatch):
    import idealfit.explain.page_size as page_size

    assert main(["explain", str(tiny_run.dir), "--page"]) == 0
    assert "note:" not in capsys.readouterr().out  # the digits page is far below 2 MB
    monkeypatch.setattr(page_size, "NOTE_ABOVE", 1000)
    assert main(["explain", str(tiny_run.dir), "--page"]) == 0
    lines = capsys.readouterr().out.splitlines()
    note = [line for line in lines if line.startswith("note: the page is")]
    assert len(note) == 1 and "example inputs" in note[0] and "weights (float32)" in note[0], lines


def test_the_note_says_when_only_the_first_test_examples_were_scored():
    from idealfit.explain.page import _gallery_note

    probs, y = np.eye(3)[[0, 1, 2, 0]], np.array([0, 1, 1, 1])
    assert _gallery_note(probs, y, [(0, "correct"), (2, "wrong")], n_test=4) == \
        "accuracy 0.500 on all 4 test examples (2 right); shown: 2 of them, 1 right and 1 wrong"
    assert _gallery_note(probs, y, [(1, "correct")], n_test=1797).startswith(
        "accuracy 0.500 on the first 4 of 1797 test examples (2 right); shown: 1 of them, 1 right and 0 wrong")


def test_the_gallery_takes_correct_examples_in_turns_over_the_classes():
    # newcomer R5: xo's gallery showed 9 correct X's and 1 correct O, the slots after one per class going by
    # confidence alone; now in turns (each class's surest first), then the most confidently wrong
    from idealfit.explain.page import GALLERY_CORRECT, GALLERY_WRONG, _gallery

    rng = np.random.default_rng(0)
    y = np.array([0] * 40 + [1] * 40 + [1] * 10)  # the last 10 are O's read as X: wrong
    conf = rng.uniform(0.5, 1.0, len(y))
    conf[:40] += 1.0  # every X surer than every O: confidence alone fills the gallery with X's
    pred = np.r_[np.zeros(40), np.ones(40), np.zeros(10)].astype(int)
    probs = np.zeros((len(y), 2))
    probs[np.arange(len(y)), pred] = conf
    probs[np.arange(len(y)), 1 - pred] = 0.1
    chosen = _gallery(probs, y)
    right = [i for i, g in chosen if g == "correct"]
    assert len(right) == GALLERY_CORRECT and [int(y[i]) for i in right] == [0, 1] * (GALLERY_CORRECT // 2)
    for cls in (0, 1):  # each class's own most confident ones, in order
        mine = [i for i in right if y[i] == cls]
        assert mine == sorted((i for i in range(80) if y[i] == cls), key=lambda i: -conf[i])[:len(mine)]
    wrong = [i for i, g in chosen if g == "wrong"]
    assert wrong == sorted(range(80, 90), key=lambda i: -conf[i])[:GALLERY_WRONG]


def test_the_note_counts_your_own_examples_apart():
    # newcomer R3: with --input digit0.png wide.png the header said "shown: 14 of them" while 16 were shown
    from idealfit.explain.page import _gallery_note

    probs, y = np.eye(3)[[0, 1, 2, 0]], np.array([0, 1, 1, 1])
    assert _gallery_note(probs, y, [(0, "correct"), (2, "wrong")], n_test=4, yours=2) == \
        "accuracy 0.500 on all 4 test examples (2 right); shown: your 2 examples first, then 2 of them, 1 right and 1 wrong"


def test_the_canvas_settings_carry_the_inputs_range():
    # a grey-photo run: background mid-grey, ink bright; the canvas maps black..white onto lo..hi (newcomer R4)
    from idealfit.explain.page import _draw_settings

    x = np.full((3, 1, 10, 10), 0.431, dtype=np.float32)
    x[:, :, 3:7, 3:7] = 0.92
    x[0, 0, 5, 5] = 0.004
    draw = _draw_settings(x)
    assert draw == pytest.approx({"background": 0.431, "ink": 0.92, "lo": 0.004, "hi": 0.92})
