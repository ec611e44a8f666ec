"""`idealfit explain`: the deck's convolution worked example, the classic kernels, or a trained run's CNN.

The lead's CLI mounts it with `register(subparsers)`; the handler prints to stdout and returns an exit code.
User mistakes raise UserError (the CLI prints the one line and exits 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from idealfit.errors import UserError

if TYPE_CHECKING:  # numpy and torch are imported where used: `idealfit --help` must not load torch
    import torch

_EPILOG = """\
examples:
  idealfit explain conv                               the deck's 5x5 image and its three filters
  idealfit explain conv --image deformed --filter f_i1
  idealfit explain conv --filter "0,1,0;1,-4,1;0,1,0" --padding 1 --out figs/
  idealfit explain kernels --image photo.jpg --out kernels.png
  idealfit explain runs/cnn-001 --input cat.png --input dog.png
  idealfit explain runs/cnn-001 --page                 interactive runs/cnn-001/explain.html (one offline file)
  idealfit explain conv --page                         the deck's example in the same interactive viewer
"""

# Which options each form reads; any other option given is a mistake we report instead of ignoring.
_OPTIONS = {
    "conv": {"image", "filters", "stride", "padding", "max_windows", "out", "page"},
    "kernels": {"image", "out"},
    "run": {"inputs", "out", "page"},
}
_FLAGS = {
    "image": "--image",
    "filters": "--filter",
    "stride": "--stride",
    "padding": "--padding",
    "max_windows": "--max-windows",
    "inputs": "--input",
    "out": "--out",
    "page": "--page",
}


def register(subparsers) -> argparse.ArgumentParser:
    """Add the `explain` sub-command to an argparse `add_subparsers()` object and return its parser."""
    p = subparsers.add_parser(
        "explain",
        help="CNNs explained: the deck's convolution example, classic kernels, or a trained run's filters",
        description="Explain convolutions number for number, or look inside a trained CNN run.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target", help='"conv" (deck worked example), "kernels" (classic 3x3 kernels) or a RUN_DIR'
    )
    p.add_argument(
        "--image",
        help='conv: "deck", "deformed", FILE.npy/.txt (a matrix) or an image file '
        "(gray, scaled to [-1, 1], shrunk to at most 32 px a side); kernels: any image file",
    )
    p.add_argument(
        "--filter",
        dest="filters",
        action="append",
        metavar="FILTER",
        help='conv, repeatable: a deck name (f_i0, f_i1, f_2), FILE.npy/.txt or rows like "1,1,1;1,1,1;1,1,1"',
    )
    p.add_argument("--stride", type=int, help="conv: convolution stride (default 1)")
    p.add_argument("--padding", type=int, help="conv: zero padding on every side (default 0)")
    p.add_argument(
        "--max-windows",
        type=int,
        help="conv: windows printed per filter (default: all up to 36, else 9; 0 prints all)",
    )
    p.add_argument(
        "--input",
        dest="inputs",
        action="extend",
        nargs="+",
        metavar="IMAGE",
        help="RUN_DIR: input file(s) to explain, preprocessed as in training (default: the run's first 2 test samples)",
    )
    p.add_argument(
        "--out",
        help="conv: folder for explain-conv.png (default .); kernels: the PNG file "
        "(default explain-kernels.png); RUN_DIR: folder (default RUN_DIR/explain); "
        "with --page: the .html file or its folder (default explain-conv.html, RUN_DIR/explain.html)",
    )
    p.add_argument(
        "--page",
        action="store_true",
        default=None,
        help="conv, RUN_DIR: write an interactive, self-contained explain.html instead (gallery, drawing, "
        "every layer, the arithmetic of each map); RUN_DIR: --input files join its gallery",
    )
    p.set_defaults(func=handler)
    return p


def handler(args: argparse.Namespace) -> int:
    """Run `idealfit explain ...`; returns the exit code."""
    form = args.target if args.target in ("conv", "kernels") else "run"
    for key, flag in _FLAGS.items():
        if getattr(args, key, None) is not None and key not in _OPTIONS[form]:
            usable = ", ".join("RUN_DIR" if f == "run" else f for f, keys in _OPTIONS.items() if key in keys)
            raise UserError(f"{flag} does not apply to `idealfit explain {args.target}`; it is for: {usable}")
    if form == "conv":
        return _conv(args)
    if form == "kernels":
        return _kernels(args)
    return _run(args)


# ---- explain conv ---------------------------------------------------------------------------------------


def _load_matrix(path: Path, what: str) -> torch.Tensor:
    """A 2-D matrix from .npy or a text file (whitespace- or comma-separated)."""
    import numpy as np
    import torch

    try:
        if path.suffix.lower() == ".npy":
            m = np.load(path, allow_pickle=False)
        else:
            text = path.read_text(encoding="utf-8")
            m = np.loadtxt(path, delimiter="," if "," in text else None, ndmin=2)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise UserError(
            f"cannot read {what} {path} ({err}); give a .npy file or a text file of numbers"
        ) from None
    if m.ndim != 2 or m.size == 0 or not np.issubdtype(m.dtype, np.number):
        raise UserError(f"{what} {path} must hold a non-empty 2-D matrix of numbers, got shape {m.shape}")
    return torch.as_tensor(m, dtype=torch.float64)


def _conv_image(spec: str | None) -> torch.Tensor:
    from idealfit.explain.conv import DECK_DEFORMED_IMAGE, DECK_IMAGE
    from idealfit.explain.kernels import load_gray_image

    if spec is None or spec == "deck":
        return DECK_IMAGE
    if spec == "deformed":
        return DECK_DEFORMED_IMAGE
    path = Path(spec)
    if not path.is_file():
        raise UserError(
            f"--image {spec}: file not found; pass deck, deformed, a .npy/.txt matrix or an image"
        )
    if path.suffix.lower() in (".npy", ".txt", ".csv"):
        return _load_matrix(path, "image")
    # Photos become gray values in [-1, 1] (the deck's pixels are +-1), small enough to print every window.
    return load_gray_image(path, max_side=32).double() * 2 - 1


def _parse_filter(spec: str) -> tuple[str, torch.Tensor]:
    import torch

    from idealfit.explain.conv import DECK_FILTERS

    if spec in DECK_FILTERS:
        return spec, DECK_FILTERS[spec]
    if spec == "f_1":  # the deck's other name for f_i1
        return "f_i1", DECK_FILTERS["f_i1"]
    path = Path(spec)
    if path.is_file():
        return path.stem, _load_matrix(path, "filter")
    if path.suffix.lower() in (".npy", ".txt", ".csv"):
        raise UserError(f"--filter {spec}: file not found")
    try:
        rows = [[float(v) for v in row.replace(",", " ").split()] for row in spec.split(";")]
    except ValueError:
        rows = []
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        raise UserError(
            f"--filter {spec!r} is not a deck filter ({', '.join(DECK_FILTERS)}), a file, or rows of "
            'numbers like "1,1,1;1,1,1;1,1,1"'
        )
    return "custom", torch.tensor(rows, dtype=torch.float64)


def _conv(args) -> int:
    from idealfit.explain.conv import DECK_FILTERS, worked_example
    from idealfit.explain.conv_view import draw_worked_example, format_worked_example

    image = _conv_image(args.image)
    filters: dict[str, torch.Tensor] = {}
    for spec in args.filters or []:
        name, kernel = _parse_filter(spec)
        unique, n = name, 2
        while unique in filters:
            unique, n = f"{name}_{n}", n + 1
        filters[unique] = kernel
    if args.max_windows is not None and args.max_windows < 0:
        raise UserError(f"--max-windows must be >= 0 (0 prints every window), got {args.max_windows}")
    stride = 1 if args.stride is None else args.stride
    padding = 0 if args.padding is None else args.padding
    result = worked_example(image, filters or DECK_FILTERS, stride=stride, padding=padding)
    n_windows = len(result.passes[0].conv_steps)
    limit = args.max_windows if args.max_windows is not None else (None if n_windows <= 36 else 9)
    if args.page:  # the page first: a mistake (filters of two sizes, a bad --out) is said before any output
        from idealfit.explain.page import deck_page, write_page

        html, _ = deck_page(result)
        path = _page_path(args.out, Path("."), "explain-conv.html")
        names = ", ".join(p.name for p in result.passes)
        print(f"wrote {write_page(html, path)} ({image.shape[-2]}×{image.shape[-1]} image, filters {names}, stride "
              f"{stride}, padding {padding}): open it in a browser; `idealfit explain conv` without --page prints "
              "the same arithmetic here")
        return 0
    print(format_worked_example(result, max_windows=limit or None), end="")
    out = Path(args.out or ".")
    path = out if out.suffix.lower() == ".png" else out / "explain-conv.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_worked_example(result).savefig(path, dpi=100)
    print(f"wrote {path}")
    return 0


# ---- explain kernels ------------------------------------------------------------------------------------


def _kernels(args) -> int:
    from idealfit.explain.kernels import CLASSIC_KERNELS, classic_kernels_figure, load_gray_image

    path = Path(args.out or "explain-kernels.png")
    if path.suffix.lower() != ".png":
        raise UserError(f"--out {path}: give a file name ending in .png")
    image = load_gray_image(args.image)
    source = args.image or "scikit-learn's sample photo china.jpg"
    print(f"Image: {source}, gray, {image.shape[0]}x{image.shape[1]} pixels")
    for name, kernel in CLASSIC_KERNELS.items():
        rows = " / ".join(" ".join(f"{float(v):g}" for v in row) for row in kernel)
        print(f"  {name:<20} [{rows}]")
    path.parent.mkdir(parents=True, exist_ok=True)
    classic_kernels_figure(image).savefig(path, dpi=100)
    print(f"wrote {path}")
    return 0


# ---- explain RUN_DIR ------------------------------------------------------------------------------------

def _prediction_lines(run, x: torch.Tensor, names: list[str]) -> list[str]:
    """Per input, its 3 likeliest classes with their probabilities; for a regression run, its predicted
    value in the data's units (a regressor has no probabilities)."""
    import torch

    from idealfit.explain.model import predict_proba

    if run.task == "regression":
        from idealfit.tasks import get_task

        with torch.no_grad():
            values = get_task("regression").decode(run.model.eval()(x), run.state.get("target"))  # data units
        target = run.config.data.target or "value"
        return [f"{name}: predicted {target} {float(v):.4g}" for name, v in zip(names, values, strict=True)]
    probs = predict_proba(run.model, x)  # (B, K)
    labels = run.class_names or [str(i) for i in range(probs.shape[1])]
    lines = []
    for name, p in zip(names, probs, strict=True):
        top = torch.argsort(p, descending=True)[:3].tolist()
        lines.append(f"{name}: " + ", ".join(f"{labels[k]} {float(p[k]):.3f}" for k in top))
    return lines


