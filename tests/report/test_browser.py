"""The report in a real browser: headless Chromium loads every figure and paints a non-blank page.

Skipped when `chromium` is not on PATH, except under CI (the `CI` environment variable), which
installs it and must not pass by skipping.
"""

import json
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from idealfit.report.figures import image_grid, save_png
from idealfit.report.html import add_extra, build_run_report

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A regression run with a diagnosis and one image extra: 3 figures in all."""
    run = tmp_path_factory.mktemp("run")
    summary = {
        "task": "regression", "data": "mnist1d", "model": "cnn", "params": 4321, "epochs_run": 4,
        "best_epoch": 3, "stopped_early": False, "seconds": 2.0, "metric": "rmse", "class_names": None,
        "metrics": {s: {"loss": 0.25, "rmse": 0.5, "mae": 0.4, "r2": 0.8} for s in ("train", "val", "test")},
        "diagnosis": {"verdict": "underfitting", "evidence": {"train_rmse": 0.5}, "advice": ["More capacity."]},
    }  # fmt: skip
    (run / "summary.json").write_text(json.dumps(summary))
    rows = [f"{e},0.01,{1 / e},{1 / e},{1.1 / e},{1.1 / e},0.1" for e in range(1, 5)]
    (run / "metrics.csv").write_text(
        "\n".join(["epoch,lr,train_loss,train_rmse,val_loss,val_rmse,seconds", *rows])
    )
    y_true = np.linspace(-1, 1, 50)
    np.savez(run / "predictions.npz", y_true=y_true, y_pred=y_true + 0.1 * np.sin(7 * y_true))
    (run / "config.yaml").write_text("train:\n  epochs: 4\n")
    save_png(image_grid(np.random.default_rng(0).random((8, 3, 6, 6))), run / "extras" / "aug.png")
    add_extra(run, section="Augmentation preview", caption="batch 0", path="extras/aug.png")
    return build_run_report(run)


def _run_chromium(exe, profile, *args):
    cmd = [exe, *FLAGS, f"--user-data-dir={profile}", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_every_figure_loads(chromium, report, tmp_path):
    url = report.resolve().as_uri()
    dom = _run_chromium(
        chromium, tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom", url
    ).stdout
    match = re.search(r'data-figures="(\d+)/(\d+)"', dom)
    assert match, "the report's load script did not run"
    loaded, total = map(int, match.groups())
    assert (loaded, total) == (3, 3)  # learning curves, predicted vs true, one extra
    assert "<h2>Predicted vs true</h2>" in dom and "underfitting" in dom


def test_screenshot_is_not_blank(chromium, report, tmp_path):
    shot = tmp_path / "shot.png"
    url = report.resolve().as_uri()
    _run_chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,2000", url)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2000)
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50  # text, badges and plots, not one flat colour
    # The page is mostly light background with dark text and plotted lines on it.
    gray = np.asarray(image.convert("L"))
    assert (gray < 100).mean() > 0.002 and (gray > 200).mean() > 0.5


def test_a_wide_table_scrolls_inside_its_card_at_1280_px(browser, tmp_path):
    """Newcomer report 6, R15: pix2pix's baselines table (13 columns) ran out of its card and the page
    scrolled sideways at 1280 px; now the table scrolls within the card."""
    metrics = {"l1": 0.19, "psnr": 13.07, "ssim": 0.26, "sharpness_ratio": 0.0007, "fcn_pixel_accuracy": 0.85,
               "fcn_miou": 0.0}
    summary = {
        "task": "translation", "data": "edges2shapes", "model": "pix2pix", "params": 4321, "epochs_run": 1,
        "best_epoch": 1, "stopped_early": False, "seconds": 2.0, "metric": "l1", "class_names": None,
        "metrics": {s: {"loss": 0.2, **metrics} for s in ("train", "val", "test")},
        "baselines": {"mean": {s: metrics for s in ("val", "test")},
                      "real": {s: {"fcn_pixel_accuracy": 0.98, "fcn_miou": 0.81} for s in ("val", "test")}},
    }  # fmt: skip
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(summary))
    page = browser(build_run_report(run).resolve().as_uri())
    page._call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
    widths = page.js("""(() => { const t = document.querySelector('table.baselines');
        return {page: document.documentElement.scrollWidth, view: window.innerWidth,
                table: t.scrollWidth, box: t.clientWidth, card: t.closest('section').scrollWidth,
                cardBox: t.closest('section').clientWidth}; })()""")
    assert widths["table"] > widths["box"]  # the table is wider than the card: it scrolls inside it ...
    assert widths["card"] <= widths["cardBox"] and widths["page"] <= widths["view"], widths  # ... not the page
