"""`idealfit study gan`: L1 only vs L1 + cGAN on the same split, a table, study.json, samples and a report."""

import json

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

from idealfit.cli import main
from idealfit.data.pairs import labels2shapes_masks, make_labels2shapes
from idealfit.gan_study import FCN_MARGIN, SAMPLES, judge


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """60 label maps → renderings of 32 px, with the masks behind them (so the FCN-score is computed)."""
    path = tmp_path_factory.mktemp("data") / "pairs.npz"
    ds = make_labels2shapes(60, size=32, seed=2)
    np.savez(path, x=ds.x, y=ds.y, masks=labels2shapes_masks(60, size=32, seed=2))
    return path


def test_the_study_trains_both_variants_on_one_split_and_reports_them(pairs, tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["study", "gan", "--data", str(pairs), "--epochs", "2", "--out", str(out), "--set", "model.widths=[4,8]",
            "--set", "model.d_width=8", "--set", "train.batch_size=8", "--set", "train.lr=0.005"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "sharpness_ratio" in printed and "fcn_miou" in printed and "L1+cGAN" in printed and "real" in printed
    study = json.loads((out / "study.json").read_text())
    assert [r["variant"] for r in study["rows"]] == ["L1", "L1+cGAN", "real"]
    l1, gan, real = study["rows"]
    for row in (l1, gan):
        assert {"l1", "psnr", "ssim", "sharpness_ratio", "fcn_pixel_accuracy", "fcn_miou"} <= set(row)
    assert set(real) >= {"fcn_pixel_accuracy", "fcn_miou"} and "l1" not in real  # an upper bound, not a variant
    assert {"sharper", "fcn_within_margin", "text"} <= set(study["verdict"])
    # the same split for both: the test samples scored are the same rows of the data
    idx = [np.load(out / r["per_seed"][0]["run_dir"] / "predictions.npz")["index"] for r in (l1, gan)]
    assert np.array_equal(*idx)
    # the ablation has no discriminator at all; pix2pix has one
    w_l1 = load_file(str(out / l1["per_seed"][0]["run_dir"] / "model.safetensors"))
    w_gan = load_file(str(out / gan["per_seed"][0]["run_dir"] / "model.safetensors"))
    assert not any("discriminator" in k for k in w_l1) and any("discriminator" in k for k in w_gan)
    # samples.png: SAMPLES test rows of input | L1 | L1+cGAN | target, 32 px cells, 4 px gaps, 2x
    w, h = Image.open(out / "samples.png").size
    assert (w, h) == (2 * (4 * 32 + 3 * 4), 2 * min(SAMPLES, len(idx[0])) * (32 + 4))
    page = (out / "report.html").read_text()
    assert "L1 vs L1 + cGAN" in page and "data:image/png;base64" in page and "FCN-score" in page
    assert f'href="{l1["per_seed"][0]["run_dir"]}/report.html"' in page


def test_the_study_refuses_data_that_is_not_pairs_before_any_work(tmp_path, cli_error):
    cli_error(["study", "gan", "--data", "digits", "--out", str(tmp_path / "s")], "study gan", "labels2shapes")
    assert not (tmp_path / "s").exists()


def _row(name, sharpness, miou):
    return {"variant": name, "sharpness_ratio": {"mean": sharpness, "std": 0.0}, "fcn_miou": {"mean": miou, "std": 0.0}}


def test_the_claim_is_judged_both_ways():
    yes = judge([_row("L1", 0.2, 0.50), _row("L1+cGAN", 0.9, 0.47)])
    assert yes["sharper"] and yes["fcn_within_margin"] and "within 10% below" in yes["text"]
    blurry = judge([_row("L1", 0.2, 0.50), _row("L1+cGAN", 0.1, 0.60)])
    assert not blurry["sharper"] and blurry["fcn_within_margin"] and "no closer" in blurry["text"]
    too_sharp = judge([_row("L1", 0.8, 0.50), _row("L1+cGAN", 1.3, 0.50)])  # 0.3 off real vs 0.2: not closer
    assert not too_sharp["sharper"]
    lost = judge([_row("L1", 0.2, 0.50), _row("L1+cGAN", 0.9, 0.50 * (1 - FCN_MARGIN) - 0.01)])
    assert not lost["fcn_within_margin"] and "more than 10% below" in lost["text"]
    assert judge([_row("L1", 0.2, 0.5)]) == {}


def test_a_difference_within_noise_names_no_winner():
    # the newcomer's one-seed study: every score equal to 3 digits, |1 - sharpness| 0.978 vs 0.979
    tie = judge([_row("L1", 0.021, 0.50), _row("L1+cGAN", 0.022, 0.501)])
    assert not tie["clear"] and not tie["sharper"]
    assert tie["text"].startswith("no clear difference in sharpness at this budget") and "one seed" in tie["text"]
    assert "closer to" not in tie["text"] and "level with the L1-only 0.500" in tie["text"]
    # a difference inside the spread over seeds is no winner either, however large against 2%
    spread = {"variant": "L1", "per_seed": [{}, {}], "sharpness_ratio": {"mean": 0.2, "std": 0.35}}
    wide = judge([spread, {**spread, "variant": "L1+cGAN", "sharpness_ratio": {"mean": 0.5, "std": 0.1}}])
    assert not wide["clear"] and "the spread over seeds" in wide["text"]
    clear = judge([_row("L1", 0.2, 0.5), _row("L1+cGAN", 0.25, 0.5)])  # 0.80 vs 0.75 off real: 6%, one seed
    assert clear["clear"] and clear["sharper"] and "closer to real sharpness" in clear["text"]


def test_an_overshoot_above_real_sharpness_is_not_closer_to_real():
    # newcomer 7, R9: L1 0.191 vs L1+cGAN 1.751 (|1 − r| 0.809 vs 0.751) was "closer to real sharpness"
    v = judge([_row("L1", 0.191, 0.126), _row("L1+cGAN", 1.751, 0.117)])
    assert v["overshoot"] and not v["sharper"]
    assert "closer to real sharpness than" not in v["text"].replace("not closer to real sharpness than", "")
    assert "L1+cGAN overshoots: sharpness_ratio 1.751 is more high-frequency energy than the real targets" in v["text"]
    assert "noise or grid artefacts" in v["text"] and "0.191, blurrier than the real targets" in v["text"]
    near = judge([_row("L1", 0.191, 0.126), _row("L1+cGAN", 1.05, 0.126)])  # within 0.1 of 1: as sharp as real
    assert near["sharper"] and not near["overshoot"] and "is closer to real sharpness" in near["text"]


def test_a_study_of_a_few_optimizer_steps_per_variant_says_so_once(pairs, tmp_path, capsys):
    # newcomer 7, R10: two variants of 2 steps each tied to 4 digits and nothing said why
    out = tmp_path / "study"
    assert main(["study", "gan", "--data", str(pairs), "--epochs", "1", "--out", str(out), "--set",
                 "model.widths=[4,8]", "--set", "model.d_width=8", "--set", "train.batch_size=32"]) == 0
    printed = capsys.readouterr().out
    n = len(np.load(out / "l1-seed0" / "split.npz")["train"])
    per = -(-n // 32)
    assert printed.count(f"note: {n} training samples at train.batch_size=32 make {per} optimizer steps per epoch, "
                         f"{per} per variant, over 1 epoch: too few to learn much") == 1
