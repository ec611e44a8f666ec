"""The explainer page in a real headless Chromium: it loads without console errors, its own forward pass
matches PyTorch, a clicked feature map's window arithmetic sums to the map's value, drawing changes the
probabilities. (The browser fixture is in conftest.py.)"""

import base64
import re

import numpy as np
import pytest
import torch
from PIL import Image

import idealfit as fit
from idealfit.cli import main
from idealfit.explain.conv import DECK_FILTERS, DECK_QUOTED

READY = "document.getElementById('selfcheck').dataset.status !== undefined"


@pytest.fixture(scope="module")
def digits_page(tmp_path_factory):
    """The default digits CNN (its architecture: widths [32, 64], batch norm, dense 128), trained 2 epochs."""
    run = fit.train(data="digits", epochs=2, out=tmp_path_factory.mktemp("d") / "run",
                    set={"train.progress": False}, verbose=False)
    assert main(["explain", str(run.dir), "--page"]) == 0
    return run.dir / "explain.html"


@pytest.fixture(scope="module")
def folder_page(tmp_path_factory):
    """A CNN trained on an image folder of RGB pictures: bright squares against bright discs."""
    root = tmp_path_factory.mktemp("f")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:12, :12]
    for cls in ("disc", "square"):
        (root / "pics" / cls).mkdir(parents=True)
        for i in range(20):
            c = rng.integers(4, 8, size=2)
            mask = (np.abs(yy - c[0]) <= 3) & (np.abs(xx - c[1]) <= 3) if cls == "square" else (
                (yy - c[0]) ** 2 + (xx - c[1]) ** 2 <= 9)
            img = rng.integers(0, 60, size=(12, 12, 3)) + mask[..., None] * rng.integers(120, 190, size=3)
            Image.fromarray(img.astype(np.uint8)).save(root / "pics" / cls / f"{i}.png")
    run = fit.train(data=str(root / "pics"), epochs=2, out=root / "run", verbose=False,
                    set={"train.progress": False, "model.widths": [4, 8], "model.hidden": [16]})
    assert main(["explain", str(run.dir), "--page"]) == 0
    return run.dir / "explain.html"


def _self_check(page) -> float:
    assert page.js("document.getElementById('selfcheck').dataset.status") == "ok"
    return float(page.js("document.getElementById('selfcheck').dataset.maxdiff"))


def _centre(page, selector):
    """The viewport point at the middle of the element (scrolled into view first), to click like a user."""
    return page.js(f"(() => {{ const e = document.querySelector({selector!r}); e.scrollIntoView({{block: 'center'}}); "
                   "const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")


def test_digits_page_matches_pytorch_and_is_small(browser, digits_page):
    assert digits_page.stat().st_size < 2_000_000
    html = digits_page.read_text()
    assert "http://" not in html and "https://" not in html and "<script src" not in html  # offline
    page = browser(digits_page.as_uri(), ready=READY)
    assert _self_check(page) <= 1e-4
    assert page.errors == []
    # input, normalize, conv, relu, pool, conv, relu, pool, flatten, dense, relu, dense, softmax
    kinds = page.js("[...document.querySelectorAll('#overview .col h3')].map(h => h.textContent)")
    assert len(kinds) == 13 and "conv + batch norm (folded)" in kinds[2] and kinds[-1].endswith("softmax")
    assert page.js("document.querySelectorAll('.thumb.correct').length") == 10


def test_folder_page_matches_pytorch(browser, folder_page):
    page = browser(folder_page.as_uri(), ready=READY)
    assert _self_check(page) <= 1e-4
    assert page.errors == []
    assert page.js("document.getElementById('draw')") is None  # RGB: no drawing canvas
    assert page.js("document.querySelectorAll('#overview .col')[2].querySelectorAll('canvas').length") == 4


def _window_sum(page):
    return page.js("(() => { let s = 0; document.querySelectorAll('#detail td.prod').forEach(td => "
                   "{ s += Number(td.dataset.v); }); return [s, Number(document.getElementById('calc-bias')"
                   ".dataset.v), Number(document.getElementById('calc-activation').dataset.v), "
                   "document.querySelectorAll('#detail td.prod').length]; })()")


