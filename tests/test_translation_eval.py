"""A trained pix2pix run read back as a newcomer reads it (newcomer 7, R9 and R13): the train summary shows the
sharpness the diagnosis points at, with how to read it; `evaluate` takes the pairs `predict` takes (another size,
grey for colour) and says why it prints no FCN-score."""

import numpy as np
import pytest
from folder_data import pair_folder
from PIL import Image

import idealfit as fit
from idealfit.cli import main
from idealfit.tasks.translation import sharpness_reading
from idealfit.train.session import format_summary


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 1-epoch pix2pix run on 24 colour 32 px pairs from an NPZ (its config keeps image_size and channels
    unset, as an embedded set's does), and that NPZ."""
    root = tmp_path_factory.mktemp("p2p")
    x = np.random.default_rng(0).random((24, 3, 32, 32)).astype(np.float32)
    np.savez(root / "pairs.npz", x=x, y=1 - x)
    r = fit.train(data=str(root / "pairs.npz"), model="pix2pix", epochs=1, out=root / "run", verbose=False,
                  set={"train.batch_size": 8, "train.progress": False, "model.widths": [4, 8], "model.d_width": 4})
    return r, root / "pairs.npz"


def _rewrite(src, dst, convert):
    """dst/A, dst/B: every image of src/A, src/B through `convert` (a PIL image -> a PIL image)."""
    for p in sorted(src.rglob("*.png")):
        out = dst / p.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        convert(Image.open(p)).save(out)
    return dst


def test_the_summary_prints_the_sharpness_the_diagnosis_points_at(run):
    r, _ = run
    m = r.summary["metrics"]
    line = next(x for x in format_summary(r).splitlines() if x.strip().startswith("sharpness:"))
    assert f"test {m['test']['sharpness_ratio']:.3g}" in line and f"val {m['val']['sharpness_ratio']:.3g}" in line
    assert "generated / real" in line and sharpness_reading(m["test"]["sharpness_ratio"]) in line


def test_evaluate_takes_grey_pairs_and_other_sizes_as_predict_does(run, tmp_path, capsys):
    # newcomer 7, R13: "inputs have samples of shape (1, 32, 32); this run expects (3, 64, 64)"
    r, _ = run
    grey = pair_folder(tmp_path / "grey", 24)  # grey 32 px pairs, for a colour run
    # the reference: the same pixels as colour arrays (grey repeated into R, G and B, as PIL reads grey as RGB)
    read = {s: np.stack([np.asarray(Image.open(p), np.float32) / 255 for p in sorted((grey / s).glob("*.png"))])
            for s in ("A", "B")}
    np.savez(tmp_path / "ref.npz", x=np.repeat(read["A"][:, None], 3, axis=1), y=np.repeat(read["B"][:, None], 3, axis=1))
    want, got = r.evaluate(str(tmp_path / "ref.npz")), r.evaluate(str(grey))
    for k in ("l1", "psnr", "ssim", "sharpness_ratio"):
        assert got[k] == pytest.approx(want[k], rel=1e-5, abs=1e-7)
    big = _rewrite(grey, tmp_path / "big", lambda im: im.resize((48, 48), Image.Resampling.NEAREST))
    assert main(["evaluate", str(r.dir), "--data", str(big)]) == 0  # read at the run's 32 px, as training reads
    out = capsys.readouterr().out
    l1 = float(next(x for x in out.splitlines() if x.strip().startswith("l1:")).split(":")[1])
    assert 0 <= l1 <= 1


def test_evaluate_says_why_it_prints_no_fcn_score_and_how_to_read_sharpness(run, capsys):
    r, data = run  # the run's NPZ: no class maps behind its inputs
    assert main(["evaluate", str(r.dir), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "no FCN-score here: it needs the segmenter trained on the run's training targets" in out
    assert "this run has none: its inputs are not class maps" in out  # noise in, no class maps behind it
    ratio = float(r.evaluate(str(data))["sharpness_ratio"])  # the printed table rounds it to 4 decimals
    assert f"sharpness_ratio {ratio:.3g}: {sharpness_reading(ratio)}" in out


def test_a_run_of_few_optimizer_steps_says_so_at_the_start(tmp_path, capsys):
    # newcomer 7, R10: a 28-pair folder trained 1 step per epoch and nothing said so
    data = pair_folder(tmp_path / "pairs", 24)
    assert main(["train", "--data", str(data), "--model", "pix2pix", "--epochs", "1", "--out", str(tmp_path / "r"),
                 "--set", "train.batch_size=8", "--set", "model.widths=[4,8]", "--set", "model.d_width=4",
                 "--set", "train.progress=false"]) == 0
    out = capsys.readouterr().out
    n = len(np.load(tmp_path / "r" / "split.npz")["train"])
    per = -(-n // 8)
    assert (f"note: {n} training samples at train.batch_size=8 make {per} optimizer steps per epoch, {per} in all "
            "over 1 epoch: too few to learn much; lower train.batch_size (e.g. --set train.batch_size=1)") in out
