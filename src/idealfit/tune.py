"""`idealfit tune`: a hyperparameter search with Optuna, each trial an ordinary run folder.

A study folder holds:
    journal.log        Optuna's journal storage (the default; safe for several local processes)
    space.yaml         the search space as given
    trials/trial-NNNN/ one finished run folder per trial (report, diagnosis); pruned ones say so in summary.json
    trials.csv         one row per trial: number, state, value, parameters, run folder
    best.yaml          the best trial's configuration, ready for `idealfit train --config best.yaml`
    report.html        optimization history, parameter importances, parallel coordinates, slice plots, the best diagnosis

The same command run again continues the study: `--trials N` asks for N more finished trials.

Workers. Each trial is claimed under a lock file in the study folder (so N local workers start exactly the
requested number of trials, none twice), and the worker holds an exclusive `flock` on
`locks/trial-NNNN.lock` while it trains. A worker killed mid-trial (even by SIGKILL) drops that lock with its
process; the next worker to claim a trial finds the trial still RUNNING with a free lock, marks it FAIL,
removes its half-written run folder and queues its parameters again, so it is retried, not lost, and no
trial stays "running". Only trials started on this machine are judged this way (a lock says nothing about
another machine's processes); with `--storage URL`, Optuna's heartbeat judges them on every machine
(idealfit.tune_stale).

Example:
    >>> res = tune(config_file="base.yaml", space_file="space.yaml", trials=20)   # doctest: +SKIP
    >>> res.best_value, res.dir                                                    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idealfit.config import RunConfig, resolve
from idealfit.errors import UserError
from idealfit.tune_space import Param, load_space
from idealfit.tune_stale import Heartbeat, clear_stale, counted, fcntl, locked, tell_outcome
from idealfit.tune_storage import JOURNAL, check_shared, identity, open_storage  # noqa: F401 - callers and tests import them from here

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")

@dataclass
class TuneResult:
    """What `tune` leaves: the study folder and its files, and the best trial so far."""

    dir: Path
    study: Any  # optuna.Study
    best_value: float | None
    best_params: dict[str, Any]
    files: dict[str, Path]


def direction_of(monitor: str) -> str:
    """"minimize" for losses and errors, "maximize" for scores (accuracy, Dice, R² ...)."""
    if monitor == "val_loss":  # the default, without the task registry (it imports torch: the first trial's job)
        return "minimize"
    from idealfit.tasks import METRIC_INFO

    metric = monitor.removeprefix("val_")
    if not monitor.startswith("val_") or (metric != "loss" and metric not in METRIC_INFO):
        raise UserError(f"train.monitor '{monitor}' is no validation metric; use val_loss or val_<metric> "
                        f"({', '.join('val_' + m for m in METRIC_INFO)})")
    return "maximize" if metric != "loss" and METRIC_INFO[metric].higher_is_better else "minimize"


def make_sampler(name: str, space: dict[str, Param], seed: int | None):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        class Grid(optuna.samplers.GridSampler):
            def after_trial(self, study, trial, state, values) -> None:
                """Optuna's calls `study.stop()` once the grid is done, which only works inside `optimize`;
                our workers ask and tell, and stop on `is_exhausted` themselves."""

        return Grid({k: p.grid() for k, p in space.items()}, seed=seed)
    raise UserError(f"--sampler must be one of {', '.join(SAMPLERS)}; got '{name}'")


def make_pruner(name: str):
    import optuna

    if name == "median":  # the first trials run to the end; each epoch is judged against the trials before
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise UserError(f"--pruner must be one of {', '.join(PRUNERS)}; got '{name}'")


def open_study(study_dir: Path, *, name: str, storage: str | None, cfg: RunConfig, sampler: str, pruner: str,
               space: dict[str, Param], seed: int | None):
    """Create or load the study; refuses (one line) a study of this name made for another objective, or for
    another space, data or monitor (another folder's study in a shared --storage: idealfit.tune_storage)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = direction_of(cfg.train.monitor)
    study = optuna.create_study(study_name=name, storage=open_storage(study_dir, storage), direction=direction,
                                sampler=make_sampler(sampler, space, seed), pruner=make_pruner(pruner),
                                load_if_exists=True)
    if study.direction.name.lower() != direction:
        raise UserError(f"study '{name}' was created to {study.direction.name.lower()}; train.monitor now asks to "
                        f"{direction}: keep the monitor, or start another study with --study")
    check_shared(study, identity(space, cfg.to_dict()["data"], cfg.train.monitor), name=name)
    done = len(study.trials)
    if seed is not None and done:  # a continued study: the seed alone would replay the first command's draws
        study.sampler = make_sampler(sampler, space, continued_seed(seed, done))
    return study


def continued_seed(seed: int, done: int) -> int:
    """The sampler seed of a command that continues a study holding `done` trials: new draws each time, the
    same ones for the same sequence of commands (a fresh study keeps `seed` itself). Hashed, not added: the first
    draws of TPE's seeds 0 and 3 are nearly equal (lr 0.01252 and 0.01264), so nearby seeds replay nearby points."""
    if done == 0:
        return seed
    return int.from_bytes(hashlib.sha256(f"{seed}:{done}".encode()).digest()[:4], "little")


def worker(study_dir: Path, *, target: int, command: str, name: str, storage: str | None, sampler: str, pruner: str, seed: int | None,
           config_file: str | None, sets: dict[str, Any], deadline: float | None, trial_sets: dict[str, Any] | None = None,
           max_failures: int = 3, say=print) -> int:
    """Claim and run trials until command `command` (its workers) holds `target` counted trials of the study (another
    command on the same study asks for its own), `deadline` (time.time()) passes or
    `max_failures` of this worker's trials failed; returns how many ran. `trial_sets` apply to the trials'
    runs only (not to best.yaml), e.g. one CPU thread per worker."""
    import optuna

    cfg = resolve(config_file=config_file, overrides=sets)
    space = load_space(study_dir / "space.yaml", config_file=config_file, sets=sets)
    study = open_study(study_dir, name=name, storage=storage, cfg=cfg, sampler=sampler, pruner=pruner, space=space, seed=seed)
    (study_dir / "locks").mkdir(exist_ok=True)
    ran = failures = 0
    while (deadline is None or time.time() < deadline) and failures < max_failures:
        with locked(study_dir / "locks" / "claim.lock"):
            clear_stale(study, study_dir, journal=storage is None, say=say)
            if counted(study, command) >= target:
                break
            if isinstance(study.sampler, optuna.samplers.GridSampler) and study.sampler.is_exhausted(study):
                say("the grid is done: every combination has a trial")
                break
            with warnings.catch_warnings():  # "heartbeat ... used with Study.optimize": we beat ourselves
                warnings.filterwarnings("ignore", message="Heartbeat of storage")
                trial = study.ask()
            lock = os.open(study_dir / "locks" / f"trial-{trial.number:04d}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            trial.set_user_attr("host", socket.gethostname())
            trial.set_user_attr("pid", os.getpid())
            trial.set_user_attr("command", command)
        try:
            with Heartbeat(study, trial):
                state = run_trial(study, trial, space, study_dir=study_dir, config_file=config_file,
                                  sets={**sets, **(trial_sets or {})}, monitor=cfg.train.monitor,
                                  prune=pruner != "none", say=say)
        finally:
            os.close(lock)
        ran += 1
        failures += state == "fail"
    if failures >= max_failures:
        say(f"this worker stops: {failures} of its trials failed (see the lines above)")
    return ran


def run_trial(study, trial, space: dict[str, Param], *, study_dir: Path, config_file: str | None,
              sets: dict[str, Any], monitor: str, prune: bool = True, say=print) -> str:
    """Train one trial's run folder and tell Optuna how it went; returns "complete", "pruned" or "fail".

    `prune` False (--pruner none) reports nothing during training: no storage writes between epochs."""
    from optuna.trial import TrialState

    from idealfit.train.pruning import OptunaPruning
    from idealfit.train.session import train

    params = {key: p.suggest(trial) for key, p in space.items()}
    out = study_dir / "trials" / f"trial-{trial.number:04d}"
    overrides = {**sets, **params, "out": str(out), "train.progress": False, "train.checkpoint_every": 0}
    shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
    try:
        cfg = resolve(config_file=config_file, overrides=overrides)
    except UserError as exc:  # a drawn combination the config refuses: this trial fails, the study goes on
        return _fail(study, trial, exc, shown, say)
    digest = _config_digest(cfg)
    same = _same_config(study, digest)
    if same is not None:  # TPE redraws a finished configuration: training it again would give the same number
        _set_attrs(trial, {"run_dir": same.user_attrs.get("run_dir", ""), "config": digest,
                           "duplicate_of": same.number, "epochs": same.user_attrs.get("epochs")})
        study.tell(trial, same.value)
        say(f"trial {trial.number}: {monitor} {same.value:.4g}, as trial {same.number} with the same configuration "
            f"(not trained again)  [{shown}]")
        return "complete"
    _set_attrs(trial, {"run_dir": str(out.relative_to(study_dir)), "config": digest})
    # the pruner judges no epoch of the learning-rate warm-up (cosine's, onecycle's ramp: the run's own
    # FitState.warmup_epochs): there val_loss measures the warm-up, not the trial
    pruning = OptunaPruning(trial, monitor=monitor)
    try:
        run = train(config_file=config_file, overrides=overrides, callbacks=[pruning] if prune else [],
                    echo=lambda *a, **k: None)
    except UserError as exc:  # e.g. a drawn combination the data cannot take: this trial fails, the study goes on
        return _fail(study, trial, exc, shown, say)
    except BaseException:
        study.tell(trial, state=TrialState.FAIL)
        raise
    trial.set_user_attr("epochs", run.summary["epochs_run"])  # trials.csv's epochs, with or without a pruner
    value = run.summary["metrics"]["val"][monitor.removeprefix("val_")]
    outcome = tell_outcome(study, trial, run.summary, monitor)
    said = (f"pruned after epoch {pruning.pruned_at}" if outcome == "pruned" else
            f"failed ({monitor} is {value})" if outcome == "fail" else f"{monitor} {value:.4g}")
    say(f"trial {trial.number}: {said}  [{shown}]")
    return outcome


def _fail(study, trial, exc: UserError, shown: str, say) -> str:
    from optuna.trial import TrialState

    trial.set_user_attr("error", str(exc))
    study.tell(trial, state=TrialState.FAIL)
    say(f"trial {trial.number}: failed ({exc})  [{shown}]")
    return "fail"


def _set_attrs(trial, attrs: dict[str, Any]) -> None:
    for key, value in attrs.items():
        trial.set_user_attr(key, value)


def _config_digest(cfg: RunConfig) -> str:
    """A trial's whole resolved configuration but its run folder, hashed: equal for the same training."""
    d = cfg.to_dict()
    d.pop("out", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _same_config(study, digest: str):
    """A complete trial of the study that trained this configuration, or None."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.user_attrs.get("config") == digest:
            return t
    return None


def _short(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def tune(*, space_file: str | Path, trials: int, config_file: str | Path | None = None, study: str | None = None,
         storage: str | None = None, workers: int = 1, timeout: float | None = None, sampler: str = "tpe",
         pruner: str = "median", seed: int | None = None, sets: dict[str, Any] | None = None,
         out: str | Path | None = None, say=print) -> TuneResult:
    """Run (or continue) a study: `trials` more finished trials, then trials.csv, best.yaml and report.html.

    Args:
        space_file: the search space YAML (see idealfit.tune_space).
        trials: how many more trials to finish (complete or pruned); failed ones are retried or reported.
        config_file, sets: the base config every trial starts from (YAML and dotted overrides).
        study: the study's name (default: the config file's stem, or "default"); also names the folder.
        storage: an SQLAlchemy URL (default: Optuna's journal file in the study folder).
        workers: local worker processes sharing the study (default 1: this process).
        timeout: seconds after which no new trial starts (default None: no limit).
        sampler: tpe (default), random or grid. pruner: median (default), hyperband or none.
        seed: the sampler's seed (default None: random).
        out: the study folder (default runs/tune-<study>).
    """
    # As cli.main: only under torchrun, since train.distributed imports torch (the first trial imports it when it trains)
    if os.environ.get("WORLD_SIZE", "1") != "1":
        from idealfit.train.distributed import refuse_under_torchrun

        refuse_under_torchrun("tune", "run it without torchrun and spread trials over processes with --workers N, "
                              "or over machines with --storage URL")
    if trials < 1 or workers < 1:
        raise UserError(f"--trials and --workers must be at least 1; got {trials} and {workers}")
    if timeout is not None and timeout <= 0:
        raise UserError(f"--timeout must be a number of seconds > 0; got {timeout}")
    config_file = None if config_file is None else str(config_file)
    sets = dict(sets or {})
    cfg = resolve(config_file=config_file, overrides=sets)  # the base config's own mistakes first
    space = load_space(space_file, config_file=config_file, sets=sets)
    direction = direction_of(cfg.train.monitor)
    make_sampler(sampler, space, seed)
    make_pruner(pruner)
    name = study or (Path(config_file).stem if config_file else "default")
    study_dir = Path(out) if out else Path("runs") / f"tune-{name}"
    opts = dict(name=name, storage=storage, sampler=sampler, pruner=pruner, seed=seed)
    # in a shared database, a clash with another folder's study is refused before this folder is made (the study
    # opened then is the one used); the default journal lives in the folder, so that study opens once it is claimed
    st = open_study(study_dir, cfg=cfg, space=space, **opts) if storage else None
    made = not (study_dir / "space.yaml").is_file()
    _claim_study_dir(study_dir, Path(space_file), space, config_file=config_file, sets=sets)
    if st is None:
        st = open_study(study_dir, cfg=cfg, space=space, **opts)
    (study_dir / "locks").mkdir(exist_ok=True)
    with locked(study_dir / "locks" / "claim.lock"):
        clear_stale(st, study_dir, journal=storage is None, say=say)
    deadline = None if timeout is None else time.time() + timeout
    # `trials` more of this command's own: a study-wide target let two commands at once share one count
    job = dict(target=trials, command=uuid.uuid4().hex, config_file=config_file, sets=sets, deadline=deadline, max_failures=max(3, trials), **opts)
    say(f"study '{name}' in {study_dir}: {trials} more trial{'s' if trials > 1 else ''} ({sampler} sampler, "
        f"{pruner} pruner, {workers} worker{'s' if workers > 1 else ''}), {direction} {cfg.train.monitor}")
    if workers > 1 and (storage or "").startswith("sqlite"):
        say("note: SQLite lets one process write at a time, so several workers on it wait for each other (and may "
            "hit 'database is locked'); the default storage (no --storage: a journal file in the study folder) is "
            "made for several local workers, PostgreSQL for several machines")
    failed = None
    if workers == 1:
        try:
            worker(study_dir, say=say, **job)
        except UserError:  # e.g. another folder's study got its first trial since our check (tune_storage)
            if made:
                _unclaim(study_dir)
            raise
    else:
        failed = _run_workers(study_dir, workers, job)
    from idealfit.tune_report import write_outputs

    files = write_outputs(st, space, study_dir=study_dir, monitor=cfg.train.monitor, config_file=config_file,
                          sets=sets, title=f"Tuning study · {name}")  # also after a worker died: what finished shows
    if failed:
        raise UserError(failed)
    best = _best(st)
    return TuneResult(study_dir, st, None if best is None else best.value,
                      {} if best is None else {k: space[k].value_of(v) for k, v in best.params.items() if k in space},
                      files)


def _best(study):
    try:
        return study.best_trial
    except ValueError:  # no complete trial
        return None


def _claim_study_dir(study_dir: Path, space_file: Path, space: dict[str, Param], *, config_file, sets) -> None:
    """Create the study folder with a copy of the space, or check that a continued study keeps its space."""
    from idealfit.run_files import atomic_write

    kept = study_dir / "space.yaml"
    if kept.is_file():
        if load_space(kept, config_file=config_file, sets=sets) != space:
            raise UserError(f"{study_dir} holds a study over another search space ({kept}); continue it with that "
                            "space, or start a new study with --study NAME or --out DIR")
        return
    if study_dir.exists() and (not study_dir.is_dir() or any(study_dir.iterdir())):
        raise UserError(f"{study_dir} already holds files but no study; choose another --out or --study")
    study_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(kept, space_file.read_bytes())


def _unclaim(study_dir: Path) -> None:
    """Remove what this command wrote in a study folder it made (its space.yaml, the claim lock), and the folder
    once empty: a refusal leaves nothing behind. Anything else there is another command's, and stays."""
    if any(p.name not in ("space.yaml", "locks") for p in study_dir.iterdir()):
        return  # e.g. another command's trials or journal: the space copy is theirs too
    for lock in (study_dir / "locks").glob("*"):
        if lock.name != "claim.lock":
            return
    (study_dir / "locks" / "claim.lock").unlink(missing_ok=True)
    for path in (study_dir / "locks", study_dir / "space.yaml"):
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink(missing_ok=True)
    study_dir.rmdir()


def _worker_main(study_dir: str, job: dict[str, Any]) -> None:
    """A spawned worker process: one CPU thread per worker unless the config says otherwise."""
    import gc
    import sys

    try:
        worker(Path(study_dir), say=lambda line: print(line, flush=True), **job)
    except UserError as exc:
        print(f"idealfit: error: {exc}", file=sys.stderr)
        sys.exit(2)
    gc.freeze()  # a quick exit, as cli.entry's: the study waits for every worker to end


def _run_workers(study_dir: Path, n: int, job: dict[str, Any]) -> str | None:
    """Run `n` worker processes to the end; None, or the line saying which ended early."""
    import multiprocessing

    given = set(job["sets"]) | set(_config_keys(job["config_file"]))
    job = {**job, "trial_sets": {} if "train.threads" in given else {"train.threads": "1"}}
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch threads or locks
    seed = job["seed"]  # each worker its own sampler seed: equal seeds would draw equal parameters
    procs = [ctx.Process(target=_worker_main, args=(str(study_dir), {**job, "seed": None if seed is None else seed + i}))
             for i in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    bad = [f"killed by signal {-p.exitcode}" if p.exitcode < 0 else f"exit code {p.exitcode}"
           for p in procs if p.exitcode]
    if bad:
        return (f"{len(bad)} of {n} workers ended early ({', '.join(bad)}); the lines above say why, a trial it left "
                "is retried, and the same command continues the study")
    return None


def _config_keys(config_file: str | None) -> list[str]:
    from idealfit.config import load_yaml

    return list(load_yaml(config_file)) if config_file else []
