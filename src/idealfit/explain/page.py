"""`idealfit explain RUN --page` and `idealfit explain conv --page`: one self-contained interactive HTML file.

The page (explain/page.js, page_forward.js, page_detail.js, page.css, inlined at write time) shows the network as columns,
one example at a time: input, each layer's feature maps, flatten, dense, softmax. Its own JavaScript
recomputes them from the embedded weights (explain/page_layers.py), which lets the learner draw an input
and click any map for the course's arithmetic. At load it checks itself against PyTorch's outputs on the
gallery examples (`#selfcheck`, attribute data-maxdiff).
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from idealfit.errors import UserError
from idealfit.explain.page_layers import NotRunnable, b64, page_layers, recorded_columns
from idealfit.explain.page_size import halve_big_dense, trim_gallery

GALLERY_CORRECT = 10  # at most this many correct test examples (the most confident one per class first)
GALLERY_WRONG = 6  # and the most confidently wrong ones
MAX_TEST = 1000  # test examples scored to pick the gallery (the first ones of the split)
DRAW_MAX_SIDE = 64  # the drawing canvas is offered for one-channel images up to this side
RECORDED_BUDGET = 8e6  # bytes of recorded activations at most, for a model the page cannot run itself


def _asset(name: str) -> str:
    return resources.files("idealfit.explain").joinpath(name).read_text(encoding="utf-8")


def render_page(data: dict, *, title: str) -> str:
    """The HTML page for `data` (the JSON the scripts read), with its scripts and styles inline."""
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # no "</script>" inside the JSON
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{escape(title)}</title>
<style>{_asset("page.css")}</style>
</head>
<body>
<header><h1>{escape(title)}</h1>
<p id="selfcheck" class="selfcheck">self-check: running…</p></header>
<section id="gallery"></section>
<section id="legend"></section>
<p id="prediction" class="prediction"></p>
<section id="overview"></section>
<section id="detail"><p class="hint">Click a feature map, a pooling map, a dense layer or the softmax to see its arithmetic.</p></section>
<script type="application/json" id="page-data">{blob}</script>
<script>{_asset("page_forward.js")}</script>
<script>{_asset("page_detail.js")}</script>
<script>{_asset("page.js")}</script>
</body>
</html>
"""


def _gallery(probs: np.ndarray, y: np.ndarray) -> list[tuple[int, str]]:
    """(index, group): correct examples taken in turns over the classes (each class's most confident first, then
    each one's second ...), then the most confidently wrong. In turns, as filling the slots left after one per
    class by confidence alone gave a 2-class run 9 X's and 1 O."""
    pred, conf = probs.argmax(1), probs.max(1)
    by_class: dict[int, list[int]] = {}
    for i in np.argsort(-conf, kind="stable"):
        if pred[i] == y[i]:
            by_class.setdefault(int(y[i]), []).append(int(i))
    # classes in order of their most confident example, so the gallery still opens on the surest answer
    queues = sorted(by_class.values(), key=lambda q: -conf[q[0]])
    picked = [q[r] for r in range(max(map(len, queues), default=0)) for q in queues if r < len(q)][:GALLERY_CORRECT]
    wrong = [int(i) for i in np.argsort(-conf, kind="stable") if pred[i] != y[i]][:GALLERY_WRONG]
    return [(i, "correct") for i in picked] + [(i, "wrong") for i in wrong]


def _gallery_note(probs: np.ndarray, y: np.ndarray, chosen: list[tuple[int, str]], *, n_test: int,
                  yours: int = 0) -> str:
    """The accuracy over the scored test examples, then what the gallery shows of them (its own right/wrong), after
    `yours` examples of the user's own (--input), which the count of test examples shown leaves out."""
    right = probs.argmax(1) == y
    scored = f"all {len(y)} test examples" if len(y) == n_test else f"the first {len(y)} of {n_test} test examples"
    shown_right = sum(bool(right[i]) for i, _ in chosen)
    mine = f"your {yours} example{'s' if yours != 1 else ''} first, then " if yours else ""
    return (f"accuracy {float(right.mean()):.3f} on {scored} ({int(right.sum())} right); shown: {mine}"
            f"{len(chosen)} of them, {shown_right} right and {len(chosen) - shown_right} wrong")


