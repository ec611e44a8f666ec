"""`idealfit study regularization|capacity|gan`, `idealfit lr-find` and `idealfit augment`: the deck's experiments.

The CLI mounts them with `register(subparsers)`; each handler prints to stdout and returns an exit code.
User mistakes raise UserError (the CLI prints the one line and exits 2).
"""

from __future__ import annotations

import argparse

import yaml

from idealfit.config import parse_sets
from idealfit.errors import UserError


def register(subparsers) -> None:
    """Add `study`, `lr-find` and `augment` to an argparse `add_subparsers()` object."""
    st = subparsers.add_parser("study", help="the deck's experiments: every regularization remedy, capacity",
                               description="Train a set of variants and compare them in a table and a report.")
    kinds = st.add_subparsers(dest="study", metavar="STUDY", required=True)
    r = kinds.add_parser("regularization", help="no remedy vs each remedy alone vs all together")
    r.add_argument("--data", default="digits", help="embedded dataset or path (default digits)")
    r.add_argument("--subset", type=_number, default=0.1,
                   help="train on this share (<=1) or count (>1) of the training split (default 0.1)")
    _common(r)
    r.set_defaults(func=cmd_study_regularization)
    c = kinds.add_parser("capacity", help="training and validation error against model size")
    c.add_argument("--data", default="digits", help="embedded dataset or path (default digits)")
    c.add_argument("--subset", type=_number, default=None,
                   help="train on this share (<=1) or count (>1) of the training split (default: the study's)")
    _common(c)
    c.set_defaults(func=cmd_study_capacity)

    g = kinds.add_parser("gan", help="pix2pix: L1 only vs L1 + conditional GAN, like the paper's Table 1")
    g.add_argument("--data", default="labels2shapes",
                   help="paired images: labels2shapes (default), edges2shapes, an A/B folder or an NPZ of pairs")
    g.add_argument("--cgan-only", action="store_true", help="also train the adversarial loss alone (no L1)")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config field for every variant, e.g. --set model.widths=[8,16,32] (repeatable)")
    g.add_argument("--seeds", type=int, default=1, help="runs per variant, seeds 0..N-1 (default 1)")
    g.add_argument("--epochs", type=int, default=None, help="epochs per variant (default 10)")
    g.add_argument("--out", default=None, help="study folder (default runs/<timestamp>-study-gan)")
    g.set_defaults(func=cmd_study_gan)

    lf = subparsers.add_parser("lr-find", help="loss against a rising learning rate, and a suggested rate")
    lf.add_argument("--data", default="digits", help="embedded dataset or path (default digits)")
    lf.add_argument("--model", default="auto", help="cnn, mlp or auto (default: by the data's kind)")
    lf.add_argument("--target", default=None, help="CSV: the column to predict")
    lf.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="any config field, e.g. --set train.optimizer=sgd (repeatable)")
    lf.add_argument("--start", type=float, default=1e-6, help="first learning rate (default 1e-6)")
    lf.add_argument("--end", type=float, default=1.0, help="last learning rate (default 1)")
    lf.add_argument("--steps", type=int, default=100, help="minibatches in the sweep (default 100)")
    lf.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    lf.add_argument("--out", default=None, help="the plot (default runs/<timestamp>-<data>-<model>-lr-find.png)")
    lf.set_defaults(func=cmd_lr_find)

    au = subparsers.add_parser("augment", help="preview the augmentations on real samples (the deck's slide)")
    au.add_argument("--data", default="digits",
                    help="embedded image dataset or image folder; images/+masks/ shows each mask below its image, "
                         "A/+B/ each target below its input (default digits)")
    au.add_argument("--out", default="augment.png", help="the grid PNG (default augment.png)")
    au.add_argument("--n", type=int, default=None,
                    help="number of samples, one per row, drawn from every class in turn and labelled with it, "
                         "or at random across the data (default: one per class, at least 6 and at most 12; "
                         "4 for masks and pairs, 6 otherwise)")
    au.add_argument("--augment", nargs="+", metavar="AUG",
                    help='augmentations, each a name or YAML like "{name: crop, padding: 1}" '
                         "(default: flip crop contrast tint; flip crop for pairs)")
    au.add_argument("--seed", type=int, default=0, help="seed of the random draws (default 0)")
    au.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a data option as training reads the folder, e.g. --set data.skip_unreadable=true or "
                         "--set data.resize=pad (repeatable; data.* keys only)")
    au.set_defaults(func=cmd_augment)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", default=None, help="CSV: the column to predict")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config field for every variant, e.g. --set model.pool=max (repeatable)")
    p.add_argument("--seeds", type=int, default=1, help="runs per variant, seeds 0..N-1 (default 1)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per variant (default: the study's)")
    p.add_argument("--out", default=None, help="study folder (default runs/<timestamp>-study-<kind>)")


def _sets(args: argparse.Namespace) -> dict[str, str]:
    """--set items plus --target (as data.target), for every run of a study or the lr finder."""
    sets = parse_sets(args.set)
    if args.target is not None:
        sets["data.target"] = args.target
    return sets


