"""A run folder people share and download: no file inside it may be a link, a damaged file is one clear line.

Every command that reads a run (`evaluate`, `predict`, `report`, `explain RUN`, `train --resume`) is run
on a real run folder with one file replaced by a link or by damaged bytes.
"""

import io
import pickle
import shutil
from collections import OrderedDict

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save as save_safetensors

from idealfit.cli import main
from idealfit.run_files import read_bytes, run_file, run_subdir


@pytest.fixture(scope="module")
def xo_run(tmp_path_factory):
    """A real run folder (one epoch of the small CNN on the embedded X/O images) and a 5x5 PNG to predict."""
    root = tmp_path_factory.mktemp("safety")
    out = root / "xo"
    assert main(["train", "--data", "xo", "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    png = root / "x.png"
    Image.fromarray((np.eye(5) * 255).astype(np.uint8), mode="L").save(png)
    return out, png


@pytest.fixture
def run(xo_run, tmp_path):
    """A fresh copy of the run for one test to damage."""
    src, _ = xo_run
    return shutil.copytree(src, tmp_path / "run")


def commands(run, png):
    return {
        "evaluate": ["evaluate", str(run)],
        "predict": ["predict", str(run), str(png)],
        "report": ["report", str(run)],
        "explain": ["explain", str(run), "--input", str(png)],
        "resume": ["train", "--resume", str(run), "--epochs", "2", "--no-progress"],
    }


# ---- links --------------------------------------------------------------------------------------------

LINKED = [  # file, the commands that read it
    ("config.yaml", ["evaluate", "predict", "report", "explain"]),
    ("preprocess.json", ["evaluate", "predict", "explain"]),
    ("summary.json", ["evaluate", "predict", "report", "explain"]),
    ("metrics.csv", ["evaluate", "predict", "report", "explain"]),
    ("model.safetensors", ["evaluate", "predict", "explain"]),
    ("model.txt", ["report"]),
    ("predictions.npz", ["report"]),
    ("split.npz", ["evaluate"]),
    ("checkpoint.pt", ["resume"]),
]


@pytest.mark.parametrize(("name", "command"), [(n, c) for n, cs in LINKED for c in cs])
def test_a_linked_file_in_the_run_is_refused(run, xo_run, tmp_path, cli_error, name, command):
    # the link points at an identical copy: even a harmless-looking link is refused, so none can leak
    outside = tmp_path / "elsewhere" / name
    outside.parent.mkdir()
    shutil.move(run / name, outside)
    (run / name).symlink_to(outside)
    before = outside.read_bytes()
    cli_error(commands(run, xo_run[1])[command], f"{run / name} is a symbolic link", "replace it with the file")
    assert outside.read_bytes() == before


def test_report_does_not_paste_a_linked_files_content(run, tmp_path, cli_error):
    secret = tmp_path / "secret.txt"
    secret.write_text("api_key = hunter2\n")
    (run / "model.txt").unlink()
    (run / "model.txt").symlink_to(secret)
    (run / "report.html").unlink()
    cli_error(["report", str(run)], "model.txt is a symbolic link")
    assert not (run / "report.html").exists()


def test_report_refuses_a_linked_extra_image(run, tmp_path, cli_error):
    from idealfit.report.html import add_extra

    (run / "pic.png").write_bytes((run / "model.txt").read_bytes())  # any file; replaced by a link below
    add_extra(run, section="S", caption="c", path="pic.png")
    (run / "pic.png").unlink()
    (run / "pic.png").symlink_to(tmp_path / "secret.png")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG secret")
    cli_error(["report", str(run)], "pic.png is a symbolic link")
    assert b"secret" not in (run / "report.html").read_bytes()


def test_explain_refuses_a_linked_explain_folder(run, xo_run, tmp_path, cli_error):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (run / "explain").symlink_to(elsewhere, target_is_directory=True)
    cli_error(commands(run, xo_run[1])["explain"], "explain is a symbolic link")
    assert list(elsewhere.iterdir()) == []


def test_explain_replaces_a_link_inside_explain_instead_of_writing_through_it(run, xo_run, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (run / "explain").mkdir()
    (run / "explain" / "saliency_0.png").symlink_to(victim)
    assert main(commands(run, xo_run[1])["explain"]) == 0
    assert victim.read_text() == "keep me"
    assert not (run / "explain" / "saliency_0.png").is_symlink()
    assert (run / "explain" / "saliency_0.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("command", ["evaluate", "predict", "report", "explain"])
def test_a_run_folder_that_is_itself_a_link_is_fine(run, xo_run, tmp_path, capsys, command):
    link = tmp_path / "latest"
    link.symlink_to(run, target_is_directory=True)
    assert main(commands(link, xo_run[1])[command]) == 0, capsys.readouterr().err


def test_run_file_refuses_escapes_and_links_below_the_folder(tmp_path):
    from idealfit.errors import UserError

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("a")
    assert run_file(tmp_path, "sub/a.txt") == tmp_path / "sub" / "a.txt"
    assert run_file(tmp_path, "not/yet/there.png") == tmp_path / "not" / "yet" / "there.png"
    for bad in ("../x", "/etc/passwd", "sub/../../x"):
        with pytest.raises(UserError, match="not a path inside the run folder"):
            run_file(tmp_path, bad)
    (tmp_path / "via").symlink_to(tmp_path / "sub", target_is_directory=True)
    with pytest.raises(UserError, match="via is a symbolic link"):
        read_bytes(tmp_path, "via/a.txt")
    with pytest.raises(UserError, match="via is a symbolic link"):
        run_subdir(tmp_path, "via")
    assert run_subdir(tmp_path, "new").is_dir() and run_subdir(tmp_path, "new").is_dir()


def test_a_fifo_in_the_run_is_refused_instead_of_hanging(tmp_path):
    import os

    from idealfit.errors import UserError

    os.mkfifo(tmp_path / "model.txt")
    with pytest.raises(UserError, match="not a regular file"):
        read_bytes(tmp_path, "model.txt")


# ---- damaged files -------------------------------------------------------------------------------------


class Custom:  # an object only a full unpickler could rebuild
    pass


def _safetensors_of_another_shape(run):
    return save_safetensors({"0.weight": torch.zeros(3)})


def _truncated(run, name, keep=0.5):
    data = (run / name).read_bytes()
    return data[: int(len(data) * keep)]


def _torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


DAMAGE = {  # file -> {damage: bytes or a function of the run folder}
    "preprocess.json": {"empty object": b"{}", "list": b"[]", "not json": b'{"task": ', "binary": b"\xff\xfe\x00"},
    "summary.json": {"empty object": b"{}", "list": b"[]", "not json": b"{oops"},
    "model.safetensors": {
        "truncated": lambda run: _truncated(run, "model.safetensors"),
        "garbage": b"garbage" * 20,
        "empty": b"",
        "other shape": _safetensors_of_another_shape,
    },
    "config.yaml": {"not yaml": b"data: [\n", "list": b"- 1\n- 2\n", "binary": b"\xff\xfe\x00\x81"},
    "metrics.csv": {"text": b"epoch,lr\nx,y\n", "binary": b"epoch\x00,\xff\n1,2\n"},
    "split.npz": {"truncated": lambda run: _truncated(run, "split.npz"), "garbage": b"PK\x03\x04garbage"},
    "predictions.npz": {"truncated": lambda run: _truncated(run, "predictions.npz"), "garbage": b"junk"},
    "checkpoint.pt": {
        "pickle": pickle.dumps({"model": 1}),
        "custom class": lambda run: _torch_bytes({"x": Custom()}),
        "plain tensor": lambda run: _torch_bytes(torch.zeros(2)),
        "truncated": lambda run: _truncated(run, "checkpoint.pt"),
        "garbage": b"\x00" * 64,
    },
}
READERS = {  # file -> the commands that must refuse it
    "preprocess.json": ["evaluate", "predict", "explain"],
    "summary.json": ["evaluate", "predict", "report", "explain"],
    "model.safetensors": ["evaluate", "predict", "explain"],
    "config.yaml": ["evaluate", "predict", "explain"],  # the report shows config.yaml as text only
    "metrics.csv": ["evaluate", "predict", "report", "explain"],
    "split.npz": ["evaluate"],
    "predictions.npz": ["report"],
    "checkpoint.pt": ["resume"],
}
CASES = [(name, damage, command) for name, damages in DAMAGE.items() for damage in damages
         for command in READERS[name]]


@pytest.mark.parametrize(("name", "damage", "command"), CASES, ids=["-".join(c) for c in CASES])
def test_a_damaged_file_is_one_line_naming_it(run, xo_run, cli_error, name, damage, command):
    content = DAMAGE[name][damage]
    (run / name).write_bytes(content(run) if callable(content) else content)
    cli_error(commands(run, xo_run[1])[command], str(run / name))


def test_a_missing_split_is_one_line_naming_it(run, cli_error):
    (run / "split.npz").unlink()
    cli_error(["evaluate", str(run)], str(run / "split.npz"), "missing")


def test_damage_messages_say_damaged_and_how_to_fix(run, xo_run, cli_error):
    (run / "model.safetensors").write_bytes(b"garbage")
    line = cli_error(["evaluate", str(run)], "model.safetensors is damaged (", "retrain, or restore the file")
    assert len(line) < 400
    (run / "checkpoint.pt").write_bytes(pickle.dumps(OrderedDict(a=Custom())))
    cli_error(commands(run, xo_run[1])["resume"], "checkpoint.pt is damaged (", "start the run again")
