"""One check suite over every task and every (kind, task, family) the registries accept.

As scikit-learn runs one suite over every estimator: each task's loss against a torch reference, its
metrics against a hand computation (and independent of batching), and for every registered triple a
tiny run that trains, reloads, predicts what it stored, and summarizes its model.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import idealfit as fit
from idealfit.config import FAMILIES as FAMILY_NAMES
from idealfit.config import TASKS as TASK_NAMES
from idealfit.config_checks import FAMILY_KEYS
from idealfit.data.prepare import transform_inputs
from idealfit.models.registry import AUTO, FAMILIES, accepts
from idealfit.models.summary import count_params, summarize
from idealfit.tasks import TASKS, get_task
from idealfit.tasks.segmentation import overlap_metrics, soft_dice_loss
from idealfit.train.meter import Meter


def test_the_torch_free_name_lists_match_the_registries():
    assert TASK_NAMES == tuple(TASKS) and FAMILY_NAMES == tuple(FAMILIES)
    for (kind, task), family in AUTO.items():
        assert kind in FAMILIES[family].kinds and task in FAMILIES[family].tasks


def _outputs(task, g):
    """(out, y) of a batch of 6 for `task`, random but fixed."""
    if task == "classification":
        return torch.randn(6, 3, generator=g), torch.randint(0, 3, (6,), generator=g)
    if task == "regression":
        return torch.randn(6, 1, generator=g), torch.randn(6, generator=g)
    if task == "reconstruction":
        return torch.randn(6, 2, 7, generator=g), torch.randn(6, 2, 7, generator=g)
    if task == "translation":
        return torch.rand(6, 3, 16, 16, generator=g), torch.rand(6, 3, 16, 16, generator=g)
    if task == "forecasting":  # 3 steps ahead
        return torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    return torch.randn(6, 4, 5, 5, generator=g), torch.randint(0, 4, (6, 5, 5), generator=g)


@pytest.mark.parametrize("name", TASKS)
def test_loss_matches_the_torch_reference(name):
    out, y = _outputs(name, torch.Generator().manual_seed(0))
    want = {"classification": lambda: F.cross_entropy(out, y), "regression": lambda: F.mse_loss(out[:, 0], y),
            "segmentation": lambda: F.cross_entropy(out, y) + soft_dice_loss(out, y),
            "reconstruction": lambda: F.mse_loss(out, y), "translation": lambda: F.l1_loss(out, y),
            "forecasting": lambda: F.mse_loss(out, y)}[name]()
    assert float(get_task(name).loss(out, y)) == pytest.approx(float(want), rel=1e-6)


def test_soft_dice_loss_by_hand():
    # two classes, one image of 2 pixels: p(class 1) = sigmoid-like softmax of the logits
    out = torch.tensor([[[[0.0, 2.0]], [[0.0, 0.0]]]])  # (1, 2, 1, 2): class-1 probability 0.5 and 1/(1+e²)
    y = torch.tensor([[[1, 0]]])
    p1 = torch.softmax(out, 1)[0, 1, 0]  # (2,)
    dice1 = (2 * p1[0] + 1) / (p1.sum() + 1 + 1)  # Σ p·t = p1[0], Σ t = 1, smoothing 1
    assert float(soft_dice_loss(out, y)) == pytest.approx(float(1 - dice1))


def _metrics(task, out, y, state=None, *, splits=1):
    meter = Meter()
    for o, t in zip(out.chunk(splits), y.chunk(splits), strict=True):
        meter.add(task.stats(o, t, task.loss(o, t)))
    return task.finish(meter.sums(), state)


@pytest.mark.parametrize("name", TASKS)
def test_metrics_do_not_depend_on_the_batching(name):
    task = get_task(name)
    out, y = _outputs(name, torch.Generator().manual_seed(1))
    state = {"mean": [2.0], "std": [3.0]} if name == "reconstruction" else {"mean": 2.0, "std": 3.0} if task.scales_targets else None
    one, three = _metrics(task, out, y, state), _metrics(task, out, y, state, splits=3)
    for k, v in one.items():
        if k != "loss" or task.additive_loss:
            assert three[k] == pytest.approx(v, rel=1e-6, nan_ok=True), k


def test_classification_and_regression_metrics_by_hand():
    out = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 0, 0, 1])
    assert _metrics(TASKS["classification"], out, y)["accuracy"] == 0.75
    pred, target = torch.tensor([[1.0], [2.0], [4.0]]), torch.tensor([1.0, 3.0, 2.0])  # standardized units
    m = _metrics(TASKS["regression"], pred, target, {"mean": 10.0, "std": 2.0})
    assert m["rmse"] == pytest.approx(2 * math.sqrt((0 + 1 + 4) / 3))  # errors scaled back by std
    assert m["mae"] == pytest.approx(2 * (0 + 1 + 2) / 3)
    assert m["r2"] == pytest.approx(1 - 5 / 2)  # Σ err² = 5, Σ (y − ȳ)² = 2


def test_iou_and_dice_on_a_constructed_mask():
    y = torch.tensor([[[0, 1, 1, 0], [0, 1, 1, 0], [2, 2, 0, 0], [0, 0, 0, 0]]])
    pred = torch.tensor([[[0, 1, 1, 1], [0, 1, 0, 0], [2, 2, 2, 0], [0, 0, 0, 0]]])
    out = F.one_hot(pred, 3).permute(0, 3, 1, 2).float() * 10  # logits whose argmax is `pred`
    m = _metrics(get_task("segmentation", loss="ce"), out, y)
    # class 1: true 4, predicted 4, overlap 3 -> IoU 3/5, Dice 6/8; class 2: true 2, predicted 3, overlap 2
    assert m["iou_per_class"][1:] == pytest.approx([3 / 5, 2 / 3])
    assert m["dice_per_class"][1:] == pytest.approx([6 / 8, 4 / 5])
    assert m["miou"] == pytest.approx((3 / 5 + 2 / 3) / 2) and m["dice"] == pytest.approx((6 / 8 + 4 / 5) / 2)
    assert m["pixel_accuracy"] == pytest.approx(13 / 16)  # three pixels differ
    # a class absent from targets and predictions is left out of the mean, not counted as 0 or 1
    assert overlap_metrics([5, 0, 3], [5, 0, 3], [5, 0, 3])["dice"] == 1.0


# --- every registered (kind, task, family): a tiny run ---------------------------------------------------


def _data(kind, task, rng):
    n = 48
    if kind == "table":
        x = rng.normal(size=(n, 4)).astype(np.float32)
    elif kind == "signal":
        x = rng.normal(size=(n, 1, 12)).astype(np.float32)
    else:  # images; pairs need room for the PatchGAN's three stride-2 layers
        side = 32 if kind == "image_pair" else 12
        x = rng.random((n, 3, side, side)).astype(np.float32)
    if task == "translation":
        return x, 1 - x[:, ::-1].copy()  # the target: the colours inverted and the channels swapped
    if task in ("classification", "reconstruction"):  # reconstruction keeps the labels beside the inputs
        y = (x.reshape(n, -1)[:, 0] > 0.5 * (kind == "image")).astype(np.int64)
    elif task == "regression":
        y = (x.reshape(n, -1)[:, :3].sum(1) * 10 + 5).astype(np.float32)
    else:  # a mask: class 1 where the red channel is bright, class 2 where the green one is
        y = np.where(x[:, 0] > 0.7, 1, np.where(x[:, 1] > 0.7, 2, 0)).astype(np.int64)
    return x, y


# series are forecast from CSV files or embedded series, not arrays: tests/tasks/test_forecasting.py runs them;
# text comes from a CSV's text column or the embedded words: tests/test_text_cli.py runs the same checks on it;
# audio from WAV folders or spoken_digits: tests/test_audio_cli.py
TRIPLES = [(k, t, f) for f, fam in FAMILIES.items() for k in fam.kinds for t in fam.tasks
           if accepts(f, kind=k, task=t) and k not in ("series", "text", "audio")]


@pytest.mark.parametrize("kind,task,family", TRIPLES, ids=["-".join(t) for t in TRIPLES])
def test_every_registered_triple_trains_reloads_and_predicts(tmp_path, kind, task, family):
    x, y = _data(kind, task, np.random.default_rng(0))
    tiny = {"model.widths": [4, 8], "model.hidden": [8]}  # each family gets the sizes it reads (others are refused)
    run = fit.train(data=(x, y), model=family, epochs=2, out=tmp_path / "run", verbose=False,
                    set={"train.batch_size": 16, "train.progress": False, "data.task": task,
                         **{k: v for k, v in tiny.items() if k in FAMILY_KEYS[family]}})
    assert run.summary["task"] == task and run.summary["model"] == family
    assert set(get_task(task).epoch_metrics) <= {k.removeprefix("val_") for k in run.history[-1]}
    again = fit.load_run(run.dir)  # the folder alone rebuilds the model
    test = np.load(run.dir / "split.npz")["test"]
    pred = again.predict_array(x[test])
    stored = np.load(run.dir / "predictions.npz")
    decoded = pred.argmax(1) if task == "classification" else pred
    np.testing.assert_allclose(decoded, stored["y_pred"], rtol=1e-4, atol=1e-4)
    if task == "reconstruction":  # the targets are the inputs: in the data's units (tables: as preprocessed)
        want = transform_inputs(again.state, x[test].astype(object)) if kind == "table" else x[test]
        np.testing.assert_allclose(stored["y_true"], want, rtol=1e-5, atol=1e-5)
    stored = {k: v for k, v in run.summary["metrics"]["test"].items() if not k.startswith("fcn_")}  # (a segmenter's)
    scored = again.evaluate()  # every test metric again, the per-sample ones (smape, anomaly_auroc) too
    assert set(scored) == set(stored)
    for key, value in stored.items():
        assert scored[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
    text = summarize(again.model, tuple(again.state["input_shape"]))
    assert f"{count_params(again.model):,}" in text


@pytest.mark.parametrize("family,kind,task", [("unet", "table", "classification"), ("cnn", "image", "segmentation"),
                                              ("mlp", "image", "segmentation")])
def test_an_impossible_pair_is_refused_before_any_work(tmp_path, family, kind, task, cli_error):
    x, y = _data(kind, task, np.random.default_rng(0))
    np.savez(tmp_path / "d.npz", x=x, y=y)
    out = tmp_path / "run"
    cli_error(["train", "--data", str(tmp_path / "d.npz"), "--model", family, "--out", str(out)],
              f"model.name={family} needs")
    assert not out.exists()


@pytest.mark.parametrize("task", ["segmentation", "reconstruction"])
def test_explain_refuses_a_run_without_one_output_per_input(tmp_path, task, cli_error):
    x, y = _data("image", task, np.random.default_rng(0))
    run = fit.train(data=(x, y), epochs=1, out=tmp_path / "run", verbose=False,
                    set={"train.batch_size": 16, "train.progress": False, "model.widths": [4, 8], "data.task": task})
    cli_error(["explain", str(run.dir), "--input", "x.png"], f"is a {task} run", "report.html")
    # without --input the run's kind is checked first: no input would make it explainable (newcomer 3)
    cli_error(["explain", str(run.dir)], f"is a {task} run", "report.html")
    assert not (run.dir / "explain").exists()


def test_a_loss_the_task_does_not_offer_is_refused_before_any_work(tmp_path, cli_error):
    cli_error(["train", "--data", "xo", "--set", "train.loss=dice", "--out", str(tmp_path / "r")],
              "train.loss=dice does not apply to classification")
    assert not (tmp_path / "r").exists()


def test_every_family_names_registered_kinds_and_tasks():
    from idealfit.data.kinds import KINDS

    for name, fam in FAMILIES.items():
        assert set(fam.kinds) <= set(KINDS), name
        assert set(fam.tasks) <= set(TASKS), name
    assert {k for k, _ in AUTO} == set(KINDS)  # model.name=auto knows every kind
