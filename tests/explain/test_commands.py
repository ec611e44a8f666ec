"""`idealfit explain` through `register` on a real argparse parser."""

import argparse
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from idealfit.errors import UserError
from idealfit.explain.commands import handler, register


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="idealfit")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    assert args.func is handler
    return args.func(args)


def test_conv_prints_the_deck_example_and_writes_the_figure(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run(["explain", "conv"]) == 0
    out = capsys.readouterr().out
    assert "[deck: -5, matches]" in out and "[deck: 9, matches]" in out and "DIFFERS" not in out
    assert out.count("window (p=") == 27 + 12
    assert (tmp_path / "explain-conv.png").read_bytes()[:4] == b"\x89PNG"


def test_conv_filter_stride_padding_and_out_are_used(tmp_path, capsys):
    code = _run(["explain", "conv", "--filter", "1,0;0,-1", "--filter", "f_2", "--stride", "2",
                 "--padding", "1", "--out", str(tmp_path / "figs")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "== Filter custom ==" in out and "== Filter f_2 ==" in out and "f_i0" not in out
    assert "Image 5x5 (stride 2, padding 1)" in out
    assert out.count("window (p=") == 2 * (9 + 4)  # per filter: 3x3 conv windows on the padded 7x7, 2x2 pool
    assert (tmp_path / "figs" / "explain-conv.png").is_file()


def test_conv_reads_npy_txt_and_image_files(tmp_path, capsys):
    np.save(tmp_path / "img.npy", np.eye(4))
    np.savetxt(tmp_path / "k.txt", np.array([[1, -1], [-1, 1]]), delimiter=",")
    assert _run(["explain", "conv", "--image", str(tmp_path / "img.npy"), "--filter", str(tmp_path / "k.txt"),
                 "--out", str(tmp_path)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Image 4x4" in out and "== Filter k ==" in out
    Image.fromarray(np.full((40, 20), 255, dtype=np.uint8)).save(tmp_path / "white.png")
    assert _run(["explain", "conv", "--image", str(tmp_path / "white.png"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Image 32x16" in out  # shrunk to 32 px, white -> +1
    assert "... 411 more windows" in out  # 30 x 14 = 420 windows per filter > 36: 9 shown by default


def test_conv_deformed_image_and_max_windows(tmp_path, capsys):
    assert _run(["explain", "conv", "--image", "deformed", "--filter", "f_1", "--max-windows", "3",
                 "--out", str(tmp_path)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "== Filter f_i1 ==" in out and "[deck: 7, matches]" in out
    assert out.count("window (p=") == 3 + 3
    assert "rows 3-4 are our assumption" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["explain", "conv", "--filter", "1,2;3"], "rows of numbers"),
        (["explain", "conv", "--filter", "missing.npy"], "not found"),
        (["explain", "conv", "--image", "missing.png"], "not found"),
        (["explain", "conv", "--stride", "0"], "stride"),
        (["explain", "conv", "--max-windows", "-1"], "max-windows"),
        (["explain", "kernels", "--filter", "f_i0"], "--filter does not apply"),
        (["explain", "kernels", "--out", "k.jpg"], ".png"),
        (["explain", "conv", "--input", "a.png"], "--input does not apply"),
        (["explain", "no-such-run"], "not 'conv', 'kernels' or an existing run folder"),
    ],
)
def test_bad_input_is_a_user_error(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=message):
        _run(argv)


def test_kernels_writes_the_panel(tmp_path, capsys):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 30), dtype=np.uint8)).save(
        tmp_path / "p.png"
    )
    assert (
        _run(["explain", "kernels", "--image", str(tmp_path / "p.png"), "--out", str(tmp_path / "k.png")])
        == 0
    )
    out = capsys.readouterr().out
    assert "24x30 pixels" in out and "Sharpen" in out and "[0 -1 0 / -1 5 -1 / 0 -1 0]" in out
    assert (tmp_path / "k.png").read_bytes()[:4] == b"\x89PNG"


def test_kernels_default_image_and_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run(["explain", "kernels"]) == 0
    assert "china.jpg" in capsys.readouterr().out
    assert (tmp_path / "explain-kernels.png").is_file()


def _fake_run_api(monkeypatch, run_dir: Path) -> list:
    """Stand-ins for the lead's idealfit.run.load_run and the report's add_extra / build_run_report."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 16, 2)).eval()
    calls = []
    run = types.SimpleNamespace(
        model=model, class_names=["cat", "dog"], dir=run_dir, state={"kind": "image"}, task="classification",
        load_inputs=lambda paths: torch.randn(len(paths), 1, 6, 6),
    )  # fmt: skip
    monkeypatch.setitem(sys.modules, "idealfit.run", types.SimpleNamespace(load_run=lambda path: run))
    report = types.SimpleNamespace(
        add_extra=lambda d, **kw: calls.append(("add_extra", d, kw)),
        set_section=lambda d, section, entries: calls.extend(("add_extra", d, {"section": section, **e})
                                                             for e in entries),
        build_run_report=lambda d: calls.append(("build", d)) or Path(d) / "report.html",
    )
    monkeypatch.setitem(sys.modules, "idealfit.report.html", report)
    return calls


def test_run_dir_writes_pngs_and_registers_them_in_the_report(tmp_path, capsys, monkeypatch):
    calls = _fake_run_api(monkeypatch, tmp_path)
    assert _run(["explain", str(tmp_path), "--input", "a.png", "b.png"]) == 0
    out = capsys.readouterr().out
    assert "a.png: " in out and "cat" in out and "report.html" in out
    extras = [kw for name, _, kw in calls[:-1]]
    assert calls[-1] == ("build", tmp_path)
    assert extras[0]["caption"] == "top classes" and "b.png:" in extras[0]["text"]
    paths = [e["path"] for e in extras[1:]]
    assert all(p.startswith("explain/") and (tmp_path / p).is_file() for p in paths)
    assert "explain/saliency_1.png" in paths and {e["section"] for e in extras} == {"Explain"}


def test_run_dir_out_outside_the_run_is_not_added_to_the_report(tmp_path, capsys, monkeypatch):
    (tmp_path / "run").mkdir()
    calls = _fake_run_api(monkeypatch, tmp_path / "run")
    assert (
        _run(["explain", str(tmp_path / "run"), "--input", "a.png", "--out", str(tmp_path / "elsewhere")])
        == 0
    )
    assert calls == []
    assert "outside the run folder" in capsys.readouterr().out
    assert (tmp_path / "elsewhere" / "saliency_0.png").is_file()


def test_a_folder_that_is_no_run_is_said_before_asking_for_input(tmp_path):
    with pytest.raises(UserError, match="is not an idealfit run folder"):  # --input would not help it
        _run(["explain", str(tmp_path)])
