"""The `idealfit` command: thin sub-commands that parse, call the library, print, and set the exit code.

A user mistake prints one line `idealfit: error: ...` and exits 2; our own bugs keep their traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from idealfit.config import parse_sets
from idealfit.errors import UnreadableFile, UserError

TRAIN_FLAGS = [  # flag, config key, type, help
    ("--data", "data.name", str, "embedded dataset (see `idealfit datasets`) or a path: a folder of class "
     "sub-folders of images or of .wav recordings, a folder with images/ and masks/ (segmentation) or A/ and B/ "
     "(image pairs), a .csv (a table, text, or a time series with --task forecasting) or a .npz"),
    ("--target", "data.target", str, "CSV: the column to predict"),
    ("--task", "data.task", str, "classification, regression, reconstruction (autoencoder), forecasting (a CSV "
     "with a time column), segmentation or translation (default: inferred from the data and the target)"),
    ("--model", "model.name", str, "cnn, mlp, rnn (signals, text, time series), unet, autoencoder, pix2pix or auto "
     "(default: by the data)"),
    ("--epochs", "train.epochs", str, "maximum epochs (early stopping may end sooner)"),
    ("--batch-size", "train.batch_size", str, "samples per step"),
    ("--lr", "train.lr", str, "peak learning rate"),
    ("--optimizer", "train.optimizer", str, "sgd, adam or adamw"),
    ("--schedule", "train.schedule", str, "constant, step, cosine or onecycle"),
    ("--seed", "train.seed", str, "seed for the split, the initial weights and the batch order"),
    ("--device", "train.device", str, "auto, cpu, cuda, cuda:N or mps"),
    ("--precision", "train.precision", str, "fp32 or bf16 (autocast; also --set train.channels_last=true, train.compile=true)"),
    ("--out", "out", str, "run folder (default runs/<timestamp>-<data>-<model>)"),
]


def cmd_train(args: argparse.Namespace) -> int:
    from idealfit.train.session import format_summary, train

    overrides = {key: getattr(args, key.replace(".", "__")) for _, key, _, _ in TRAIN_FLAGS}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    overrides.update(parse_sets(args.set))
    if args.no_progress:
        overrides["train.progress"] = "false"
    run = train(config_file=args.config, overrides=overrides, resume=args.resume)  # under torchrun: the group is left at exit
    if run.summary is None:  # torchrun: a rank other than 0, which trained beside it and says nothing
        return 0
    print(format_summary(run))
    if run.summary.get("interrupted"):  # Ctrl-C: the kept weights and report are written, the run is not done
        print(f"idealfit: interrupted; continue with: idealfit train --resume {run.dir}", file=sys.stderr)
        return 130
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from idealfit.run import load_run

    run = load_run(args.run_dir)
    metrics = run.evaluate(args.data)
    where = args.data or "the run's test split"
    print(f"metrics on {where}:")
    for k, v in metrics.items():  # a list: one value per class or per step ahead
        print(f"  {k:>9}: " + (" ".join(f"{x:.4f}" for x in v) if isinstance(v, list) else f"{v:.4f}"))
    if run.task == "translation":
        from idealfit.train.summary_text import translation_eval_notes

        for note in translation_eval_notes(run.summary, metrics):
            print(note)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from idealfit.run import load_run

    if not args.inputs and not args.text:
        raise UserError("pass the inputs to predict: files (images, a CSV, an NPZ), or --text TEXT for a text run")
    run = load_run(args.run_dir)
    if args.skip_unreadable and args.inputs:
        args.inputs = _readable_inputs(run, args.inputs)
    try:
        return _predict(run, args)
    except UnreadableFile as err:  # the fix predict offers (data.skip_unreadable is a training option)
        raise UserError(f"{err}; or pass --skip-unreadable to predict the other inputs (the skipped files "
                        "are listed)") from None


def _readable_inputs(run, inputs: list[str]) -> list:
    """The inputs (folders expanded) less the image and WAV files that cannot be decoded, listed on stderr."""
    from idealfit.data.inputs import expand_folders, split_readable

    good, bad = split_readable(expand_folders(inputs, kind=run.state["kind"]))
    if bad:
        shown = ", ".join(str(p) for p in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        print(f"skipped {len(bad)} unreadable file{'s' * (len(bad) != 1)} (--skip-unreadable): {shown}",
              file=sys.stderr)
    if not good:
        raise UserError(f"none of the {len(bad)} inputs is readable; check the files")
    return good


def _predict(run, args: argparse.Namespace) -> int:
    if run.task == "segmentation":
        from idealfit.predict_outputs import predict_masks

        return predict_masks(run, args.inputs, out=args.out, overlay=args.overlay)
    if run.task == "translation":
        from idealfit.predict_outputs import predict_images

        if args.overlay:
            raise UserError("--overlay draws predicted masks; a translation run generates images: drop --overlay")
        return predict_images(run, args.inputs, out=args.out)
    if args.overlay:
        raise UserError(f"--overlay draws predicted masks; {run.dir} is a {run.task} run: drop --overlay")
    if args.out:  # before the work, not after it
        from idealfit.predict_guard import check_out_file

        check_out_file(args.out, run.dir, args.inputs or [], kind=run.state["kind"])
    if run.task == "forecasting":  # the next data.horizon values after one CSV of recent history
        return _predict_forecast(run, args)
    if run.task == "reconstruction":
        from idealfit.predict_outputs import reconstruction_errors

        names, pred = reconstruction_errors(run, args.inputs)
    elif args.text:  # texts on the command line (a text run), named by themselves
        names, pred = list(args.text), _predict_text(run, args)
    else:
        names, pred = run.predict(args.inputs)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = [csv_text(n) for n in names]  # file names and class names are text a spreadsheet must not run
    if run.task == "classification":
        raw = run.class_names or [str(i) for i in range(pred.shape[1])]
        classes = [csv_text(c) for c in raw]
        w.writerow(["input", "predicted", *[f"p_{c}" for c in raw]])  # "p_" first: never a formula
        for n, p in zip(names, pred, strict=True):
            w.writerow([n, classes[int(p.argmax())], *[f"{v:.6f}" for v in p]])
    else:
        w.writerow(["input", "reconstruction_mse" if run.task == "reconstruction" else "predicted"])
        for n, v in zip(names, pred, strict=True):
            w.writerow([n, f"{float(v):.6g}"])
    if args.out:
        from idealfit.run_files import atomic_write

        try:
            atomic_write(args.out, buf.getvalue().encode("utf-8"))
        except PermissionError:
            raise UserError(f"--out {args.out}: cannot write in the folder; write somewhere else") from None
        print(f"wrote {len(names)} predictions to {args.out}")
    else:
        sys.stdout.write(buf.getvalue())
    return 0


def _predict_text(run, args: argparse.Namespace):
    if run.state["kind"] != "text" or args.inputs:
        raise UserError("--text gives the inputs of a run trained on text; " + (
            "pass either --text or input files" if args.inputs else f"{run.dir} was trained on {run.state['kind']} data"))
    others = run.state["columns"][1:]
    if others:  # text beside table columns: a text alone is not a whole input
        raise UserError(f"{run.dir} also reads the columns {', '.join(others)} beside its text; pass a CSV with "
                        f"the columns {', '.join(run.state['columns'])} instead of --text")
    return run.predict_array(args.text)


def _predict_forecast(run, args: argparse.Namespace) -> int:
    times, pred = run.predict(args.inputs)
    info = run.state["meta"]["series"]
    # the stamps column keeps the name of the input's time column ('date'), so the output lines up with it
    rows = [[csv_text(info["time_column"]), "steps_ahead", csv_text(f"predicted_{info['target']}")]]
    rows += [[t, str(h), f"{float(v):.6g}"] for h, (t, v) in enumerate(zip(times, pred, strict=True), start=1)]
    text = "".join(",".join(r) + "\n" for r in rows)
    if args.out:
        from idealfit.run_files import atomic_write

        atomic_write(args.out, text.encode("utf-8"))
        print(f"wrote {len(pred)} forecasts to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_text(cell: str) -> str:
    """A text cell that a spreadsheet shows as text: a leading =, +, -, @, tab or CR would start a formula.

    OWASP's advice for CSV injection: prefix such a cell with a single quote. A plain number ("-1" as a
    class name) is no formula and stays as it is.
    """
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def cmd_report(args: argparse.Namespace) -> int:
    from idealfit.report.html import build_run_report
    from idealfit.run import check_run_dir

    folder = Path(args.run_dir)
    if (folder / "space.yaml").is_file() and not (folder / "config.yaml").exists():  # an `idealfit tune` study
        from idealfit.tune_report import rebuild

        print(f"wrote {rebuild(folder)}")
        return 0
    print(f"wrote {build_run_report(check_run_dir(folder))}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from idealfit.export import check_export_packages, export_onnx

    check_export_packages()  # before torch and the run load: the missing package is the first thing to fix
    export_onnx(args.run_dir, args.onnx)
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from idealfit.data.embedded import EMBEDDED

    print("embedded datasets (use with --data NAME):")
    width = max(map(len, EMBEDDED))  # the longest name sets the column, so no name runs into its description
    for name, (_, desc) in EMBEDDED.items():
        print(f"  {name:<{width}}  {desc}")
    print("your own data:\n"
          "  --data FOLDER                one sub-folder of images (or of .wav recordings) per class\n"
          "  --data FOLDER                images/ and masks/ (segmentation), or A/ and B/ (image pairs, pix2pix)\n"
          "  --data FILE.csv --target COL a table or a text column; add --task forecasting for a time series\n"
          "  --data FILE.npz              arrays x and y")
    return 0


_TRAIN_EPILOG = """\
examples:
  idealfit train                                          a small CNN on the embedded digits
  idealfit train --data photos/ --epochs 20               photos/<class>/*.png: image classes
  idealfit train --data houses.csv --target price         a table: values or classes
  idealfit train --data reviews.csv --target label --set data.text_column=review     text
  idealfit train --data sales.csv --target units --task forecasting                  a time series
  idealfit train --data recordings/                       recordings/<class>/*.wav: speech
  idealfit train --data my_masks/                         images/ + masks/: segmentation
  idealfit train --data my_pairs/                         A/ + B/: image-to-image (pix2pix)
  idealfit train --data digits --task reconstruction --set data.noise=0.5            denoising
  idealfit train --config run.yaml --set model.dropout=0.3
"""


def build_parser() -> argparse.ArgumentParser:
    from idealfit import __version__

    p = argparse.ArgumentParser(prog="idealfit", description="Train models that fit just right.")
    p.add_argument("--version", action="version", version=f"idealfit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    t = sub.add_parser("train", help="train a model (default: a small CNN on the digits)", epilog=_TRAIN_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--config", metavar="YAML", help="a YAML config file (sections data, model, train)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set any config field, e.g. --set model.dropout=0.3 (repeatable)")
    for flag, key, typ, help_ in TRAIN_FLAGS:
        t.add_argument(flag, dest=key.replace(".", "__"), type=typ, help=help_,
                       metavar=key.rpartition(".")[2].upper())  # DATA__NAME would show the internal dest
    t.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    t.add_argument("--no-progress", action="store_true", help="no live progress bar")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="metrics of a trained run on its test split or on new data")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--data", help="labelled data to evaluate on (same form as for train)")
    e.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help="predict classes or values for image files, a folder of images, WAV files, a CSV or an NPZ")
    pr.add_argument("run_dir", metavar="RUN_DIR")
    pr.add_argument("inputs", nargs="*", metavar="INPUT")
    pr.add_argument("--text", action="append", help="text runs: a text to classify (repeatable), instead of a CSV")
    pr.add_argument("--out", help="write the CSV here instead of stdout (segmentation: the folder for the mask PNGs)")
    pr.add_argument("--overlay", action="store_true", help="segmentation: also write each input with its mask drawn over it")
    pr.add_argument("--skip-unreadable", action="store_true",
                    help="leave out image or WAV inputs that cannot be decoded (listed on stderr) instead of stopping")
    pr.set_defaults(func=cmd_predict)

    r = sub.add_parser("report", help="rebuild a run's (or a tuning study's) report.html from its folder")
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.set_defaults(func=cmd_report)

    x = sub.add_parser("export", help="write a run's model and prediction head as an ONNX graph, checked with onnxruntime")
    x.add_argument("run_dir", metavar="RUN_DIR")
    x.add_argument("--onnx", required=True, metavar="PATH", help="the .onnx file (its spec goes to PATH.json)")
    x.set_defaults(func=cmd_export)

    d = sub.add_parser("datasets", help="list the embedded datasets")
    d.set_defaults(func=cmd_datasets)
    _register_optional(sub)
    return p


def _register_optional(sub) -> None:
    """Sub-commands that live beside their library code."""
    from idealfit.explain.commands import register as register_explain
    from idealfit.study_commands import register as register_study
    from idealfit.tune_commands import register as register_tune

    register_explain(sub)
    register_study(sub)
    register_tune(sub)


def _refuse_under_torchrun(command: str) -> None:
    from idealfit.train.distributed import refuse_under_torchrun

    hint = ("run it without torchrun and spread trials over processes with --workers N, or over machines "
            "with --storage URL" if command == "tune" else
            f"only `idealfit train` trains over torchrun processes; run `idealfit {command}` without torchrun")
    refuse_under_torchrun(command, hint)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command not in ("train", "datasets") and os.environ.get("WORLD_SIZE", "1") != "1":
            _refuse_under_torchrun(args.command)
        return args.func(args)
    except UserError as exc:
        print(f"idealfit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # under torchrun the message says how the run continues (train/distributed.py)
        print("idealfit: interrupted" + (f"; {exc}" if str(exc) else ""), file=sys.stderr)
        return 130
    except BrokenPipeError:  # `idealfit explain conv | head`: the reader left; not an error
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at interpreter exit
        return 0


def entry() -> int:
    """The `idealfit` program (console script and `python -m idealfit`): `main`, then a quick exit.

    Why: at interpreter shutdown CPython's garbage collector walks every object that torch, scikit-learn and
    matplotlib created, only to free memory the OS takes back anyway: 0.3-0.4 s on a quiet 2-core machine,
    over a second under load, after the command's work is done (issue 12 measured it as tuning overhead).
    `gc.freeze()` moves them out of its reach; objects still free by reference count, files are closed and
    atexit handlers run as before. Not in `main`: tests call it in one long-lived process, where frozen
    objects would never be collected."""
    import gc

    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":
    raise SystemExit(entry())
