"""Figures: the numbers drawn are the numbers given (checked against sklearn / numpy / the input)."""

import io
import os

import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection
from PIL import Image
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from idealfit.errors import UserError
from idealfit.metrics_csv import read_history, write_metrics_csv
from idealfit.report.figures import (
    confusion_matrix,
    image_grid,
    learning_curves,
    predicted_vs_true,
    save_png,
    to_png,
)
from idealfit.run_files import atomic_write

CSV = """epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds,penalty
1,0.01,2.5,0.25,2.75,0.125,0.5,0.001
2,0.01,1.5,0.5,,,0.25,
3,0.005,1.0,0.75,1.25,0.625,0.25,0.002
"""


def history():
    return [
        {"epoch": 1, "train_loss": 2.0, "val_loss": 2.5, "train_rmse": 1.0, "val_rmse": None},
        {"epoch": 2, "train_loss": 1.0, "val_loss": 1.5, "train_rmse": 0.5, "val_rmse": 0.75},
        {"epoch": 3, "train_loss": 0.5, "val_loss": 2.0, "train_rmse": 0.25, "val_rmse": 0.875},
    ]


def test_read_history_parses_types_and_empty_cells(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(CSV)
    rows = read_history(path)
    assert len(rows) == 3
    assert rows[0] == {
        "epoch": 1, "lr": 0.01, "train_loss": 2.5, "train_accuracy": 0.25, "val_loss": 2.75,
        "val_accuracy": 0.125, "seconds": 0.5, "penalty": 0.001,
    }  # fmt: skip
    assert type(rows[0]["epoch"]) is int and type(rows[0]["lr"]) is float
    assert rows[1]["val_loss"] is None and rows[1]["val_accuracy"] is None and rows[1]["penalty"] is None
    assert [r["epoch"] for r in rows] == [1, 2, 3]


def test_read_history_round_trips_what_csv_writer_wrote(tmp_path):
    import csv

    rows = [{"epoch": e, "train_loss": 1 / e, "val_loss": None if e == 2 else 2 / e} for e in (1, 2, 3)]
    path = tmp_path / "metrics.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    assert read_history(path) == rows


def test_read_history_user_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_history(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("epoch,train_loss\n1,abc\n")
    with pytest.raises(UserError, match="line 2, column 'train_loss'"):
        read_history(bad)
    extra = tmp_path / "extra.csv"
    extra.write_text("epoch,train_loss\n1,0.5,7\n")
    with pytest.raises(UserError, match="more cells"):
        read_history(extra)


def test_read_history_reads_back_what_training_writes(tmp_path):
    rows = [{"epoch": 1, "lr": 0.01, "train_loss": 2.5, "val_loss": 2.75, "seconds": 0.5},
            {"epoch": 2, "lr": 0.005, "train_loss": 1.5, "penalty": 0.001, "val_loss": None, "seconds": 0.25}]
    path = write_metrics_csv(tmp_path / "metrics.csv", rows)
    assert path.read_text().splitlines()[0] == "epoch,lr,train_loss,val_loss,penalty,seconds"  # seconds last
    assert read_history(path) == [{**rows[0], "penalty": None}, {**rows[1]}]


def test_read_history_header_only_is_empty(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,train_loss\n")
    assert read_history(path) == []


def test_learning_curves_draws_the_history():
    fig = learning_curves(history(), metric="rmse", best_epoch=2)
    loss_ax, metric_ax = fig.axes
    assert loss_ax.get_title() == "loss" and metric_ax.get_title() == "rmse"
    train, val, best = loss_ax.get_lines()
    assert train.get_label() == "train" and val.get_label() == "validation"
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(train.get_ydata(), [2.0, 1.0, 0.5])
    np.testing.assert_array_equal(val.get_ydata(), [2.5, 1.5, 2.0])
    np.testing.assert_array_equal(best.get_xdata(), [2, 2])  # the vertical best-epoch line
    # The empty first val_rmse cell is skipped, not drawn as 0.
    _, metric_val, _ = metric_ax.get_lines()
    np.testing.assert_array_equal(metric_val.get_xdata(), [2, 3])
    np.testing.assert_array_equal(metric_val.get_ydata(), [0.75, 0.875])


def test_learning_curves_without_best_epoch_or_val():
    rows = [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": e / 4} for e in (1, 2, 3)]
    fig = learning_curves(rows, metric="accuracy")
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1]


def test_learning_curves_user_errors():
    with pytest.raises(UserError, match="no epochs"):
        learning_curves([], metric="accuracy")
    with pytest.raises(UserError, match="train_accuracy"):
        learning_curves(history(), metric="accuracy")


def test_confusion_matrix_counts_drawn_equal_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, size=200))
    names = ["cat", "dog", "$5", "<b>"]
    fig = confusion_matrix(y_true, y_pred, class_names=names)
    ax = fig.axes[0]
    expected = sk_confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), expected)
    drawn = np.zeros((4, 4), dtype=int)
    for text in ax.texts:
        col, row = text.get_position()
        drawn[int(row), int(col)] = int(text.get_text())
    assert len(ax.texts) == 16
    np.testing.assert_array_equal(drawn, expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert f"accuracy {np.trace(expected) / 200:.1%}" in ax.get_title()
    to_png(fig)  # "$5" renders as text, not as broken TeX


def test_confusion_matrix_includes_classes_never_seen():
    fig = confusion_matrix([0, 0], [0, 0], class_names=["a", "b", "c"])
    assert fig.axes[0].get_images()[0].get_array().shape == (3, 3)


def test_confusion_matrix_user_errors():
    with pytest.raises(UserError, match="class 3"):
        confusion_matrix([0, 3], [0, 1], class_names=["a", "b"])
    with pytest.raises(UserError, match="integer class indices"):
        confusion_matrix([0.5], [0], class_names=["a", "b"])
    with pytest.raises(UserError, match="matching"):
        confusion_matrix([0, 1], [0], class_names=["a", "b"])


def test_predicted_vs_true_scatter_and_identity_line():
    y_true = np.array([0.0, 1.0, 2.0, 4.0])
    y_pred = np.array([0.5, 1.0, 1.5, 5.0])
    ax = predicted_vs_true(y_true, y_pred).axes[0]
    points = next(c for c in ax.collections if isinstance(c, PathCollection))
    np.testing.assert_array_equal(points.get_offsets(), np.stack([y_true, y_pred], axis=1))
    (identity,) = ax.get_lines()
    np.testing.assert_array_equal(identity.get_xdata(), identity.get_ydata())  # y = x
    assert identity.get_xdata()[0] < 0.0 and identity.get_xdata()[1] > 5.0  # spans all points
    rmse = np.sqrt(np.mean((y_pred - y_true) ** 2))
    assert f"RMSE {rmse:.4g}" in ax.get_title()


def test_predicted_vs_true_user_errors():
    with pytest.raises(UserError, match="shape"):
        predicted_vs_true([1.0, 2.0], [1.0])
    with pytest.raises(UserError, match="empty"):
        predicted_vs_true([], [])


def _shown(fig):
    return [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images()]


def test_image_grid_gray_clips_and_lays_out():
    images = np.linspace(-1, 2, 5 * 1 * 2 * 3).reshape(5, 1, 2, 3)  # (N, C, H, W)
    fig = image_grid(images, ncols=2)
    assert len(fig.axes) == 6  # 3 rows x 2 columns, the last one empty
    shown = _shown(fig)
    assert len(shown) == 5
    np.testing.assert_allclose(shown[3], np.clip(images[3, 0], 0, 1))
    assert fig.axes[0].get_images()[0].get_cmap().name == "gray"


def test_image_grid_rgb_normalize_titles_and_cmap():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(3, 3, 4, 4)) * 5
    images[2] = 7.0  # a constant image
    fig = image_grid(torch.from_numpy(images), titles=["a", "b", "c"], normalize=True, cmap="viridis")
    shown = _shown(fig)
    assert shown[0].shape == (4, 4, 3)
    lo, hi = images[1].min(), images[1].max()
    np.testing.assert_allclose(shown[1], ((images[1] - lo) / (hi - lo)).transpose(1, 2, 0))
    np.testing.assert_array_equal(shown[2], np.zeros((4, 4, 3)))
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    gray = image_grid(images[:, :1], cmap="viridis")
    assert gray.axes[0].get_images()[0].get_cmap().name == "viridis"