def _page_path(out: str | None, default_dir: Path, name: str) -> Path:
    """--out for a page: a .html file, or a folder for `name` (default default_dir / name)."""
    if out is None:
        return default_dir / name
    path = Path(out)
    if path.suffix.lower() in (".html", ".htm"):
        return path
    if path.suffix and not path.is_dir():
        raise UserError(f"--out {out}: give a file name ending in .html, or a folder")
    return path / name


def _run_page(run, args) -> int:
    from idealfit.explain.page import check_page_run, run_page, write_page
    from idealfit.explain.page_size import size_note
    from idealfit.report.html import build_run_report
    from idealfit.run_files import run_file

    check_page_run(run)
    from idealfit.explain.run_inputs import run_inputs

    extra = run_inputs(run, args.inputs)[:2] if args.inputs else None
    html, data = run_page(run, extra=extra)
    path = _page_path(args.out, Path(run.dir), "explain.html")
    if args.out is None:
        path = run_file(run.dir, "explain.html")  # refuses a link below the run folder
    written = write_page(html, path)
    runnable = "its own forward pass" if data["layers"] else f"PyTorch's recorded activations ({data['why']})"
    print(f"wrote {written} ({written.stat().st_size / 1e6:.2f} MB, {len(data['examples'])} examples; "
          f"the page runs {runnable})")
    note = size_note(data, written.stat().st_size)
    if note:
        print(note)
    if written.resolve() == (Path(run.dir) / "explain.html").resolve():
        print(f"report: {build_run_report(run.dir)}")
    return 0