def _seeds(n: int) -> tuple[int, ...]:
    if n < 1:
        raise UserError(f"--seeds must be at least 1; got {n}")
    return tuple(range(n))


def _epochs(given: int | None, default: int) -> int:
    """--epochs, or the study's default when it is not given (0 is refused, not read as "not given")."""
    if given is None:
        return default
    if given < 1:
        raise UserError(f"--epochs must be at least 1; got {given} (leave it out for the study's {default})")
    return given


def _print_table(res) -> None:
    from idealfit.study_report import table_note

    print(res.table())
    note = table_note(res)
    if note:
        print(f"({note})")


def cmd_study_regularization(args: argparse.Namespace) -> int:
    from idealfit.study import (
        REG_EPOCHS,
        VERDICT_NOTE,
        describe_test_change,
        gap_closed,
        gap_words,
        regularization_study,
    )

    res = regularization_study(data=args.data, subset=args.subset, seeds=_seeds(args.seeds),
                               epochs=_epochs(args.epochs, REG_EPOCHS), set=_sets(args), out=args.out)
    closed = gap_closed(res.rows)
    _print_table(res)
    print(f"all remedies together close {100 * closed['share']:.0f}% of the baseline's "
          f"{gap_words(res.metric).replace(' − ', '-')} gap ({closed['baseline_gap']:.3f} -> {closed['all_gap']:.3f}); "
          f"{describe_test_change(closed, res.metric)}")
    print(f"({VERDICT_NOTE})")
    print(f"study: {res.dir}  (report: {res.report})")
    return 0


def cmd_study_capacity(args: argparse.Namespace) -> int:
    from idealfit.study import CAPACITY_EPOCHS, CAPACITY_SUBSET, capacity_study

    subset = CAPACITY_SUBSET if args.subset is None else args.subset
    res = capacity_study(data=args.data, seeds=_seeds(args.seeds), epochs=_epochs(args.epochs, CAPACITY_EPOCHS),
                         subset=subset, set=_sets(args), out=args.out)
    _print_table(res)
    print(f"best (lowest validation error): {res.best}   * in the table")
    print(f"study: {res.dir}  (report: {res.report}, figure: {res.figures[0]})")
    return 0


def cmd_study_gan(args: argparse.Namespace) -> int:
    from idealfit.gan_study import gan_study

    res = gan_study(data=args.data, seeds=_seeds(args.seeds), epochs=args.epochs, cgan_only=args.cgan_only,
                    set=parse_sets(args.set), out=args.out)
    print(res.table())
    if res.verdict:
        print(res.verdict["text"])
    print(f"study: {res.dir}  (report: {res.report}, samples: {res.samples})")
    return 0


def cmd_lr_find(args: argparse.Namespace) -> int:
    import shlex

    from idealfit.lr_find import CLEAR, format_lr, lr_find

    res = lr_find(data=args.data, model=args.model, start=args.start, end=args.end, steps=args.steps,
                  set=_sets(args), seed=args.seed, out=args.out)
    stop = "stopped when the loss diverged" if res.diverged else "reached the end rate"
    on = f"{res.threads} thread{'s' if res.threads > 1 else ''}"
    print(f"swept {len(res.lrs)} steps from {res.lrs[0]:.1e} to {res.lrs[-1]:.1e} on {on} ({stop})")
    keep = [*(["--target", args.target] if args.target is not None else []), *(a for s in args.set for a in ("--set", s))]
    if args.seed:
        keep += ["--seed", str(args.seed)]
    cmd = ["idealfit", "train", "--data", args.data, "--model", args.model, *keep]
    if res.suggestion is None:
        print(f"no clear descent: near its minimum the loss is {res.clarity:.1f} standard errors below its level at "
              f"the first rates ({CLEAR:g} needed), a dip of the minibatch noise, so no rate is suggested; keep the "
              f"default lr {format_lr(res.default_lr)}   (plot: {res.figure_path})")
        print(f"train with it: {shlex.join(cmd)}")
        return 0
    shown = format_lr(res.suggestion)  # one string for both lines: the command uses the number it suggests
    print(f"suggested learning rate: {shown}   (plot: {res.figure_path})")
    print(f"use it: {shlex.join([*cmd, '--lr', shown])}")
    return 0


def _augment_specs(items: list[str] | None) -> list | None:
    """The --augment items as `Augment` specs; None (nothing given) is each kind of data's default."""
    if not items:
        return None
    specs = []
    for item in items:
        if item.lstrip().startswith("{"):
            try:
                specs.append(yaml.safe_load(item))
            except yaml.YAMLError:
                raise UserError(f"--augment {item!r} is not valid YAML; write e.g. '{{name: crop, padding: 1}}'") from None
        else:
            specs.append(item)
    return specs


