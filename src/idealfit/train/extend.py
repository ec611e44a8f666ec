"""`train --resume` of a run that had already ended: say so and leave it, or train on as asked.

A run ends at its last epoch, when early stopping stops it, or when its loss diverges. Resuming it without
asking for more changes nothing (the files stay as they are). Asking for more (`--epochs` above the epochs
it trained; for an early-stopped run also a larger `--set train.patience=K`) trains on with:

- a new cycle of the run's schedule over the added epochs, from train.lr (a warm restart, as in SGDR,
  Loshchilov & Hutter 2017). The old cosine plan had run down to 0; re-planning it over the longer run
  would resume near 0 and the added epochs would barely move the weights (what a newcomer met);
- for an early-stopped run, early stopping counting its patience afresh from the last epoch, and keeping
  the best weights so far unless a later epoch beats them.

An interrupted run (Ctrl-C, a kill) is not "ended": it resumes exactly where it stopped (session.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from idealfit.config import RunConfig
from idealfit.errors import UserError
from idealfit.train.callbacks import EarlyStopping, FitState


def extend_finished(run_dir: Path, summary: dict[str, Any], cfg: RunConfig, state: FitState, *,
                    early: EarlyStopping | None, asked: frozenset[str], restart: Callable[[int], None]) -> str:
    """The line to print about a finished run; when more was asked, `state` set to train on (stop cleared,
    patience counted afresh, the schedule restarted through `restart(epochs)`).

    Args:
        summary: the run's summary.json (its epochs_run is the checkpoint's epoch).
        asked: the config keys given on the command line.
        restart: gives the step a new schedule cycle over that many epochs (train.setup.restart_schedules).
    """
    t, n = cfg.train, state.epoch
    more_epochs = "train.epochs" in asked and t.epochs > n  # fewer or equal was refused before (check_epochs)
    if summary.get("diverged"):
        if more_epochs or "train.patience" in asked:
            raise UserError(f"{run_dir} ended because its loss diverged at epoch {n}; training on would start from "
                            "the same weights: start a new run with a lower train.lr")
        return f"{run_dir} is already finished: its loss diverged at epoch {n}; nothing to do"
    if state.stopped_early:
        best = summary.get("best_epoch", n)
        if not (more_epochs or "train.patience" in asked):
            return (f"{run_dir} is already finished: early stopping stopped it at epoch {n} of {t.epochs} (best epoch "
                    f"{best}); nothing to do (to train on: --epochs above {n}, or a larger --set train.patience)")
        if t.epochs <= n:
            raise UserError(f"{run_dir} was stopped early at epoch {n}, which is its train.epochs; with a larger "
                            f"patience also pass --epochs above {n}")
        state.stop = state.stopped_early = False
        if early is not None:
            early.wait = 0  # patience counted afresh from here; the best so far (and its weights) are kept
        plan = (f"{run_dir} was stopped early at epoch {n} (best epoch {best}); training on to epoch {t.epochs}: "
                f"early stopping counts its patience ({t.patience}) afresh and keeps epoch {best}'s weights "
                "unless a later epoch beats them")
    else:
        if not more_epochs:
            return f"{run_dir} is already finished: it trained all its {n} epochs; nothing to do (to train on: --epochs above {n})"
        plan = f"{run_dir} had finished its {n} epochs; training {t.epochs - n} more (to {t.epochs})"
    restart(t.epochs - n)
    state.restart_epoch = n
    return plan + _schedule_note(cfg, state)


def _schedule_note(cfg: RunConfig, state: FitState) -> str:
    t = cfg.train
    if t.schedule == "constant":
        return f" at the constant train.lr={t.lr:g}"
    last = state.history[-1].get("lr") if state.history else None
    was = f"; the old one had come down to lr {last:.3g}" if isinstance(last, float) else ""
    return (f", with a new {t.schedule} cycle over those epochs from train.lr={t.lr:g} (a warm restart, as in "
            f"SGDR{was})")


def replan_note(run_dir: Path, cfg: RunConfig) -> str:
    """For an interrupted run resumed with other --epochs: how its schedule goes on (read before config.yaml is
    rewritten). A cosine or one-cycle plan spans the run's epochs: it is planned again over the new count and
    continues from the step the run had reached (train/step.py keep_plan), so the learning rate moves to the new
    plan's value there (a one-cycle with more epochs may be back in its warm-up)."""
    from idealfit.config import resolve

    t, was = cfg.train, resolve(config_file=run_dir / "config.yaml").train.epochs
    if t.schedule not in ("cosine", "onecycle") or was == t.epochs:
        return ""
    return (f"; its {t.schedule} schedule, planned over {was} epochs, is planned again over {t.epochs} and "
            "continues from the step it had reached")


def check_epochs(run_dir: Path, cfg: RunConfig, state: FitState, *, asked: frozenset[str]) -> bool:
    """Whether a resumed run trained all its epochs (or stopped) but its summary.json does not say so: it
    was stopped while writing its final files (torchrun's exit, a kill), so resuming only evaluates the
    kept weights and writes them. Asking a finished run, or any run, for fewer epochs than it trained is refused."""
    finished = _summary_epochs(run_dir) == state.epoch
    if "train.epochs" in asked and cfg.train.epochs <= state.epoch and (finished or cfg.train.epochs < state.epoch):
        raise UserError(f"{run_dir} has already trained {state.epoch} epochs; to train on, pass --epochs "
                        f"above {state.epoch}")
    return not finished and (state.stop or state.epoch >= cfg.train.epochs)


def ended_summary(run_dir: Path, state: FitState) -> dict[str, Any] | None:
    """summary.json of a run that had ended (its last epoch, early stopping, divergence) at the checkpoint's epoch;
    None for one to continue (interrupted by Ctrl-C, or killed: no summary, or one of an earlier epoch)."""
    summary = _read_summary(run_dir)
    if summary is None or summary.get("epochs_run") != state.epoch or summary.get("interrupted"):
        return None
    return summary


def _summary_epochs(run_dir: Path) -> int | None:
    """The epochs summary.json says were run (None: no readable summary, e.g. one cut off mid-write)."""
    try:
        return int(_read_summary(run_dir)["epochs_run"])
    except (ValueError, KeyError, TypeError):
        return None


def _read_summary(run_dir: Path) -> dict[str, Any] | None:
    """summary.json as a dict; None when missing, unreadable or cut off mid-write."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None
