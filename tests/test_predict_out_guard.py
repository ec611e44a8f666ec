"""`idealfit predict --out` never replaces its inputs, a dataset's masks or images, or a file it did not write
(newcomer report 6, bug 6): refused in one line, with nothing written; its own earlier outputs it replaces."""

import hashlib

import numpy as np
import pytest
from folder_data import mask_folder, pair_folder

import idealfit as fit
from idealfit.cli import main


def _tree(root):
    """{relative path: sha256} of every file under root: the whole folder, byte for byte."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{"seg", "pairs", "table"}: a 1-epoch run of each, and the folders they came from."""
    root = tmp_path_factory.mktemp("guard")
    tiny = {"train.batch_size": 8, "train.progress": False, "model.widths": [4, 8]}
    seg = fit.train(data=str(mask_folder(root / "seg", 16, names=None)), model="unet", epochs=1, out=root / "run-seg",
                    verbose=False, set=tiny)
    pairs = fit.train(data=str(pair_folder(root / "pairs", 16)), model="pix2pix", epochs=1, out=root / "run-pairs",
                      verbose=False, set={**tiny, "model.d_width": 4})
    rng = np.random.default_rng(2)
    rows = ["a,b,y"] + [f"{a:.4f},{b:.4f},{a - b:.4f}" for a, b in rng.normal(size=(60, 2))]
    (root / "t.csv").write_text("\n".join(rows) + "\n")
    table = fit.train(data=str(root / "t.csv"), target="y", epochs=1, out=root / "run-table", verbose=False,
                      set={"train.progress": False})
    return {"root": root, "seg": seg.dir, "pairs": pairs.dir, "table": table.dir}


def test_a_csv_out_that_is_the_input_or_another_file_is_refused_and_kept(runs, tmp_path, cli_error):
    new = tmp_path / "new.csv"
    new.write_text("a,b\n0.1,0.2\n0.3,-0.4\n")
    other = tmp_path / "notes.csv"
    other.write_text("my,own\n1,2\n")
    before = _tree(tmp_path)
    cli_error(["predict", str(runs["table"]), str(new), "--out", str(new)], "is one of the inputs", "new file name")
    cli_error(["predict", str(runs["table"]), str(new), "--out", str(other)], "not a prediction CSV")
    assert _tree(tmp_path) == before  # nothing written, nothing replaced
    preds = tmp_path / "preds.csv"  # predict's own CSV it replaces, as README says
    assert main(["predict", str(runs["table"]), str(new), "--out", str(preds)]) == 0
    assert main(["predict", str(runs["table"]), str(new), "--out", str(preds)]) == 0
    assert preds.read_text().splitlines()[0] == "input,predicted"


def test_segmentation_out_never_touches_the_datasets_masks_or_images(runs, tmp_path, cli_error):
    import shutil

    data = tmp_path / "copy"
    shutil.copytree(runs["root"] / "seg", data)
    before = _tree(data)
    images = str(data / "images")
    cli_error(["predict", str(runs["seg"]), images, "--out", str(data / "masks"), "--overlay"],
              "masks/ folder", "drop --overlay")
    cli_error(["predict", str(runs["seg"]), images, "--out", str(data / "masks")],
              "already holds 00.png and 15 more", "not written by predict")
    cli_error(["predict", str(runs["seg"]), images, "--out", images], "holds the input")
    cli_error(["predict", str(runs["seg"]), str(data / "images" / "03.png"), "--out", str(data / "images")],
              "holds the input")
    assert _tree(data) == before  # the hand-made truth and the photos, byte for byte
    out = tmp_path / "pred"
    assert main(["predict", str(runs["seg"]), images, "--out", str(out), "--overlay"]) == 0
    first = _tree(out)
    assert main(["predict", str(runs["seg"]), images, "--out", str(out), "--overlay"]) == 0  # its own: replaced
    assert _tree(out) == first and len(first) == 32


def test_translation_out_keeps_the_target_folder(runs, tmp_path, cli_error):
    import shutil

    data = tmp_path / "copy"
    shutil.copytree(runs["root"] / "pairs", data)
    before = _tree(data)
    cli_error(["predict", str(runs["pairs"]), str(data / "A"), "--out", str(data / "B")], "already holds 00.png")
    cli_error(["predict", str(runs["pairs"]), str(data / "A"), "--out", str(data / "A")], "holds the input")
    assert _tree(data) == before


def test_a_translation_runs_out_errors_speak_of_generated_images(runs, tmp_path, cli_error):
    # newcomer 7, R11: a pix2pix run was told it "writes one mask PNG per input" and to "write the masks" elsewhere
    image = runs["root"] / "pairs" / "A" / "00.png"
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"mine")
    line = cli_error(["predict", str(runs["pairs"]), str(image), "--out", str(taken)],
                     "a translation run writes one generated image PNG per input into a folder")
    assert "mask" not in line
    line = cli_error(["predict", str(runs["pairs"]), str(image), "--out", str(runs["pairs"])],
                     "is the run folder; write the generated images somewhere else")
    assert "mask" not in line
    assert taken.read_bytes() == b"mine"


@pytest.mark.parametrize("kind, run_word, one", [("seg", "a segmentation run", "mask PNG"),
                                                 ("pairs", "a translation run", "generated image PNG")])
def test_png_out_with_a_file_suffix_is_refused_not_made_a_folder(runs, tmp_path, cli_error, kind, run_word, one):
    # newcomer 7, R12: `--out s000_pred.png` (not existing) became a folder of that name; one rule now: --out is a
    # folder (existing, or new inside an existing one), and a name with a file suffix is refused in one line
    images = str(runs["root"] / ("seg/images/03.png" if kind == "seg" else "pairs/A/03.png"))
    for name in ("s000_pred.png", "gen_out.PNG", "preds.csv"):
        cli_error(["predict", str(runs[kind]), images, "--out", str(tmp_path / name)],
                  f"names a file ({name[name.rindex('.'):]}); {run_word} writes one {one} per input into a folder",
                  f"give a folder such as {tmp_path / name[:name.rindex('.')]}/")
        assert not (tmp_path / name).exists()
    (tmp_path / "x.png").write_bytes(b"not ours")  # an existing file: refused as a file, as before, in the run's words
    cli_error(["predict", str(runs[kind]), images, "--out", str(tmp_path / "x.png")], f"is a file; {run_word}")
    cli_error(["predict", str(runs[kind]), images, "--out", str(runs[kind])], "is the run folder; write the "
              + ("masks" if kind == "seg" else "generated images"))
    assert main(["predict", str(runs[kind]), images, "--out", str(tmp_path / "new")]) == 0  # a new folder: made
    assert (tmp_path / "new" / "03.png").is_file()
