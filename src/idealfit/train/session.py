"""`idealfit train` end to end: config -> data -> model -> loop -> run folder.

All user-input checks (config, data files) happen before the run folder is created, so a bad
input leaves nothing half-written behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from idealfit.config import RunConfig, resolve, to_yaml
from idealfit.data.augment import Augment
from idealfit.data.augment_preview import first_train_images, first_train_partners, preview_figure
from idealfit.data.base import Dataset
from idealfit.data.images import folder_notes
from idealfit.data.overlap import copies_in_test
from idealfit.data.prepare import Prepared
from idealfit.data.split import small_class_note
from idealfit.diagnose import diagnose
from idealfit.diagnose_forecast import series_context
from idealfit.errors import UserError
from idealfit.metrics_csv import write_metrics_csv
from idealfit.models.summary import count_params, summarize
from idealfit.run import WEIGHTS, Run, check_run_dir, load_run
from idealfit.tasks import Task
from idealfit.train.callbacks import (
    Callback,
    EarlyStopping,
    FitState,
    NonFiniteGuard,
    divergence_message,
    warmup_note,
)
from idealfit.train.checkpoint import (
    atomic_write_bytes,
    atomic_write_text,
    load_checkpoint,
    save_checkpoint,
    write_json,
    write_npz,
)
from idealfit.train.distributed import interrupted_error, lost_peer_error, peer_lost
from idealfit.train.extend import check_epochs, ended_summary, extend_finished, replan_note
from idealfit.train.loop import epoch_values, fit
from idealfit.train.regularizers import weight_sparsity
from idealfit.train.rundir import RunLock, claim_run_dir, discard, only_lock, refuse_if_taken
from idealfit.train.setup import Setup, build_setup, build_step, make_batches, restart_schedules, warmup_end
from idealfit.train.speed import CompileClock, restore_generator, speed_note
from idealfit.train.step import evaluate
from idealfit.train.summary_text import few_steps_note, format_summary, threads_note  # noqa: F401 - callers import format_summary here
from idealfit.train.threads import num_threads

# what --resume may change: how long and where it trains, not what (the speed paths are "where": train/speed.py)
RESUMABLE_KEYS = {"train.epochs", "train.patience", "train.device", "train.progress", "train.threads",
                  "train.precision", "train.channels_last", "train.compile"}
EVAL_BATCH = 1024


class Checkpointer(Callback):
    """After every epoch metrics.csv; every `every` epochs checkpoint.pt (model, every optimizer and
    schedule by name, RNGs, early stopping). `every=0` writes no checkpoint (studies that never resume save the I/O)."""

    def __init__(self, run_dir: Path, *, generator: torch.Generator, early: EarlyStopping | None,
                 augment: Augment | None = None, every: int = 1):
        self.dir, self.generator, self.early, self.every = run_dir, generator, early, every
        self.aug_generator = augment.generator if augment is not None else None

    def on_epoch_end(self, state: FitState) -> None:
        write_metrics_csv(self.dir / "metrics.csv", state.history)
        if not self.every or (state.epoch % self.every and not state.stop and state.epoch < state.epochs):
            return
        save_checkpoint(self.dir / "checkpoint.pt", {
            "epoch": state.epoch, "history": state.history, **state.step.state_dict(),
            "torch_rng": torch.get_rng_state(), "order_rng": self.generator.get_state(),
            "augment_rng": self.aug_generator.get_state() if self.aug_generator is not None else None,
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "early": self.early.state_dict() if self.early else None, "stop": state.stop,
            "stopped_early": state.stopped_early, "restart_epoch": state.restart_epoch})


def _resume_config(resume: str | Path, overrides: dict[str, Any]) -> tuple[RunConfig, bool]:
    """The run's recorded config with the allowed overrides, and whether it has a checkpoint to
    continue from (without one, the run stopped before its first epoch and starts again)."""
    path = Path(resume)
    if path.is_dir() and not path.is_symlink() and only_lock(path):
        raise UserError(f"{path} was created by a run that stopped before writing its config, so there is "
                        f"nothing to resume; start a new run in it with --out {path}")
    run_dir = check_run_dir(resume)
    extra = sorted(set(overrides) - RESUMABLE_KEYS)
    if extra:
        raise UserError(f"--resume continues a run with its own config; '{extra[0]}' cannot change "
                        f"(only {', '.join(sorted(RESUMABLE_KEYS))} can)")
    base = resolve(config_file=run_dir / "config.yaml")
    base.out = str(run_dir)
    return resolve(overrides=overrides, base=base), (run_dir / "checkpoint.pt").is_file()


def train(*, config_file: str | Path | None = None, overrides: dict[str, Any] | None = None,
          resume: str | Path | None = None, callbacks: list[Callback] | None = None, echo=print) -> Run:
    """Train a model from a config file and dotted overrides; returns the finished Run.

    Args:
        config_file: YAML with sections data/model/train (optional).
        overrides: dotted keys (`train.lr`) to values.
        resume: a run folder to continue from its last checkpoint.
        callbacks: extra callbacks for the loop.
        echo: where the start and end lines go (print, or a no-op for quiet use).

    Under torchrun (several processes) every process calls this; they train one model with DDP and
    only rank 0 writes the run folder and returns the full Run: the others return one whose summary
    is None (see train/distributed.py).
    """
    overrides = dict(overrides or {})
    cfg, has_ckpt = _resume_config(resume, overrides) if resume else (resolve(config_file=config_file,
                                                                              overrides=overrides), False)
    setup = build_setup(cfg, distributed=True)  # user-data errors surface here, before anything is written
    if not setup.runtime.is_main:  # torchrun: one process speaks for all
        echo = _silent
    with num_threads(setup.threads):
        return _claim_and_train(cfg, setup, resume=resume, has_ckpt=has_ckpt, callbacks=callbacks, echo=echo,
                                asked=frozenset(overrides))


def _silent(*_args, **_kwargs) -> None:
    pass


def _claim_and_train(cfg: RunConfig, setup: Setup, *, resume, has_ckpt: bool, callbacks, echo,
                     asked: frozenset[str] = frozenset()) -> Run:
    claimed: dict[str, Any] = {}

    def claim() -> Path:  # under torchrun on rank 0 only; the folder's name goes to the other processes
        run_dir, created = (Path(cfg.out), False) if resume else claim_run_dir(cfg)
        lock = RunLock(run_dir)
        if not resume and not created:  # another run may have filled it between our check and our lock
            try:
                refuse_if_taken(run_dir)
            except UserError:
                lock.release()
                raise
        claimed.update(created=created, lock=lock)
        return run_dir

    run_dir = setup.runtime.agree(claim)
    try:
        if not setup.runtime.is_main:  # torchrun: trains beside rank 0, writes nothing
            return _train_in(run_dir, cfg, setup, resume=resume is not None, has_ckpt=has_ckpt,
                             callbacks=callbacks, echo=echo, asked=asked)
        try:
            return _train_in(run_dir, cfg, setup, resume=resume is not None, has_ckpt=has_ckpt,
                             callbacks=callbacks, echo=echo, asked=asked)
        except BaseException:
            if not resume and not (run_dir / "metrics.csv").exists():  # failed before its first epoch
                discard(run_dir, created=claimed["created"])
            raise
        finally:
            claimed["lock"].release()
    except Exception as exc:  # torchrun: a lost peer is one line with the command that continues, not gloo's traceback
        sign = peer_lost(exc) if setup.runtime.world_size > 1 else None
        if sign is None:
            raise
        raise lost_peer_error(run_dir, sign) from None
    except KeyboardInterrupt:  # torchrun: fit() let it through, as this process cannot finish alone (train/loop.py)
        if setup.runtime.world_size > 1:
            raise interrupted_error(run_dir) from None
        raise


def _score_start(early: EarlyStopping, state: FitState, val_b, task, targets) -> None:
    """Score the untrained network on validation (a forecaster started at the AR fit *is* that fit), so early
    stopping keeps it (best epoch 0) when no epoch beats it."""
    if val_b is None:
        return
    row = epoch_values(task, evaluate(state.step, val_b).sums(), "val", targets)
    if early.monitor in row:
        early.start_from(row[early.monitor], state.step.model)


def _train_in(run_dir: Path, cfg: RunConfig, setup: Setup, *, resume: bool, has_ckpt: bool,
              callbacks: list[Callback] | None, echo, asked: frozenset[str] = frozenset()) -> Run:
    """The run itself, in a claimed and locked folder (under torchrun: by rank 0, which alone writes).
    `asked`: the config keys given on the command line (for --resume: what the user asked to change)."""
    t, rt = cfg.train, setup.runtime
    ds, prep, model, device, augment, generator = (setup.dataset, setup.prep, setup.model, setup.runtime.device,
                                                   setup.augment, setup.generator)
    summary_text = summarize(model, prep.input_shape)
    val_b = rt.shard(make_batches(prep, "val", device=device, batch_size=EVAL_BATCH, shuffle=False, generator=None),
                     train=False)
    state = FitState(build_step(setup, t), epochs=t.epochs)
    early = (EarlyStopping(monitor=t.monitor, patience=t.patience, min_delta=t.min_delta, task=setup.task)
             if t.early_stopping else None)

    for note in ds.meta.get("notes", []) if not has_ckpt else []:  # e.g. an identifier column left out
        echo(note)
    if has_ckpt:
        def restart(epochs: int) -> None:  # a new schedule cycle: an extended run's, restored or begun
            restart_schedules(state.step, setup, t, epochs=epochs)

        _restore(state, load_checkpoint(run_dir / "checkpoint.pt"), run_dir / "checkpoint.pt", generator=generator, early=early,
                 augment=augment, restart=restart)
        unfinished = check_epochs(run_dir, cfg, state, asked=asked)
        ended = None if unfinished else ended_summary(run_dir, state)
        if ended is not None:  # a finished run: nothing to do, or train on as asked (train/extend.py)
            plan = extend_finished(run_dir, ended, cfg, state, early=early, asked=asked, restart=restart)
            echo(plan)
            if state.stop or state.epoch >= t.epochs:  # left as it was: no file rewritten
                return load_run(run_dir) if rt.is_main else Run(run_dir, cfg, None, state.history, model.cpu().eval(),
                                                                prep.state)
        replanned = replan_note(run_dir, cfg) if ended is None and not unfinished and "train.epochs" in asked else ""
        if rt.is_main:
            atomic_write_text(run_dir / "config.yaml", to_yaml(cfg))  # e.g. a raised train.epochs
        if ended is None:
            echo(f"finishing {run_dir}: its {state.epoch} epochs were trained but its final files were not "
                 "written; evaluating the kept weights" if unfinished else
                 f"resuming {run_dir} after epoch {state.epoch}/{t.epochs}{replanned}")
    else:
        if resume:
            echo(f"{run_dir} has no checkpoint (it stopped before its first epoch): starting it again "
                 "from its recorded config")
        if rt.is_main:
            _write_start(run_dir, cfg, prep, summary_text)
        if cfg.data.augment and rt.is_main:
            _write_augment_preview(run_dir, prep, cfg.data.augment)
        echo(f"training {cfg.model.name} on {ds.name} ({ds.task}, {len(prep.indices['train'])} train / "
             f"{len(prep.indices['val'])} val / {len(prep.indices['test'])} test) on {device}{threads_note(device, setup.threads, rt.record(), auto=setup.threads_auto)}{speed_note(setup.runtime.speed.record())}, "
             f"{count_params(model):,} params")
        for note in folder_notes(ds.meta):  # an image folder's skipped files, said once
            echo(note)
        copies = copies_in_test(ds, prep.indices)  # test inputs that are copies of training ones
        for note in filter(None, (small_class_note(ds, prep.indices), copies and copies["note"],
                                  few_steps_note(len(prep.indices["train"]), t.batch_size, t.epochs))):
            echo(note)
    if early and not has_ckpt and setup.task.name == "forecasting" and cfg.model.wide_init == "linear":
        _score_start(early, state, val_b, setup.task, prep.state.get("target"))
    state.warmup_epochs = warmup_end(setup, t, restart_epoch=state.restart_epoch)
    note = warmup_note(state, schedule=t.schedule) if early else None
    if note:
        echo(note)
    guard = NonFiniteGuard(early=early)
    cbs: list[Callback] = ([CompileClock()] if t.compile else [])  # first: before any callback reads the epoch's row
    cbs += ([early] if early else []) + [guard] + rt.callbacks(seed=t.seed, augment=augment)
    if rt.is_main:
        cbs.append(Checkpointer(run_dir, generator=generator, early=early, augment=augment, every=t.checkpoint_every))
        cbs += setup.task.callbacks(run_dir, prep, device=device)  # e.g. translation's images, epoch by epoch
    fit(state, setup.train_batches, val_b, task=setup.task, targets=prep.state.get("target"),
        callbacks=cbs + list(callbacks or []), progress=t.progress and rt.is_main)
    rt.finish_alone(state.step)  # torchrun: the other processes are done; rank 0 evaluates and writes
    if not rt.is_main:
        rt.wait_for_main()  # leaving now raced rank 0's writes at exit (train/distributed.py)
        return Run(run_dir, cfg, None, state.history, model.cpu().eval(), prep.state)
    if guard.diverged is not None:
        echo(f"warning: {divergence_message(guard.diverged, lr=t.lr)}")
    try:
        if has_ckpt:  # a fresh run counted them above (every input hashed, image files read): not again
            copies = copies_in_test(prep.dataset, prep.indices)
        summary = _finish(run_dir, cfg, prep, state, early=early, task=setup.task, diverged=guard.diverged,
                          test_copies=copies)
    finally:  # a failure here still lets the others go, so the command ends with rank 0's error
        rt.wait_for_main()
    return Run(run_dir, cfg, summary, state.history, model.cpu().eval(), prep.state)


def _restore(state: FitState, ckpt: dict[str, Any], path: Path, *, generator: torch.Generator, early: EarlyStopping | None,
             augment: Augment | None, restart=None) -> None:
    state.restart_epoch = int(ckpt.get("restart_epoch") or 0)
    if state.restart_epoch and restart is not None:  # an extended run: its schedule's cycle began there
        restart(state.epochs - state.restart_epoch)
    try:
        state.step.load_state_dict(ckpt)
    except (RuntimeError, ValueError, KeyError) as exc:  # a checkpoint of another model or config
        from idealfit.run_files import damaged

        raise damaged(path, f"its weights do not fit this run's model: {str(exc).splitlines()[0]}",
                      "start the run again") from None
    state.epoch, state.history = ckpt["epoch"], ckpt["history"]
    state.stop, state.stopped_early = ckpt["stop"], ckpt["stopped_early"]
    torch.set_rng_state(ckpt["torch_rng"])
    generator.set_state(ckpt["order_rng"])
    if augment is not None and ckpt.get("augment_rng") is not None:
        restore_generator(augment.generator, ckpt["augment_rng"])  # drawn on the GPU in a GPU run (train/speed.py)
    if ckpt["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
    if early is not None and ckpt["early"] is not None:
        early.load_state_dict(ckpt["early"])


def _write_start(run_dir: Path, cfg: RunConfig, prep: Prepared, summary_text: str) -> None:
    atomic_write_text(run_dir / "config.yaml", to_yaml(cfg))
    ind = prep.indices
    write_npz(run_dir / "split.npz", train=ind["train"], val=ind["val"], test=ind["test"],
              stratified=ind["stratified"], seed=ind["seed"])
    write_json(run_dir / "preprocess.json", prep.state)
    atomic_write_text(run_dir / "model.txt", summary_text + "\n")


def _write_augment_preview(run_dir: Path, prep: Prepared, specs: list) -> None:
    """The deck's augmentation slide for this run's own first training images, for the report."""
    from idealfit.report.figures import save_png
    from idealfit.report.html import add_extra

    partner = first_train_partners(prep)  # a mask or target row below each image, moved by the same draws
    save_png(preview_figure(first_train_images(prep), specs, seed=0, partner=partner), run_dir / "augment.png")
    below = "" if partner is None else ", each mask or target below its image"
    add_extra(run_dir, section="Data augmentation", caption=f"original, then each augmentation alone{below}",
              path="augment.png")


def _finish(run_dir: Path, cfg: RunConfig, prep: Prepared, state: FitState, *, early: EarlyStopping | None,
            task: Task, diverged: dict[str, Any] | None = None,
            test_copies: dict[str, Any] | None = None) -> dict[str, Any]:
    """Final metrics on every split with the kept weights; weights, predictions, summary, report.
    `test_copies`: `copies_in_test` of the run's split, recorded in summary.json."""
    from safetensors.torch import save

    model, step, targets = state.model, state.step, prep.state.get("target")
    metrics = {}
    for split in ("train", "val", "test"):
        batches = make_batches(prep, split, device=step.runtime.device, batch_size=EVAL_BATCH, shuffle=False,
                               generator=None, final=True)
        if split == "test":
            meter, out, y = evaluate(step, batches, keep_outputs=True)
        else:
            meter = evaluate(step, batches)
        metrics[split] = task.finish(meter.sums(), targets)
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(run_dir / WEIGHTS, save(weights))
    # index: each test sample's row in the dataset (split.npz's test), so a report can show the sample itself
    predictions = task.prediction_arrays(out, y, targets)
    metrics["test"].update(task.test_metrics(prep, predictions))
    write_npz(run_dir / "predictions.npz", index=prep.indices["test"], **predictions)
    task.figures(run_dir, prep, predictions, model)
    kept = early.best_epoch if early and early.best_weights is not None else None
    if diverged is not None:
        kept = diverged["kept_epoch"]
    baselines = task.baselines(prep, seed=cfg.train.seed)  # simple models beside the network, same split and inputs
    params, train_samples = count_params(model), len(prep.indices["train"])  # in the summary and its diagnosis
    summary = {
        "task": task.name, "data": cfg.data.name, "model": cfg.model.name, "params": params,
        "epochs_run": state.epoch, "best_epoch": state.epoch if kept is None else kept,
        "warmup_epochs": state.warmup_epochs,  # not judged by early stopping (train.optim.warmup_epochs)
        "stopped_early": state.stopped_early, "interrupted": state.interrupted, "diverged": diverged,
        "seconds": round(sum(r["seconds"] for r in state.history), 3), "metric": task.metric,
        "compile_seconds": _compile_seconds(state.history),
        "class_names": prep.dataset.class_names, "device": str(step.runtime.device), "metrics": metrics,
        "sparsity": weight_sparsity(model), "train_samples": train_samples, "threads": torch.get_num_threads(),
        "distributed": step.runtime.record(),  # torchrun: {"processes", "nodes", "backend"}; None for one process
        "versions": _versions(), "baselines": baselines, "speed": step.runtime.speed.record(), **task.history_facts(state.history),
        "diagnosis": diagnose(state.history, task=task.name, metric=task.metric, final=metrics, kept_epoch=kept,
                              baselines=baselines,
                              context=_diagnosis_context(cfg, prep.dataset, stopped_early=state.stopped_early,
                                                         interrupted=state.interrupted,
                                                         val_samples=len(prep.indices["val"]),
                                                         params=params, train_samples=train_samples)),
        "test_copies": test_copies,  # {"rows", "of", "note"} or None
        **state.summary_extra,  # e.g. {"pruned": {...}} from a tuning trial: written once, with the rest
    }
    write_json(run_dir / "summary.json", summary)
    write_metrics_csv(run_dir / "metrics.csv", state.history)
    _write_report(run_dir)
    return summary