def test_image_grid_accepts_n_h_w():
    fig = image_grid(np.full((2, 3, 3), 0.5))
    np.testing.assert_array_equal(_shown(fig)[0], np.full((3, 3), 0.5))


def test_image_grid_user_errors():
    with pytest.raises(UserError, match="C = 1 or 3"):
        image_grid(np.zeros((2, 4, 3, 3)))
    with pytest.raises(UserError, match="one title per image"):
        image_grid(np.zeros((2, 1, 3, 3)), titles=["x"])
    with pytest.raises(UserError, match="empty"):
        image_grid(np.zeros((0, 1, 3, 3)))
    with pytest.raises(UserError, match="ncols"):
        image_grid(np.zeros((2, 1, 3, 3)), ncols=0)


def test_to_png_size_follows_dpi():
    fig = predicted_vs_true([0.0, 1.0], [0.0, 1.0])  # 5.5 x 5 inches
    assert Image.open(io.BytesIO(to_png(fig))).size == (550, 500)
    assert Image.open(io.BytesIO(to_png(fig, dpi=50))).size == (275, 250)


def test_save_png_writes_atomically(tmp_path):
    fig = image_grid(np.zeros((1, 1, 2, 2)))
    path = save_png(fig, tmp_path / "sub" / "grid.png", dpi=30)
    assert path == tmp_path / "sub" / "grid.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(path).size == (42, 42)  # 1.4 in x 30 dpi
    assert os.listdir(path.parent) == ["grid.png"]  # no temporary file left


def test_atomic_write_keeps_old_file_when_rename_fails(tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    atomic_write(path, b"old")

    def failing_replace(src, dst):
        raise OSError("disk on fire")

    import idealfit.run_files

    monkeypatch.setattr(idealfit.run_files.os, "replace", failing_replace)  # the one atomic writer
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["report.html"]
