"""The HTML run report: built from a fake run folder, self-contained, escaped, extras grouped."""

import base64
import io
import json
import os
import re
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from idealfit.errors import UserError
from idealfit.report.figures import image_grid, save_png
from idealfit.report.html import add_extra, build_run_report, load_run, render_report

# Embedded images: PNGs (extras, thumbnails) and the report's own charts, hand-written SVG documents.
IMG_RE = re.compile(r'<img src="data:image/(?:png|svg\+xml);base64,([^"]+)"')


def check_image(data: str) -> None:
    """The base64 payload decodes to a valid PNG, or to a well-formed SVG document."""
    raw = base64.b64decode(data)
    if raw.startswith(b"<svg"):
        assert ElementTree.fromstring(raw).tag == "{http://www.w3.org/2000/svg}svg"
    else:
        Image.open(io.BytesIO(raw)).verify()


def confusion_cells(page: str) -> np.ndarray:
    """The counts of the report's confusion-matrix table, row by row."""
    table = page[page.index('<table class="confusion">') :].split("</table>")[0]
    rows = table.split("</tr>")[1:-1]  # the first row is the header
    return np.array([[int(c) for c in re.findall(r"<td[^>]*>(\d+)</td>", r)] for r in rows])


def make_run(run_dir, *, task="classification", class_names=("cat", "dog", "<script>alert(1)</script>"),
             diagnosis=None, optional=True):  # fmt: skip
    """A small fake run folder as the training code writes it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    metric = "accuracy" if task == "classification" else "rmse"
    if task == "classification":
        split = {"loss": 0.5, "accuracy": 0.875}
        y_true, y_pred = np.array([0, 1, 2, 2, 1, 0]), np.array([0, 1, 2, 1, 1, 2])
    else:
        split = {"loss": 0.25, "rmse": 0.5, "mae": 0.375, "r2": 0.9}
        y_true, y_pred = np.linspace(0, 1, 20), np.linspace(0, 1, 20) ** 2
    summary = {
        "task": task, "data": "mnist1d", "model": "mlp", "params": 12345, "epochs_run": 3,
        "best_epoch": 2, "stopped_early": True, "seconds": 4.5, "metric": metric,
        "class_names": list(class_names) if class_names else None,
        "metrics": {"train": split, "val": split, "test": {**split, "loss": 0.625}},
    }  # fmt: skip
    if diagnosis:
        summary["diagnosis"] = diagnosis
    (run_dir / "summary.json").write_text(json.dumps(summary))
    if not optional:
        return run_dir
    rows = [f"{e},0.01,{1 / e},{e / 4},{1.2 / e},,0.1" for e in (1, 2, 3)]
    header = f"epoch,lr,train_loss,train_{metric},val_loss,val_{metric},seconds"
    (run_dir / "metrics.csv").write_text("\n".join([header, *rows]) + "\n")
    (run_dir / "config.yaml").write_text("data:\n  name: mnist1d\nmodel:\n  name: mlp\n  hidden: [64, 64]\n")
    (run_dir / "model.txt").write_text("MLP(\n  (fc1): Linear(in_features=40, out_features=64)\n)\n")
    np.savez(run_dir / "predictions.npz", y_true=y_true, y_pred=y_pred)
    return run_dir


def test_classification_report_is_complete_and_self_contained(tmp_path):
    run = make_run(tmp_path / "run")
    path = build_run_report(run)
    assert path == run / "report.html"
    page = path.read_text()
    assert page.startswith("<!doctype html>")
    assert "<h1>mnist1d" in page and "mlp" in page
    images = IMG_RE.findall(page)
    assert len(images) == 1  # learning curves; the confusion matrix is a table (checked below)
    for data in images:
        check_image(data)
    y_true, y_pred = np.array([0, 1, 2, 2, 1, 0]), np.array([0, 1, 2, 1, 1, 2])  # make_run's predictions
    np.testing.assert_array_equal(confusion_cells(page), sk_confusion_matrix(y_true, y_pred))
    for section in ("Results", "Learning curves", "Confusion matrix", "Per-class scores", "Model", "Config"):
        assert f"<h2>{section}</h2>" in page
    assert "Predicted vs true" not in page
    # No external resource of any kind: only data URLs and in-page anchors.
    assert not re.search(r'(src|href)="(?!data:|#)', page)
    assert "http://" not in page and "https://" not in page
    assert "hidden: [64, 64]" in page and "Linear(in_features=40, out_features=64)" in page


def test_headline_table_shows_every_split_and_metric(tmp_path):
    page = build_run_report(make_run(tmp_path)).read_text()
    table = page[page.index('<table class="metrics">') :].split("</table>")[0]
    assert "<th>train</th><th>val</th><th>test</th>" in table
    assert '<tr class="key"><th>accuracy</th><td>0.875</td><td>0.875</td><td>0.875</td></tr>' in table
    assert "<tr><th>loss</th><td>0.5</td><td>0.5</td><td>0.625</td></tr>" in table
    assert "12,345" in page  # params with a thousands separator


def test_class_names_and_text_are_escaped(tmp_path):
    run = make_run(tmp_path, diagnosis={"verdict": "overfitting", "evidence": {"gap <x>": 0.25},
                                        "advice": ["add <dropout> & L2"]})  # fmt: skip
    (run / "model.txt").write_text("<script>alert('model')</script>")
    page = build_run_report(run).read_text()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;model&#x27;)&lt;/script&gt;" in page
    assert "gap &lt;x&gt;" in page and "add &lt;dropout&gt; &amp; L2" in page
    assert page.count("<script>") == 1  # only the report's own figure check


def test_diagnosis_badge_evidence_and_advice(tmp_path):
    diagnosis = {"verdict": "good fit", "evidence": {"val_gap": 0.0123456, "epochs": 3},
                 "advice": ["keep it", "try more data"]}  # fmt: skip
    page = build_run_report(make_run(tmp_path, diagnosis=diagnosis)).read_text()
    assert page.count('<span class="badge badge-good">good fit</span>') == 2  # header and section
    assert '<div class="diagnosis diagnosis-good">' in page
    # Plain names with the summary.json key beneath; an unknown key gets a readable form of itself.
    assert "<tr><th>Val gap<br><code>val_gap</code></th><td>0.01235</td>" in page
    assert ("<tr><th>Epochs trained<br><code>epochs</code></th><td>3</td>"
            '<td class="meaning">how many passes over the training data the run made</td></tr>') in page
    assert "<li>keep it</li><li>try more data</li>" in page
    # Diagnosis comes right after the headline results.
    assert page.index('id="results"') < page.index('id="diagnosis"') < page.index('id="curves"')


@pytest.mark.parametrize(
    ("verdict", "cls"), [("underfitting", "under"), ("overfitting", "over"), ("odd", "other")]
)
def test_badge_colour_follows_verdict(tmp_path, verdict, cls):
    page = build_run_report(make_run(tmp_path, diagnosis={"verdict": verdict})).read_text()
    assert f'<span class="badge badge-{cls}">{verdict}</span>' in page
    assert f".badge-{cls}" in page or cls == "other"


def test_no_diagnosis_no_badge(tmp_path):
    page = build_run_report(make_run(tmp_path)).read_text()
    assert 'class="badge' not in page and 'id="diagnosis"' not in page


def test_regression_report_has_predicted_vs_true(tmp_path):
    page = build_run_report(make_run(tmp_path, task="regression", class_names=None)).read_text()
    assert "<h2>Predicted vs true</h2>" in page and "Confusion matrix" not in page
    images = IMG_RE.findall(page)
    assert len(images) == 2  # learning curves + predicted vs true
    for data in images:
        check_image(data)
    for name in ("rmse", "mae", "r2"):
        assert f"<th>{name}</th>" in page
    assert '<tr class="key"><th>rmse</th>' in page


def test_confusion_matrix_falls_back_to_index_names(tmp_path):
    run = load_run(make_run(tmp_path, class_names=None))
    page = render_report(run)
    assert "Confusion matrix" in page  # names "0", "1", "2" from the labels


def test_only_summary_is_enough(tmp_path):
    run = make_run(tmp_path, optional=False)
    page = build_run_report(run).read_text()
    assert "<h2>Results</h2>" in page and "<img" not in page
    assert sorted(os.listdir(run)) == ["report.html", "summary.json"]  # no temporary file left


def test_not_a_run_folder(tmp_path):
    with pytest.raises(
        UserError, match=r"is not an idealfit run folder \(no summary.json\); pass the folder"
    ):
        build_run_report(tmp_path)


def test_corrupt_summary(tmp_path):
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        build_run_report(tmp_path)
    (tmp_path / "summary.json").write_text('{"task": "clustering"}')
    with pytest.raises(UserError, match="'task'"):
        build_run_report(tmp_path)


def test_rebuild_replaces_report(tmp_path):
    run = make_run(tmp_path)
    build_run_report(run)
    (run / "model.txt").write_text("NEW MODEL TEXT")
    assert "NEW MODEL TEXT" in build_run_report(run).read_text()


def _png(run, rel, value):
    return save_png(image_grid(np.full((1, 1, 4, 4), value)), run / rel, dpi=20)


def test_add_extra_appends_and_replaces_in_place(tmp_path):
    run = make_run(tmp_path)
    _png(run, "aug/a.png", 0.2)
    add_extra(run, section="Augmentation", caption="flips", path="aug/a.png")
    add_extra(run, section="Filters", caption="conv1", text="3x3 filters")
    add_extra(run, section="Augmentation", caption="crops", text="random crop 4 px")
    add_extra(run, section="Augmentation", caption="flips", text="replaced")
    entries = json.loads((run / "extras.json").read_text())
    assert entries == [
        {"section": "Augmentation", "caption": "flips", "path": None, "text": "replaced"},
        {"section": "Filters", "caption": "conv1", "path": None, "text": "3x3 filters"},
        {"section": "Augmentation", "caption": "crops", "path": None, "text": "random crop 4 px"},
    ]
    assert not [f for f in os.listdir(run) if f.endswith(".tmp")]


def test_add_extra_accepts_absolute_path_inside_run(tmp_path):
    run = make_run(tmp_path)
    png = _png(run, "maps/m.png", 0.5)
    add_extra(run, section="Feature maps", caption="layer 1", path=str(png.resolve()))
    assert json.loads((run / "extras.json").read_text())[0]["path"] == "maps/m.png"


def test_add_extra_user_errors(tmp_path):
    run = make_run(tmp_path / "run")
    with pytest.raises(UserError, match="neither path nor text"):
        add_extra(run, section="S", caption="c")
    with pytest.raises(UserError, match="not found"):
        add_extra(run, section="S", caption="c", path="missing.png")
    outside = _png(tmp_path, "outside.png", 0.1)
    with pytest.raises(UserError, match="outside the run folder"):
        add_extra(run, section="S", caption="c", path=str(outside))
    with pytest.raises(UserError, match="outside the run folder"):
        add_extra(run, section="S", caption="c", path="../outside.png")
    with pytest.raises(UserError, match="not a folder"):
        add_extra(tmp_path / "nope", section="S", caption="c", text="t")
    with pytest.raises(UserError, match="non-empty"):
        add_extra(run, section=" ", caption="c", text="t")
    (run / "extras.json").write_text('{"not": "a list"}')
    with pytest.raises(UserError, match="must be a list"):
        add_extra(run, section="S", caption="c", text="t")


def test_extras_grouped_by_first_appearance_and_embedded(tmp_path):
    run = make_run(tmp_path)
    a, b = _png(run, "a.png", 0.25), _png(run, "b.png", 0.75)
    add_extra(run, section="Saliency", caption="first", path="a.png")
    add_extra(run, section="Filters <conv1>", caption="weights", text="w = [<1>, 2]")
    add_extra(run, section="Saliency", caption="second", path="b.png")
    page = build_run_report(run).read_text()
    saliency, filters = page.index("<h2>Saliency</h2>"), page.index("<h2>Filters &lt;conv1&gt;</h2>")
    assert page.index("<h2>Config</h2>") < saliency < filters
    assert saliency < page.index("<h3>second</h3>") < filters  # grouped under its section
    images = IMG_RE.findall(page)
    assert len(images) == 3  # the learning curves + 2 extras, in order
    assert base64.b64decode(images[1]) == a.read_bytes() and base64.b64decode(images[2]) == b.read_bytes()
    assert "<pre>w = [&lt;1&gt;, 2]</pre>" in page
    assert '<a href="#extra-2">Filters &lt;conv1&gt;</a>' in page


def test_extra_whose_image_was_deleted_is_noted_not_fatal(tmp_path):
    run = make_run(tmp_path)
    png = _png(run, "gone.png", 0.5)
    add_extra(run, section="Saliency", caption="gone", path="gone.png")
    png.unlink()
    page = build_run_report(run).read_text()
    assert "<h3>gone</h3>" in page and "gone.png is missing" in page
    assert len(IMG_RE.findall(page)) == 1  # the learning curves only


def test_hand_edited_extras_with_wrong_types_is_a_user_error(tmp_path):
    run = make_run(tmp_path)
    (run / "extras.json").write_text('[{"section": "S", "caption": "c", "text": 3}]')
    with pytest.raises(UserError, match="must be a list of"):
        build_run_report(run)


def test_diagnosis_reasons_are_shown_and_escaped():
    from idealfit.report.html import _diagnosis

    html = _diagnosis({"verdict": "overfitting", "evidence": {"loss_gap": 0.3},
                       "reasons": ["validation loss rose <30%> above its best"], "advice": ["Use dropout."]})
    assert "<h3>Why</h3>" in html and "validation loss rose &lt;30%&gt; above its best" in html


def test_facts_show_sparsity_and_training_samples():
    from idealfit.report.html import _facts

    html = _facts({"task": "classification", "params": 10, "sparsity": 0.4125, "train_samples": 126})
    assert "weight sparsity" in html and "41.2%" in html and "training samples" in html and "126" in html


def test_facts_show_the_processes_of_a_torchrun_run_and_one_otherwise():
    from idealfit.report.html import _facts

    ddp = _facts({"task": "classification", "threads": 1,
                  "distributed": {"processes": 4, "nodes": 2, "backend": "nccl"}})
    assert "<dt>processes</dt><dd>4 on 2 nodes (nccl), 1 thread each</dd>" in ddp
    assert "<dt>processes</dt><dd>1, 3 threads</dd>" in _facts({"task": "classification", "threads": 3,
                                                                  "distributed": None})


def test_each_loss_says_how_it_was_measured_and_relative_rises_are_percentages(tmp_path):
    """A learner met three different "training losses" in one report, and a relative rise of 0.09804 with no %."""
    evidence = {"final_train_loss": 0.03927, "best_train_loss": 0.03213, "final_val_loss": 0.03412,
                "val_loss_rise_discarded": 0.09804, "train_loss_drop": 0.5597, "loss_gap": 0.2}
    page = build_run_report(make_run(tmp_path, diagnosis={"verdict": "good fit", "evidence": evidence})).read_text()
    assert ("<tr><th>Validation loss rise after the kept epoch, relative — discarded by early stopping<br>"
            "<code>val_loss_rise_discarded</code></th><td>9.8%</td>") in page
    assert "<code>train_loss_drop</code></th><td>56.0%</td>" in page
    assert "<code>loss_gap</code></th><td>0.2</td>" in page  # a difference, not a share: left as it is
    assert "<tr><th>Final training loss, during training (train mode)<br><code>final_train_loss</code></th><td>0.03927" in page
    assert "<tr><th>Lowest training loss, during training (train mode)<br><code>best_train_loss</code>" in page
    assert "<tr><th>Final validation loss, last epoch<br><code>final_val_loss</code>" in page
    results = page[page.index('id="results"'):page.index('id="diagnosis"')]
    assert "Kept weights (epoch 2), evaluated: every split measured after training in eval mode" in results


def test_facts_show_the_warm_up_that_early_stopping_did_not_judge(tmp_path):
    run = make_run(tmp_path, optional=False)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "warmup_epochs": 18}))
    page = build_run_report(run).read_text()
    assert "<dt>learning-rate warm-up, not judged by early stopping</dt><dd>epochs 1–18</dd>" in page
    (run / "summary.json").write_text(json.dumps({**summary, "warmup_epochs": 0}))
    assert "warm-up" not in build_run_report(run).read_text()