def test_clicking_a_feature_map_shows_window_arithmetic(browser, digits_page):
    page = browser(digits_page.as_uri(), ready=READY)
    # the second conv layer (32 input channels): its 3x3x32 products plus the bias give the map's value
    x, y = _centre(page, "#overview .col:nth-child(6) canvas.map:nth-child(5)")
    page.click(x, y)
    products, bias, shown, n = _window_sum(page)
    assert n == 3 * 3 * 32
    assert products + bias == pytest.approx(shown, abs=1e-9)
    assert shown == pytest.approx(float(page.js("Number(document.getElementById('calc-value').dataset.v)")))
    # stepping moves the window: a new value, still the sum of its products
    before = shown
    page.click(*_centre(page, "#step-next"))
    products, bias, shown, _ = _window_sum(page)
    assert products + bias == pytest.approx(shown, abs=1e-9)
    assert shown != before
    # a pooling map shows the winning window maximum
    page.click(*_centre(page, "#overview .col:nth-child(5) canvas.map"))
    win = page.js("[...document.querySelectorAll('#detail td.win')].map(td => Number(td.dataset.v))")
    assert win and max(win) == pytest.approx(page.js("Number(document.getElementById('calc-activation').dataset.v)"))
    # a dense unit (the logits, column 12): sum of W x over its 128 inputs plus b is the value it shows
    page.click(*_centre(page, "#overview .col:nth-child(12) canvas.map"))
    total, bias, shown = page.js("['calc-sum', 'calc-bias', 'calc-activation'].map(i => "
                                 "Number(document.getElementById(i).dataset.v))")
    assert total + bias == pytest.approx(shown, abs=1e-9) and "over 128 inputs" in page.js(
        "document.querySelector('#detail p').textContent")
    # the softmax: e^{y_i} / sum_j e^{y_j}, computed from the logits, equals the page's probabilities
    page.click(*_centre(page, "#overview .col:last-child .prob"))
    rows = page.js("[...document.querySelectorAll('#detail table.soft tr')].slice(1).map(tr => "
                   "[...tr.querySelectorAll('td')].slice(1).map(td => Number(td.dataset.v)))")
    assert len(rows) == 10
    total = sum(np.exp(r[0]) for r in rows)
    for y_i, e_i, p_i, page_p in rows:
        assert e_i == pytest.approx(np.exp(y_i)) and p_i == pytest.approx(np.exp(y_i) / total)
        assert page_p == pytest.approx(p_i, abs=1e-12)
    assert page.errors == []


def test_drawing_changes_the_probabilities(browser, digits_page):
    page = browser(digits_page.as_uri(), ready=READY)
    probs = "[...document.querySelectorAll('#overview .prob')].map(r => Number(r.dataset.p))"
    before = page.js(probs)
    r = page.js("(() => { const e = document.getElementById('draw'); e.scrollIntoView({block: 'center'}); "
                "const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()")
    # a "1": a stroke down the middle of the canvas
    page.drag([(r[0] + r[2] * 0.5, r[1] + r[3] * f) for f in np.linspace(0.1, 0.9, 12)])
    page.js("new Promise(res => requestAnimationFrame(() => requestAnimationFrame(res)))")
    after = page.js(probs)
    assert len(after) == 10 and sum(after) == pytest.approx(1.0)
    assert max(abs(a - b) for a, b in zip(after, before, strict=True)) > 1e-3
    assert page.errors == []


def _windows(page, selector, n):
    """Click the map at `selector`, then step through n windows: {(p, q): value the arithmetic gives}."""
    page.click(*_centre(page, selector))
    seen = {}
    for _ in range(n):
        text = page.js("document.querySelector('#detail p').textContent")
        p, q = map(int, re.search(r"= \((\d+), (\d+)\) of", text).groups())
        products, bias, shown, _ = _window_sum(page)
        assert products + bias == pytest.approx(shown, abs=1e-9)
        seen[(p, q)] = page.js("Number(document.getElementById('calc-value').dataset.v)")
        page.click(*_centre(page, "#step-next"))
    return seen