def _test_examples(run) -> tuple[np.ndarray, np.ndarray]:
    """The first MAX_TEST test samples of the run's own split, model-ready, with their class ids."""
    from idealfit.data.inputs import load_eval_dataset, read_images
    from idealfit.data.prepare import transform_inputs
    from idealfit.run import _align_labels

    ds = load_eval_dataset(run.state, run.config.data, None)
    test = run._test_split()[:MAX_TEST]
    if ds.paths is not None:
        ds.paths = [ds.paths[i] for i in test]
        ds.y = ds.y[test]
        x = read_images(run.state, ds.paths)
    else:
        ds.x, ds.y = ds.x[test], ds.y[test]
        x = transform_inputs(run.state, ds.x, lengths=None if ds.lengths is None else ds.lengths[test])
    return np.ascontiguousarray(x, dtype=np.float32), _align_labels(run, ds)


def _draw_settings(x: np.ndarray) -> dict | None:
    """Canvas settings for one-channel images: background = the usual border value, ink = the far end; lo and hi,
    the inputs' range, which the canvas maps black and white to, so it shows the grey the network receives (a grey
    photo run's background 0.431 is drawn mid-grey, not black)."""
    if x.ndim != 4 or x.shape[1] != 1 or max(x.shape[2:]) > DRAW_MAX_SIDE:
        return None
    border = np.concatenate([x[:, 0, 0], x[:, 0, -1], x[:, 0, :, 0], x[:, 0, :, -1]], axis=None)
    lo, hi, bg = float(x.min()), float(x.max()), float(np.median(border))
    return {"background": bg, "ink": hi if hi - bg >= bg - lo else lo, "lo": lo, "hi": hi}


def _leaf_outputs_probe(model: torch.nn.Module, x1: torch.Tensor) -> list[torch.Tensor]:
    """Every leaf layer's output for one example (to size the recorded activations)."""
    outs: list[torch.Tensor] = []
    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(lambda _m, _i, o: outs.append(o)) for m in leaves]
    try:
        with torch.no_grad():
            model.eval()(x1)
    finally:
        for h in handles:
            h.remove()
    return [o for o in outs if isinstance(o, torch.Tensor)]


