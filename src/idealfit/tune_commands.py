"""`idealfit tune`: the CLI of idealfit.tune (a hyperparameter search with Optuna)."""

from __future__ import annotations

import argparse

from idealfit.config import parse_sets
from idealfit.tune import PRUNERS, SAMPLERS


def register(subparsers) -> None:
    """Add `tune` to an argparse `add_subparsers()` object."""
    from idealfit.cli import TRAIN_FLAGS

    t = subparsers.add_parser(
        "tune", help="search hyperparameters with Optuna: every trial a run folder, best.yaml and a report",
        description="Search a space of config values with Optuna; the same command again continues the study.")
    t.add_argument("--config", metavar="YAML", help="the base config every trial starts from")
    t.add_argument("--space", required=True, metavar="YAML",
                   help="dotted config keys to distributions, e.g. train.lr: {log_uniform: [1e-4, 1e-1]}")
    t.add_argument("--trials", type=int, required=True, help="how many more trials to finish (complete or pruned)")
    t.add_argument("--study", metavar="NAME", help="the study's name (default: the config file's name)")
    t.add_argument("--storage", metavar="URL",
                   help="an SQLAlchemy URL, e.g. postgresql://... (default: a journal file in the study folder)")
    t.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    t.add_argument("--timeout", type=float, metavar="S", help="start no trial after this many seconds")
    t.add_argument("--sampler", default="tpe", choices=SAMPLERS, help="tpe (default), random or grid")
    t.add_argument("--pruner", default="median", choices=PRUNERS, help="median (default), hyperband or none")
    t.add_argument("--sampler-seed", type=int, metavar="N", help="the sampler's seed (default: random)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config field for every trial, e.g. --set train.epochs=10 (repeatable)")
    for flag, key, typ, help_ in TRAIN_FLAGS:
        if flag != "--out":  # --out names the study folder here
            t.add_argument(flag, dest=key.replace(".", "__"), type=typ, help=help_,
                           metavar=key.rpartition(".")[2].upper())
    t.add_argument("--out", help="the study folder (default runs/tune-<study>)")
    t.set_defaults(func=cmd_tune)


def cmd_tune(args: argparse.Namespace) -> int:
    from idealfit.cli import TRAIN_FLAGS
    from idealfit.tune import tune

    sets = {key: getattr(args, key.replace(".", "__")) for flag, key, _, _ in TRAIN_FLAGS if flag != "--out"}
    sets = {k: v for k, v in sets.items() if v is not None}
    sets.update(parse_sets(args.set))
    res = tune(config_file=args.config, space_file=args.space, trials=args.trials, study=args.study,
               storage=args.storage, workers=args.workers, timeout=args.timeout, sampler=args.sampler,
               pruner=args.pruner, seed=args.sampler_seed, sets=sets, out=args.out)
    states = [t.state.name.lower() for t in res.study.get_trials(deepcopy=False)]
    print(f"{len(states)} trials in the study: {states.count('complete')} complete, {states.count('pruned')} pruned, "
          f"{states.count('fail')} failed" + (f", {n} running (another command's)" if (n := states.count("running")) else ""))
    if res.best_value is not None:
        shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in res.best_params.items())
        print(f"best: {res.best_value:.4g} ({shown})")
        print(f"train it: idealfit train --config {res.files['best']}")
    print(f"study: {res.dir}  (report: {res.files['report']}, trials: {res.files['trials']})")
    return 0