def test_deck_page_shows_the_courses_numbers(browser, tmp_path):
    assert main(["explain", "conv", "--page", "--out", str(tmp_path)]) == 0
    page = browser((tmp_path / "explain-conv.html").as_uri(), ready=READY)
    assert _self_check(page) <= 1e-4
    for k, name in enumerate(DECK_FILTERS, start=1):  # each filter's map: every window the deck quotes
        seen = _windows(page, f"#overview .col:nth-child(2) canvas.map:nth-child({k})", 9)
        assert len(seen) == 9 and name in page.js("document.querySelector('#detail p').textContent")
        for pq, value in DECK_QUOTED[name].items():
            assert seen[pq] == value, (name, pq)
    assert "on 1 example against" in page.js("document.querySelector('#selfcheck').textContent")
    # a small map's numbers fit their cells: the widest forms the 2 significant digits take, in the page's font
    widest = page.js("(() => { const c = document.createElement('canvas').getContext('2d'); c.font = '9px monospace';"
                     " return Math.max(...[-0.074, 0.082, -0.74, -12, -150, -9999, 0.0042, -0.0011, 0.0004, -123456]"
                     ".map(v => c.measureText(cellText(v)).width)); })()")
    cell = page.js("(() => { const m = document.querySelector('#overview .col:nth-child(2) canvas.map');"
                   " return m.getBoundingClientRect().width / 3; })()")  # the 3x3 map drawn as cells
    assert widest < cell - 2
    assert page.errors == []


def test_deck_page_with_stride_and_padding_shows_the_padded_window(browser, tmp_path):
    out = tmp_path / "s2.html"
    assert main(["explain", "conv", "--page", "--stride", "2", "--padding", "1", "--out", str(out)]) == 0
    page = browser(out.as_uri(), ready=READY)
    assert _self_check(page) <= 1e-4
    seen = _windows(page, "#overview .col:nth-child(2) canvas.map", 9)  # 5x5, padding 1, stride 2: 3x3
    assert sorted(seen) == [(p, q) for p in range(3) for q in range(3)]
    page.click(*_centre(page, "#overview .col:nth-child(2) canvas.map"))  # the middle window (1, 1)
    page.click(*_centre(page, "#step-prev"))  # (1, 0): its left column is padding
    text = page.js("document.querySelector('#detail p').textContent")
    assert "stride 2" in text and "zero padding 1" in text and "(1, 0)" in text
    assert page.js("document.querySelectorAll('#detail table.x td.pad').length") == 3
    assert page.js("document.querySelectorAll('#detail table.grid td.win').length") == 9
    # the formula carries the stride: window (1, 0) starts at row 2 of the padded input, not row 1
    assert "X<sub>i+2p,j+2q</sub>" in page.js("document.querySelector('#detail p.formula').innerHTML")
    assert page.errors == []


def _bn(n, dim):
    bn = (torch.nn.BatchNorm1d if dim == 1 else torch.nn.BatchNorm2d)(n)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.3, 0.3)
    return bn


@pytest.mark.parametrize("dim", [1, 2])
def test_every_operation_of_the_page_matches_torch(browser, tmp_path, dim):
    """Conv1d/Conv2d with stride and padding, batch norm folded, every activation and both poolings, dense."""
    from torch import nn

    from idealfit.explain.page import page_data, render_page, write_page
    from idealfit.models.blocks import Normalize

    torch.manual_seed(dim)
    conv, pool = (nn.Conv1d, nn.AvgPool1d) if dim == 1 else (nn.Conv2d, nn.AvgPool2d)
    maxpool = nn.MaxPool1d if dim == 1 else nn.MaxPool2d
    side = (12,) if dim == 1 else (12, 10)
    model = nn.Sequential(
        Normalize([0.2, -0.1], [1.5, 0.7]), conv(2, 4, 3, stride=2, padding=1), _bn(4, dim), nn.ELU(0.7),
        conv(4, 3, 3, padding=2), nn.LeakyReLU(0.2), pool(2), nn.Tanh(), maxpool(2, stride=1),
        nn.Flatten(), nn.LazyLinear(6), _bn(6, 1), nn.Sigmoid(), nn.Linear(6, 3),
    )
    x = torch.randn(4, 2, *side)
    model.eval()(x)  # materialises the lazy layer
    examples = [{"name": f"x{i}", "group": "correct", "true": 0} for i in range(4)]
    data = page_data(model, x.numpy(), labels=["a", "b", "c"], examples=examples, draw=None, title="ops")
    assert data["layers"] is not None, data["why"]
    page = browser(write_page(render_page(data, title="ops"), tmp_path / "ops.html").as_uri(), ready=READY)
    assert _self_check(page) <= 1e-6
    assert page.errors == []