def _pick_per_class(y, n: int, seed: int) -> list[int]:
    """`n` sample indices drawn from every class in turn (class 0, 1, ..., K-1, then again), each
    class's at random by `seed`: a preview that shows the classes, not only the first files' one."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pools = [list(rng.permutation(np.flatnonzero(y == k))) for k in np.unique(y)]
    picked: list[int] = []
    while len(picked) < min(n, len(y)):
        for pool in pools:
            if pool and len(picked) < n:
                picked.append(int(pool.pop(0)))
    return picked


def preview_samples(data: str, n: int | None, *, seed: int = 0):
    """(images (n, C, H, W) float in [0, 1], a class name per image or None for other data).

    Classification data gives samples from every class in turn; other data samples picked at random
    across it by `seed` (sorted), not its first files. `n` None means one per class, at least 6 and at
    most 12 (classes), 4 (masks, pairs) or 6. Streamed folders read only the picked files, with the
    folder's resize rule.
    """
    images, labels, _ = _preview_data(data, n, seed)
    return images, labels


def _preview_data(data: str, n: int | None, seed: int, sets: dict[str, str] | None = None):
    """`preview_samples`, and the picked samples' partners: masks (n, H, W) of a segmentation dataset,
    targets B (n, C_B, H, W) of paired images, or None. `sets`: data.* options (--set), as training reads them."""
    import numpy as np
    import torch

    from idealfit.config import resolve
    from idealfit.data.prepare import load_dataset

    if n is not None and n < 1:
        raise UserError(f"--n must be at least 1; got {n}")
    other = [k for k in sets or {} if not k.startswith("data.")]
    if other:
        raise UserError(f"augment reads data options only; --set {other[0]} is not one (e.g. --set data.resize=pad)")
    ds = load_dataset(resolve(overrides={**(sets or {}), "data.name": data}).data)
    if ds.kind not in ("image", "image_pair"):
        raise UserError(f"{data} holds {ds.kind} data; augmentations apply to images, masks and image pairs "
                        "(try --data digits)")
    classes = ds.task == "classification" and ds.class_names
    partnered = ds.task == "segmentation" or ds.kind == "image_pair"
    n = n or (min(max(len(ds.class_names), 6), 12) if classes else 4 if partnered else 6)
    if classes:
        pick = _pick_per_class(ds.y, n, seed)
    else:  # across the whole data set: the first files are often all of one source
        pick = sorted(np.random.default_rng(seed).choice(len(ds.y), size=min(n, len(ds.y)), replace=False).tolist())
    if ds.paths is not None:  # a folder too large for memory: read just the picked files
        from idealfit.data.images import read_streamed

        x = read_streamed(ds, pick)
    else:
        x = ds.x[pick]
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:  # e.g. the deck's ±1 X/O images: shown rescaled to [0, 1]
        x = (x - lo) / (hi - lo or 1.0)
    labels = [ds.class_names[int(ds.y[i])] for i in pick] if classes else None
    partner = torch.from_numpy(np.ascontiguousarray(ds.y[pick])) if partnered else None
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), labels, partner


def augment_figure(data: str, n: int | None, specs: list | None, *, seed: int = 0, sets: dict[str, str] | None = None):
    """(the augmentation grid of `data`, the images, their class names or None, a note on what the rows are).

    A row per sample, its first tile labelled with its class; a segmentation dataset's mask, or a pair's
    target B, in a row below its image, moved by the same draws. `specs` None: the deck's four
    augmentations, or flip and crop for pairs (training refuses the others for pairs: this does too).
    """
    from idealfit.data.augment_preview import DECK_AUGMENTATIONS, preview_figure
    from idealfit.train.setup import GEOMETRIC, check_pair_augment

    images, labels, partner = _preview_data(data, n, seed, sets)
    pairs = partner is not None and partner.is_floating_point()
    if specs is None:
        specs = list(GEOMETRIC if pairs else DECK_AUGMENTATIONS)
    if pairs:
        check_pair_augment(specs)
    fig = preview_figure(images, specs, seed=seed, partner=partner)
    rows = len(images) * (1 if partner is None else 2)
    k = len(fig.axes) // rows  # original + one column per augmentation, row by row
    for i, label in enumerate(labels or []):
        fig.axes[i * k].set_ylabel(label, fontsize=9)
    if partner is not None:
        names = ("input A", "target B") if pairs else ("image", "mask")
        for i in range(rows):
            fig.axes[i * k].set_ylabel(names[i % 2], fontsize=9)
    note = ("each input A above its target B, both moved by the same draw" if pairs else
            "each image above its mask: flip and crop move the mask with the image, contrast and tint change "
            "the image only" if partner is not None else "")
    return fig, images, labels, note, specs


def cmd_augment(args: argparse.Namespace) -> int:
    from idealfit.data.augment import Augment
    from idealfit.report.figures import png_path, save_png

    out = png_path(args.out)
    specs = _augment_specs(args.augment)
    if specs is not None:
        Augment(specs)  # bad names and parameters stop here, with "did you mean"
    fig, images, labels, note, specs = augment_figure(args.data, args.n, specs, seed=args.seed, sets=parse_sets(args.set))
    path = save_png(fig, out)
    names = [s if isinstance(s, str) else s.get("name", "?") for s in specs]
    extra = f"; rows labelled by class, {len(set(labels))} classes" if labels else f"; {note}" if note else ""
    print(f"wrote {path}: {len(images)} samples of {args.data}, original then {', '.join(map(str, names))}{extra}")
    return 0