def refuse_unexplainable(run) -> None:
    """A run whose kind explain cannot show (a task without one output per input, a text run) is one
    error that says where its results are shown instead."""
    if run.task not in ("classification", "regression"):  # saliency and class probabilities need one output per input
        show = {"segmentation": "test images with their true and predicted masks; `idealfit predict RUN IMAGE --out "
                                "DIR --overlay` draws a mask over any image",
                "forecasting": "the test period's history, truth and forecast and the error per horizon step; "
                               "`idealfit predict RUN recent.csv` forecasts from any history",
                "translation": "test inputs beside their real and generated images",
                }.get(run.task, "test samples with their reconstructions")
        raise UserError(f"explain draws the filters, feature maps and saliency of a classifier or regressor; {run.dir} "
                        f"is a {run.task} run: its report.html shows {show}")
    if run.state["kind"] == "text" and "table" not in run.state.get("text", {}):
        raise UserError(f"explain scores inputs by their gradient, and {run.dir} reads text as token ids, which "
                        "have none (an embedding looks them up); `idealfit predict RUN FILE.csv` gives its "
                        "predictions and report.html its test examples")


def _run(args) -> int:
    run_dir = Path(args.target)
    if not run_dir.is_dir():
        raise UserError(f"{args.target!r} is not 'conv', 'kernels' or an existing run folder")
    if args.page:
        from idealfit.run import load_run

        return _run_page(load_run(run_dir), args)
    from idealfit.explain.model import explain_model
    from idealfit.report.html import build_run_report, set_section
    from idealfit.run import load_run
    from idealfit.run_files import run_subdir

    run = load_run(run_dir)
    refuse_unexplainable(run)  # before asking for --input: no input would make such a run explainable
    from idealfit.explain.run_inputs import run_inputs, test_inputs  # numpy and torch: not to parse arguments

    x, names, features = run_inputs(run, args.inputs) if args.inputs else test_inputs(run)
    # created without following a link: a linked explain/ would send the PNGs anywhere on the machine
    out_dir = Path(args.out) if args.out else run_subdir(run.dir, "explain")
    written = explain_model(run.model, x, out_dir=out_dir, class_names=run.class_names, input_names=names,
                            feature_names=features, task=run.task)
    lines = _prediction_lines(run, x, names)
    print("\n".join(lines))
    for path in written.values():
        print(f"wrote {path}")
    root = Path(run.dir).resolve()
    if not out_dir.resolve().is_relative_to(root):
        print(f"{out_dir} is outside the run folder, so the report was not updated")
        return 0
    caption = "top classes" if run.task == "classification" else "predicted values"
    # the whole section at once: an earlier call's captions would point at figures this call redrew
    # (probabilities_0.png of another input), so the report would show one input's picture under another's name
    entries = [{"caption": caption, "text": "\n".join(lines)}]
    entries += [{"caption": c, "path": p.resolve().relative_to(root).as_posix()} for c, p in written.items()]
    set_section(run.dir, section="Explain", entries=entries)
    print(f"report: {build_run_report(run.dir)}")
    return 0