def _compile_seconds(history: list[dict[str, Any]]) -> float | None:
    """train.compile: the seconds spent compiling (not in "seconds"); None for an eager run."""
    spent = [r["compile_seconds"] for r in history if r.get("compile_seconds") is not None]
    return round(sum(spent), 3) if spent else None


def _diagnosis_context(cfg: RunConfig, ds: Dataset, *, stopped_early: bool, interrupted: bool, val_samples: int,
                       params: int, train_samples: int) -> dict[str, Any]:
    """What the run used, so that the diagnosis advises only remedies it can still apply (params and train_samples:
    whether more capacity can help at all, idealfit.diagnose_advice.capacity_to_spare)."""
    m, t = cfg.model, cfg.train
    augment = [a if isinstance(a, str) else str(a.get("name", a)) for a in cfg.data.augment]
    return {"kind": ds.kind, "model": m.name, "augment": augment, "dropout": m.dropout, "batchnorm": m.batchnorm, "l1": t.l1,
            "l2": t.l2, "early_stopping": t.early_stopping, "stopped_early": stopped_early, "interrupted": interrupted, "patience": t.patience,
            "epochs": t.epochs, "lr": t.lr, "schedule": t.schedule, "val_samples": val_samples, "cell": m.cell,
            "params": params, "train_samples": train_samples, "batch_size": t.batch_size,
            # the width options, so advice can double or halve the run's own (idealfit.diagnose_advice.resized)
            "hidden": list(m.hidden), "widths": list(m.widths), "hidden_size": m.hidden_size, "latent": m.latent,
            **series_context(cfg, ds)}


def _versions() -> dict[str, str]:
    """The versions that produced a run, so a result can be reproduced (or a difference explained)."""
    import platform

    import sklearn

    from idealfit import __version__

    return {"idealfit": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "scikit-learn": sklearn.__version__, "python": platform.python_version()}


def _write_report(run_dir: Path) -> None:
    from idealfit.report.html import build_run_report

    build_run_report(run_dir)
