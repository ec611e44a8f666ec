"""A corpus of bad input files, each run through the real CLI: exit 2, one `idealfit: error:` line
naming the problem, and nothing written (no run folder; an existing run's files unchanged).

To add a case, append a `Case` to CASES: a name, a builder that writes the bad file under a folder
and returns its path, the command (train, predict or evaluate) and a substring the error must hold.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from idealfit.cli import main

FEATURES = ["a", "b", "c"]


def _rows(n: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[f"{v:.4f}" for v in rng.normal(size=3)] + [str(["u", "v"][i % 2])] for i in range(n)]


def _csv(text: str, name: str = "x.csv") -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        (d / name).write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        return d / name
    return build


def _good_csv(n: int = 60, header: str = "a,b,c,y") -> str:
    return header + "\n" + "\n".join(",".join(r) for r in _rows(n)) + "\n"


def _npz(**arrays) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        np.savez(d / "x.npz", **arrays)
        return d / "x.npz"
    return build


def _truncated_npz(d: Path) -> Path:
    np.savez(d / "full.npz", x=np.ones((40, 3)), y=np.arange(40) % 2)
    data = (d / "full.npz").read_bytes()
    (d / "x.npz").write_bytes(data[: len(data) // 2])
    return d / "x.npz"


def _object_npz(d: Path) -> Path:
    np.savez(d / "x.npz", x=np.array([[1, "a"], [2, None]] * 20, dtype=object), y=np.arange(40) % 2)
    return d / "x.npz"


def _images(d: Path, bad: Callable[[Path], None] | None = None) -> Path:
    root = d / "imgs"
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (8, 8), 40 * i).save(root / c / f"{i}.png")
    if bad:
        bad(root / "dog" / "9.png")
    return root


def _bomb(path: Path) -> None:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 65535, 65535, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""))


def _truncated_png(path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8), dtype=np.uint8)).save(buf, format="PNG")
    path.write_bytes(buf.getvalue()[:60])


@dataclass
class Case:
    name: str
    build: Callable[[Path], Path]
    command: str  # train | predict | evaluate
    expect: str  # a substring of the one error line
    marks: list = field(default_factory=list)


LONG_FIELD = "a,b,c,y\n" + "1,2,3,u\n" * 5 + '1,"' + "z" * 140_000 + '",3,u\n' + "1,2,3,v\n" * 5
CASES = [
    Case("empty csv", _csv(""), "train", "is empty"),
    Case("header-only csv", _csv("a,b,c,y\n"), "train", "no data rows"),
    Case("one-row csv", _csv("a,b,c,y\n1,2,3,u\n"), "train", "only 1 data row"),
    Case("three-row csv", _csv(_good_csv(3)), "train", "which leaves 1 to train on"),
    Case("target column missing", _csv(_good_csv(header="a,b,c,label")), "train", "no column 'y' to use as target"),
    Case("duplicate feature columns", _csv(_good_csv(header="a,a,c,y")), "train", "two columns named 'a'; rename one"),
    Case("duplicate target column", _csv(_good_csv(header="y,b,c,y")), "train", "two columns named 'y'"),
    # a ;- or tab-delimited file is read (tests/data/test_dialects.py); one whose rows do not split alike is refused
    Case("ragged semicolon csv", _csv(_good_csv().replace(",", ";").replace("\n", "\n1;2\n", 1)), "train", "looks ;-delimited"),
    Case("ragged tab csv", _csv(_good_csv().replace(",", "\t").replace("\n", "\n1\t2\n", 1)), "train", "looks tab-delimited"),
    Case("field over 128 KiB", _csv(LONG_FIELD), "train", "KiB"),
    Case("ragged row", _csv(_good_csv(10) + "1,2\n"), "train", "line 12 has 2 fields"),
    Case("latin-1 csv", _csv("a,b,c,y\n" + "1,2,3,caf\xe9\n1,2,3,u\n" * 10), "train", "not a UTF-8"),
    Case("truncated npz", _truncated_npz, "train", "not a readable .npz"),
    Case("object npz", _object_npz, "train", "need pickle"),
    Case("complex x npz", _npz(x=np.ones((40, 3)) * 1j, y=np.arange(40) % 2), "train", "complex numbers"),
    Case("complex y npz", _npz(x=np.ones((40, 3)), y=np.arange(40) * 1j), "train", "y holds complex numbers"),
    Case("corrupt image in folder", lambda d: _images(d, _truncated_png), "train", "9.png is not a readable image"),
    Case("text file named .png", lambda d: _images(d, lambda p: p.write_text("hello")), "train", "not a readable image"),
    Case("decompression bomb", lambda d: _images(d, _bomb), "train", "claims more than"),
    Case("gzip named .csv", _csv(gzip.compress(b"a,b,c,y\n1,2,3,u\n")), "train", "not a UTF-8"),
    # against a run trained on a,b,c -> y
    Case("predict: duplicate columns", _csv("a,a,c\n1,2,3\n"), "predict", "two columns named 'a'"),
    Case("predict: missing column", _csv("a,c\n1,3\n"), "predict", "lacks column 'b'"),
    Case("predict: ragged semicolon csv", _csv("a;b;c\n1;2\n1;2;3\n"), "predict", "looks ;-delimited"),
    Case("predict: latin-1 csv", _csv("a,b,c,note\n1,2,3,caf\xe9\n".encode("latin-1")), "predict", "not a UTF-8"),
    Case("predict: text in numeric column", _csv("a,b,c\n1,2,3\n1,lots,3\n"), "predict", "x.csv:3: column 'b' holds the text 'lots'"),
    Case("predict: field over 128 KiB", _csv(LONG_FIELD), "predict", "KiB"),
    Case("predict: truncated npz", _truncated_npz, "predict", "not a readable .npz"),
    Case("predict: object npz", _object_npz, "predict", "need pickle"),
    Case("predict: complex npz", _npz(x=np.ones((4, 3)) * 1j), "predict", "complex numbers"),
    Case("evaluate: duplicate columns", _csv(_good_csv(header="a,b,c,c,y").replace(",u", ",0,u").replace(",v", ",0,v")),
         "evaluate", "two columns named 'c'"),
    Case("evaluate: latin-1 csv", _csv(("a,b,c,y\n" + "1,2,3,\xe9\n").encode("latin-1")), "evaluate", "not a UTF-8"),
    Case("evaluate: text in numeric column", _csv(_good_csv(5) + "1,2,three,u\n"), "evaluate", "column 'c' holds the text 'three'"),
    Case("evaluate: missing target", _csv("a,b,c\n1,2,3\n"), "evaluate", "has no 'y' column, the column this run predicts"),
]


def _fix_latin1(case: Case) -> Case:
    """Builders given str write UTF-8; the latin-1 cases need their bytes as latin-1."""
    if case.name == "latin-1 csv":
        return Case(case.name, _csv(("a,b,c,y\n" + "1,2,3,caf\xe9\n1,2,3,u\n" * 10).encode("latin-1")), case.command,
                    case.expect, case.marks)
    return case


CASES = [_fix_latin1(c) for c in CASES]


@pytest.fixture(scope="module")
def table_run(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("good")
    (d / "good.csv").write_text(_good_csv(60))
    assert main(["train", "--data", str(d / "good.csv"), "--target", "y", "--model", "mlp", "--epochs", "1",
                 "--no-progress", "--out", str(d / "run")]) == 0
    return d / "run"


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def test_bad_input_is_one_clear_line_and_writes_nothing(case, tmp_path, capsys, request):
    path = case.build(tmp_path)
    if case.command == "train":
        out = tmp_path / "run"
        argv = ["train", "--data", str(path), "--target", "y", "--epochs", "1", "--no-progress", "--out", str(out)]
    else:
        out = request.getfixturevalue("table_run")
        argv = (["predict", str(out), str(path)] if case.command == "predict"
                else ["evaluate", str(out), "--data", str(path)])
    before = _snapshot(out) if out.exists() else None
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("idealfit: error: ") and case.expect in lines[0], lines[0]
    if before is None:
        assert not out.exists()
    else:
        assert _snapshot(out) == before


def _file(name: str, data: bytes) -> Callable[[Path], list[str]]:
    def build(d: Path) -> list[str]:
        (d / name).write_bytes(data)
        return [str(d / name)]
    return build


_BOMB = "a0: &a0 [1,1,1,1,1,1,1,1,1]\n" + "".join(
    f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10))

# (name, extra `train` arguments built under a folder, substring of the error): config and option mistakes
OPTION_CASES = [
    ("lr inf", lambda d: ["--lr", "inf"], "train.lr must be a finite number"),
    ("lr 1e400 in yaml", lambda d: ["--config", *_file("c.yaml", b"train:\n  lr: 1.0e+400\n")(d)], "finite"),
    ("invalid yaml in --set", lambda d: ["--set", "model.widths=[16,"], "is not a valid value"),
    ("latin-1 config", lambda d: ["--config", *_file("c.yaml", "train: {lr: 0.1} # caf\xe9\n".encode("latin-1"))(d)],
     "not UTF-8 text"),
    ("alias bomb config", lambda d: ["--config", *_file("c.yaml", _BOMB.encode())(d)], "aliases"),
    ("config is a folder", lambda d: ["--config", str(d)], "is a folder"),
    ("negative seed", lambda d: ["--seed", "-1"], "train.seed must be a whole number from 0"),
    ("batch size 1e30", lambda d: ["--batch-size", "1e30"], "is too large"),
    ("huge batch size", lambda d: ["--batch-size", str(10**30)], "is too large"),
    ("out at a file", lambda d: ["--out", *_file("taken", b"x")(d)], "is not a folder"),
    ("out under a file", lambda d: ["--out", _file("taken", b"x")(d)[0] + "/run"], "is a file, not a folder"),
    ("unknown key", lambda d: ["--set", "train.lrr=0.1"], "did you mean train.lr?"),
]


@pytest.mark.parametrize("name, extra, expect", OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_bad_option_is_one_clear_line_and_writes_nothing(name, extra, expect, tmp_path, capsys):
    data = _csv(_good_csv(60))(tmp_path)
    args = extra(tmp_path)
    argv = ["train", "--data", str(data), "--target", "y", "--epochs", "1", "--no-progress"]
    argv += args if "--out" in args else [*args, "--out", str(tmp_path / "run")]
    before = sorted(p.name for p in tmp_path.iterdir())
    capsys.readouterr()
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("idealfit: error: ") and expect in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no run folder, nothing else


@pytest.mark.parametrize("key", ["data.resize=pad", "data.skip_unreadable=true"])
def test_image_folder_options_on_other_data_are_refused(key, tmp_path, cli_error):
    data = _csv(_good_csv(60))(tmp_path)
    cli_error(["train", "--data", str(data), "--target", "y", "--set", key, "--out", str(tmp_path / "r")],
              f"{key.split('=')[0]} works on image", "drop " + key.split("=")[0])  # image (and WAV) folders
    cli_error(["train", "--data", "digits", "--set", key, "--out", str(tmp_path / "r")], "works on image")
    assert not (tmp_path / "r").exists()


def test_evaluate_when_the_source_is_gone_says_so(tmp_path, cli_error):
    data = _csv(_good_csv(60))(tmp_path)
    assert main(["train", "--data", str(data), "--target", "y", "--epochs", "1", "--no-progress",
                 "--out", str(tmp_path / "r")]) == 0
    data.unlink()
    cli_error(["evaluate", str(tmp_path / "r")], f"this run's source {data} no longer exists", "--data FILE")
