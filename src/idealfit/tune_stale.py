"""Stale trials: a worker killed mid-trial leaves its trial RUNNING; these find it, fail it and queue it again.

Two mechanisms, one per storage:
- the journal file (local workers): a worker holds an exclusive `flock` on `locks/trial-NNNN.lock` while it
  trains; the lock goes with its process, so a trial of this machine that is RUNNING with a free lock has
  lost its worker. Workers claim trials under `locks/claim.lock`, so the check never races a claim.
- an SQLAlchemy URL (workers on many machines): Optuna's heartbeat. A thread records the trial's heartbeat
  every HEARTBEAT[0] seconds; a trial silent for HEARTBEAT[1] seconds is failed by
  `optuna.storages.fail_stale_trials` before the next claim, and queued again with its parameters (marked
  `retry_of`, as a lock-judged one is). (Optuna beats only inside `study.optimize`; our workers ask and tell,
  so they beat themselves.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import warnings
from pathlib import Path

try:  # POSIX; elsewhere one worker only (the claim lock is what keeps workers apart)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

HEARTBEAT = (10, 60)  # (interval, grace period) in seconds: a trial silent for a minute has lost its worker


@contextlib.contextmanager
def locked(path: Path):
    """An exclusive flock on `path` for the block (waits for it)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _lock_is_free(path: Path) -> bool:
    """True if no live process holds `path`'s flock (its worker died, or never took it)."""
    if fcntl is None or not path.exists():
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def fail_stale(study, study_dir: Path, *, journal: bool = True, recovered: list[int] | None = None) -> list[int]:
    """RUNNING trials of this machine whose worker is gone: FAIL them, drop their half-written run folders,
    queue their parameters again. Returns their numbers. Call it holding the claim lock.

    A worker that died after its run folder was finished (summary.json written) but before Optuna heard of it
    lost nothing: its trial is told the folder's result instead (appended to `recovered`), not failed and
    trained again beside a complete folder marked failed.

    `journal` (the study's storage is the journal in this folder, so every worker shares the claim lock):
    a RUNNING trial without a host is one whose claimer died between `ask` and recording its host."""
    from optuna.trial import TrialState

    stale = _fail_by_heartbeat(study)  # queued again by retry_stale, which Optuna calls for each it failed
    for n in stale:
        _drop_unfinished(study_dir / "trials" / f"trial-{n:04d}")
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        host = t.user_attrs.get("host")
        if host != socket.gethostname() and not (host is None and journal):
            continue
        if not _lock_is_free(study_dir / "locks" / f"trial-{t.number:04d}.lock"):
            continue
        if _tell_finished(study, t.number, study_dir / "trials" / f"trial-{t.number:04d}"):
            if recovered is not None:
                recovered.append(t.number)
            continue
        study.tell(t.number, state=TrialState.FAIL)
        _drop_unfinished(study_dir / "trials" / f"trial-{t.number:04d}")
        study.enqueue_trial(dict(t.params), user_attrs={"retry_of": t.number})
        stale.append(t.number)
    return stale


def clear_stale(study, study_dir: Path, *, journal: bool, say) -> None:
    """`fail_stale`, each trial it failed or recovered said in one line. Call it holding the claim lock."""
    recovered: list[int] = []
    for n in fail_stale(study, study_dir, journal=journal, recovered=recovered):
        say(f"trial {n}: its worker died mid-trial; marked failed and queued again")
    for n in recovered:
        say(f"trial {n}: its worker died after its run finished; its result is recorded from the run folder")


def retry_stale(study, trial) -> None:
    """Optuna's stale-trial callback (RDB storages): queue the failed trial's parameters again, marked
    `retry_of` as a lock-judged retry is. Optuna calls it only in the process whose check failed the trial,
    so workers on two machines judging at once queue one retry, not two. (Optuna's own
    RetryHeartbeatStaleTrialCallback marks its copies in system attributes instead.)"""
    import optuna

    study.add_trial(optuna.create_trial(  # as Optuna's callback does: the drawn values, asked again as they are
        state=optuna.trial.TrialState.WAITING, params=trial.params, distributions=trial.distributions,
        user_attrs={"retry_of": trial.number}, system_attrs={"failed_trial": trial.number}))


def counted(study, command: str | None = None) -> int:
    """Trials that fill a requested slot: finished (complete or pruned) or running now; with `command`, only
    those of that `idealfit tune` command (its workers tag their trials: tune.worker)."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    return sum(command is None or t.user_attrs.get("command") == command
               for t in study.get_trials(deepcopy=False, states=states))


def _tell_finished(study, number: int, run_dir: Path) -> bool:
    """Tell trial `number` the result of its finished run folder (its summary.json: the monitored validation
    value, or pruned); False when the folder is unfinished or its summary cannot be read."""
    import json

    import yaml

    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        monitor = yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["monitor"]
        summary["metrics"]["val"][monitor.removeprefix("val_")]
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
        return False
    tell_outcome(study, number, summary, monitor)
    return True


def tell_outcome(study, trial, summary: dict, monitor: str) -> str:
    """Tell Optuna how a trial's finished run went, from its summary: "pruned" (the pruner stopped it),
    "fail" (a non-finite monitored value) or "complete" (the value); returns which. `trial`: a Trial or its number."""
    import math

    from optuna.trial import TrialState

    value = summary["metrics"]["val"][monitor.removeprefix("val_")]
    if summary.get("pruned"):
        study.tell(trial, state=TrialState.PRUNED)
        return "pruned"
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        study.tell(trial, state=TrialState.FAIL)
        return "fail"
    study.tell(trial, float(value))
    return "complete"


def _drop_unfinished(run_dir: Path) -> None:
    """A dead worker's half-written run folder (no summary.json) goes; a finished one stays."""
    if run_dir.is_dir() and not (run_dir / "summary.json").exists():
        shutil.rmtree(run_dir, ignore_errors=True)


def _fail_by_heartbeat(study) -> list[int]:
    """Optuna's stale-trial check for storages with heartbeats (RDB); the trials it failed, by number."""
    import optuna
    from optuna.storages._heartbeat import is_heartbeat_enabled
    from optuna.trial import TrialState

    if not is_heartbeat_enabled(study._storage):
        return []
    before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fail_stale_trials is marked experimental
        optuna.storages.fail_stale_trials(study)
    return sorted({t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))} - before)


class Heartbeat(contextlib.AbstractContextManager):
    """Record `trial`'s heartbeat in the study's storage every interval while the block runs (RDB storages;
    nothing for the journal, whose workers hold file locks instead)."""

    def __init__(self, study, trial):
        storage = study._storage  # Optuna keeps the storage private; the heartbeat API lives on it
        self.interval = storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
        self.storage, self.trial_id = storage, trial._trial_id
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self):
        if self.interval:
            self.storage.record_heartbeat(self.trial_id)
            self.thread = threading.Thread(target=self._beat, daemon=True)
            self.thread.start()
        return self

    def _beat(self) -> None:
        while not self.stop.wait(self.interval):
            self.storage.record_heartbeat(self.trial_id)

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