def test_a_float16_dense_layer_decodes_in_the_page_and_agrees(browser, tmp_path):
    """A dense layer above page_size.HALF_MIN weights travels as float16; the page decodes it by hand
    (decodeF16) and its self-check still agrees with PyTorch's float32 network."""
    from torch import nn

    from idealfit.explain.page import page_data, render_page, write_page

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 20 * 20, 64),
                          nn.ReLU(), nn.Linear(64, 3)).eval()  # 102,400 dense weights
    x = np.random.default_rng(0).random((3, 1, 20, 20)).astype(np.float32)
    examples = [{"name": f"x{i}", "group": "correct", "true": 0} for i in range(3)]
    data = page_data(model, x, labels=["a", "b", "c"], examples=examples, draw=None, title="half")
    assert "w16" in data["layers"][3]
    page = browser(write_page(render_page(data, title="half"), tmp_path / "half.html").as_uri(), ready=READY)
    assert _self_check(page) <= 1e-4
    assert page.errors == []
    titles = page.js("[...document.querySelectorAll('#overview .col h3')].map(h => h.textContent)")
    assert any("dense (float16 weights)" in t for t in titles), titles
    # the decoded weights are the float16 values exactly (the first 4000 hold subnormals: |w| < 6.1e-5)
    w16 = np.frombuffer(base64.b64decode(data["layers"][3]["w16"]), "<f2")[:4000]
    assert (np.abs(w16) < 6.1e-5).any()
    assert page.js("Array.from(DATA.layers[3].w.slice(0, 4000))") == w16.astype(np.float64).tolist()


def _rect(page, selector):
    return page.js(f"(() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect(); "
                   "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, "
                   "h: window.innerHeight, w: window.innerWidth}; })()")


def test_a_click_brings_the_arithmetic_on_screen_and_the_answer_is_in_reach(browser, digits_page):
    # newcomer R1: the arithmetic panel sat below a 10,000 px overview, so a click seemed to do nothing; R2: the
    # softmax column's scrollbar was at the bottom of that overview
    page = browser(digits_page.as_uri(), ready=READY)
    page.js("window.scrollTo(0, 0)")
    first = _rect(page, "#overview .col:nth-child(3) canvas.map")  # where the user sees it: no scrolling first
    assert first["bottom"] < first["h"]
    page.click((first["left"] + first["right"]) / 2, (first["top"] + first["bottom"]) / 2)
    value = _rect(page, "#calc-value")
    assert 0 <= value["top"] and value["bottom"] <= value["h"]  # the sum and the map's value are on screen
    products, bias, shown, n = _window_sum(page)
    assert n == 9 and products + bias == pytest.approx(shown, abs=1e-9)
    overview = _rect(page, "#overview")
    assert overview["bottom"] - overview["top"] < overview["h"]  # its horizontal scrollbar fits on one screen
    # the answer above the overview, the softmax column's argmax, and one click brings that column on screen
    probs = page.js("[...document.querySelectorAll('#overview .prob')].map(r => Number(r.dataset.p))")
    k = int(np.argmax(probs))
    assert page.js("Number(document.getElementById('predicted').dataset.k)") == k
    page.js("window.scrollTo(0, 0)")
    page.click(*_centre(page, "#to-softmax"))
    soft = _rect(page, "#overview .col:last-child")
    assert 0 <= soft["left"] and soft["right"] <= soft["w"] and 0 <= soft["top"] < soft["h"]
    assert page.errors == []