def page_data(model: torch.nn.Module, x: np.ndarray, *, labels: list[str], examples: list[dict],
              draw: dict | None, title: str, note: str = "") -> dict:
    """The JSON the page reads: layers (or recorded columns), and the gallery with PyTorch's probabilities.

    Args:
        model: a classifier returning logits (B, K); put in eval mode.
        x: (N, C, H, W) or (N, C, L) model-ready gallery inputs, float32.
        labels: K class names. examples: per input, {"name", "group", "true"} (true: class id or None).
        draw: canvas settings (background and ink values) or None for no canvas.
    """
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    with torch.no_grad():
        probs = torch.softmax(model.eval()(xt).double(), dim=1).numpy()
    shape = list(x.shape[1:]) if x.ndim == 4 else [x.shape[1], 1, x.shape[2]]  # a signal: one row high
    data = {"title": title, "note": note, "labels": labels, "input_shape": shape, "draw": draw,
            "one_d": x.ndim == 3, "examples": []}
    try:
        data["layers"], data["why"] = page_layers(model), None
        acts = None
        halved = halve_big_dense(data["layers"], x, probs)  # the page's bytes are mostly a big dense layer's
        if halved:
            data["note"] += "; " + "; ".join(halved)
    except NotRunnable as err:
        data["layers"], data["why"] = None, str(err)
        data["draw"] = None
        # every layer's output of every example goes into the file: keep the examples that fit the budget
        per_example = sum(t.numel() for t in _leaf_outputs_probe(model, xt[:1])) * 4 * 4 / 3  # base64 bytes
        keep = max(1, min(len(examples), int(RECORDED_BUDGET // max(per_example, 1))))
        if keep < len(examples):
            data["note"] += f"; {keep} of {len(examples)} shown: their recorded activations fill the page's budget"
        examples, xt = examples[:keep], xt[:keep]
        data["columns"], acts = recorded_columns(model, xt)
    for i, ex in enumerate(examples):  # (fewer than given when the recorded activations were capped)
        item = {**ex, "x": b64(x[i]), "probs": [float(p) for p in probs[i]]}
        if acts is not None:
            item["acts"] = acts[i]
        data["examples"].append(item)
    return data


def check_page_run(run) -> None:
    """Refuse, with the reason and what to use instead, a run the page cannot show."""
    if run.task != "classification" or run.state.get("kind") not in ("image", "signal"):
        saliency = run.task in ("classification", "regression")  # what `explain --input` can show for this run
        raise UserError(f"explain --page shows a classifier of images or signals layer by layer; {run.dir} is a "
                        f"{run.task} run on {run.state.get('kind')} data: see its report.html"
                        + (", or `idealfit explain RUN --input FILE` for its saliency" if saliency else ""))


def _test_or_none(run, extra) -> tuple[np.ndarray, np.ndarray]:
    """The run's test examples; none when its data is gone and the user gave examples of their own."""
    from idealfit.data.embedded import EMBEDDED

    source = run.config.data.name
    if source in EMBEDDED or Path(source).expanduser().exists():
        return _test_examples(run)
    if extra is None:
        raise UserError(f"this run's data {source} no longer exists, so its test examples cannot be shown; "
                        "put it back, or give your own examples with --input FILE")
    return np.zeros((0, *np.asarray(extra[0]).shape[1:]), dtype=np.float32), np.zeros(0, dtype=np.int64)


def run_page(run, *, extra: tuple[torch.Tensor, list[str]] | None = None) -> tuple[str, dict]:
    """(HTML, facts) of the page for a classification run on images or signals.

    Args:
        run: a loaded run (`idealfit.run.load_run`).
        extra: (model-ready inputs, their names) shown first in the gallery, e.g. the user's own files
            (default None: test examples only).
    """
    check_page_run(run)
    source = run.config.data.name
    x, y = _test_or_none(run, extra)
    if not len(x) and extra is None:
        raise UserError(f"{run.dir} has an empty test split, so the page has no examples to show; retrain "
                        "with data.test_fraction above 0, or give your own examples with --input FILE")
    if x.ndim not in (3, 4):
        raise UserError(f"explain --page draws images and signals as the network sees them; this run's network "
                        f"sees vectors of shape {x.shape[1:]} (data.pca?): use `idealfit explain RUN --input FILE`")
    with torch.no_grad():
        probs = torch.softmax(run.model.eval()(torch.from_numpy(x)), dim=1).numpy()
    labels = run.class_names or [str(k) for k in range(probs.shape[1])]
    chosen = trim_gallery(_gallery(probs, y), per_example=len(b64(x[0])) if len(x) else 0)
    idx = [i for i, _ in chosen]
    examples = [{"name": f"test #{i}", "group": g, "true": int(y[i])} for i, g in chosen]
    gallery = x[idx]
    if extra is not None:
        mine = np.asarray(extra[0], dtype=np.float32).reshape(-1, *x.shape[1:])
        examples = [{"name": n, "group": "yours", "true": None} for n in extra[1]] + examples
        gallery = np.concatenate([mine, gallery])
    title = f"idealfit explain · {run.summary.get('data', '?')} · {run.summary.get('model', '?')}"
    note = _gallery_note(probs, y, chosen, n_test=len(run._test_split()),
                         yours=0 if extra is None else len(extra[1])) if len(x) else \
        f"your {len(examples)} example(s): the run's data {source} is gone"
    data = page_data(run.model, gallery, labels=labels, examples=examples,
                     draw=_draw_settings(x if len(x) else gallery), title=title, note=note)
    return render_page(data, title=title), data


def deck_page(result) -> tuple[str, dict]:
    """(HTML, facts) of the page for the course's worked example (`explain.conv.worked_example`)."""
    from torch import nn

    kernels = [p.kernel for p in result.passes]
    if len({tuple(k.shape) for k in kernels}) != 1:
        raise UserError("--page draws one convolution layer, so its filters must all have the same size; "
                        f"got {', '.join('x'.join(map(str, k.shape)) for k in kernels)}")
    kh, kw = kernels[0].shape
    conv = nn.Conv2d(1, len(kernels), (kh, kw), stride=result.stride, padding=result.padding)
    pool = nn.MaxPool2d(2, stride=1)  # the deck's 2x2 windows with stride 1
    fc = nn.Linear(result.fc_weight.shape[1], result.fc_weight.shape[0])
    with torch.no_grad():
        conv.weight.copy_(torch.stack(kernels)[:, None])
        conv.bias.zero_()
        fc.weight.copy_(result.fc_weight)
        fc.bias.copy_(result.fc_bias)
    model = nn.Sequential(conv, nn.ReLU(), pool, nn.Flatten(), fc)
    x = result.image.float()[None, None].numpy()  # (1, 1, H, W)
    names = [p.name for p in result.passes]
    title = f"idealfit explain conv · filters {', '.join(names)}"
    data = page_data(model, x, labels=list(result.class_names),
                     examples=[{"name": "the course's image", "group": "deck", "true": result.target}],
                     draw={"background": -1.0, "ink": 1.0}, title=title,
                     note="the course's 5x5 image of ±1 pixels; dense weights seeded, not trained")
    data["filter_names"] = names
    return render_page(data, title=title), data


def write_page(html: str, path: Path) -> Path:
    """Write the page atomically (never half a file; a link at `path` is replaced, not written through)."""
    from idealfit.run_files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, html.encode("utf-8"))