@pytest.fixture(scope="module")
def grey_run(tmp_path_factory):
    """A CNN on a folder of one-channel pictures whose background is mid-grey (the newcomer's grey photo run:
    background 0.431 on a 0..1 scale), bright bars against dark bars."""
    root = tmp_path_factory.mktemp("g")
    rng = np.random.default_rng(1)
    for cls in ("bright", "dark"):
        (root / "pics" / cls).mkdir(parents=True)
        for i in range(16):
            img = np.full((12, 12), 110, dtype=np.uint8) + rng.integers(0, 6, size=(12, 12)).astype(np.uint8)
            c = rng.integers(2, 9)
            img[2:10, c:c + 2] = 235 if cls == "bright" else 5
            Image.fromarray(img, mode="L").save(root / "pics" / cls / f"{i}.png")
    return fit.train(data=str(root / "pics"), epochs=1, out=root / "run", verbose=False,
                     set={"train.progress": False, "model.widths": [4], "model.hidden": [8]})


def test_your_inputs_are_named_the_shown_one_marked_and_clear_goes_back(browser, grey_run, tmp_path):
    # newcomer R3: own --input thumbnails had no name, the header's count left them out, nothing marked which one
    # the overview showed; R4: "clear" showed the blank canvas's forward pass
    mine = [tmp_path / "first.png", tmp_path / "second.png"]
    for p, v in zip(mine, (235, 5), strict=True):
        img = np.full((12, 12), 112, dtype=np.uint8)
        img[2:10, 5:7] = v
        Image.fromarray(img, mode="L").save(p)
    out = tmp_path / "mine.html"
    assert main(["explain", str(grey_run.dir), "--page", "--input", *map(str, mine), "--out", str(out)]) == 0
    page = browser(out.as_uri(), ready=READY)
    assert page.errors == []
    assert page.js("[...document.querySelectorAll('.thumb.yours .file')].map(s => s.textContent)") == \
        ["first.png", "second.png"]
    assert page.js("document.querySelector('.thumb.yours').title").startswith("first.png: predicted ")
    note = page.js("document.querySelector('#gallery p.meta').textContent")
    shown = int(re.search(r"shown: your 2 examples first, then (\d+) of them", note)[1])
    assert page.js("document.querySelectorAll('.thumb').length") == 2 + shown
    sel = "[...document.querySelectorAll('.thumb.sel')].map(b => b.dataset.name)"
    assert page.js(sel) == ["first.png"]  # the overview opens on the first example, marked
    page.click(*_centre(page, ".thumb:nth-child(3)"))
    third = page.js("document.querySelector('.thumb:nth-child(3)').dataset.name")
    assert page.js(sel) == [third] and third in page.js("document.getElementById('prediction').textContent")
    # drawing: the canvas shows the grey the network receives; a stroke makes "your drawing", unmarked
    lo, hi, bg = page.js("[DATA.draw.lo, DATA.draw.hi, DATA.draw.background]")
    assert lo < bg - 0.2 * (hi - lo)  # a mid-grey background: drawn black before
    px = page.js("document.getElementById('draw').getContext('2d').getImageData(2, 2, 1, 1).data[0]")
    assert px == pytest.approx(255 * (bg - lo) / (hi - lo), abs=1)
    r = page.js("(() => { const e = document.getElementById('draw'); e.scrollIntoView({block: 'center'}); "
                "const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()")
    page.drag([(r[0] + r[2] * 0.5, r[1] + r[3] * f) for f in np.linspace(0.1, 0.9, 8)])
    page.js("new Promise(res => requestAnimationFrame(() => requestAnimationFrame(res)))")
    assert page.js("state.exampleName") == "your drawing" and page.js(sel) == []
    corner = page.js("state.cols[0].data[0]")  # the input pixel under the untouched corner: the background
    assert corner == pytest.approx(bg, abs=(hi - lo) / 255)
    page.click(*_centre(page, "#draw-clear"))
    assert page.js("state.exampleName") == third and page.js(sel) == [third]
    assert page.errors == []
