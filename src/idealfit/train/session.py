"""`idealfit train` end to end: config -> data -> model -> loop -> run folder.

All user-input checks (config, data files) happen before the run folder is created, so a bad
input leaves nothing half-written behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from idealfit.baselines import format_baselines
from idealfit.config import TABLE_DEFAULTS, RunConfig, apply_defaults, resolve, to_yaml
from idealfit.config_checks import check_run_options
from idealfit.data.augment import Augment
from idealfit.data.augment_preview import first_train_images, preview_figure
from idealfit.data.base import Dataset
from idealfit.data.batching import StreamBatches, TensorBatches
from idealfit.data.images import folder_notes
from idealfit.data.prepare import Prepared, load_dataset, prepare, split_indices
from idealfit.diagnose import diagnose, format_diagnosis
from idealfit.errors import UserError
from idealfit.metrics_csv import write_metrics_csv
from idealfit.models.build import build_model
from idealfit.models.init import init_weights
from idealfit.models.registry import FAMILIES, choose_family
from idealfit.models.summary import count_params, summarize
from idealfit.run import WEIGHTS, Run, check_run_dir
from idealfit.tasks import Task, get_task
from idealfit.train.callbacks import Callback, EarlyStopping, FitState, NonFiniteGuard, divergence_message
from idealfit.train.checkpoint import (
    atomic_write_bytes,
    atomic_write_text,
    load_checkpoint,
    save_checkpoint,
    write_json,
    write_npz,
)
from idealfit.train.loop import fit
from idealfit.train.optim import build_optimizer, build_scheduler
from idealfit.train.regularizers import build_regularizers, weight_sparsity
from idealfit.train.rundir import RunLock, claim_run_dir, discard, only_lock, refuse_if_taken
from idealfit.train.runtime import Runtime
from idealfit.train.step import SupervisedStep, evaluate
from idealfit.train.threads import choose_threads, num_threads

RESUMABLE_KEYS = {"train.epochs", "train.device", "train.progress", "train.threads"}  # what --resume may change
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
            "stopped_early": state.stopped_early})


def make_batches(prep: Prepared, split: str, *, device: torch.device, batch_size: int, shuffle: bool,
             generator: torch.Generator | None, balanced: bool = False, final: bool = False):
    """The batches of a split; `final`: for the final metrics (`Prepared.eval_x` where it has the split)."""
    ds = prep.dataset
    weights = _class_weights(prep.y[split]) if balanced else None
    if ds.paths is not None:
        idx = prep.indices[split]
        return StreamBatches([ds.paths[i] for i in idx], ds.y[idx], size=ds.meta["image_size"],
                             channels=ds.meta["channels"], resize=ds.meta["resize"], batch_size=batch_size, shuffle=shuffle,
                             generator=generator, device=device, weights=weights)
    x = torch.from_numpy(np.ascontiguousarray(prep.eval_x.get(split, prep.x[split]) if final else prep.x[split])).to(device)
    y = torch.from_numpy(prep.y[split]).to(device)
    return TensorBatches(x, y, batch_size=batch_size, shuffle=shuffle, generator=generator, weights=weights)


def _class_weights(y: np.ndarray) -> torch.Tensor:
    """Per-sample weights 1 / (count of its class): every class is drawn equally often."""
    counts = np.bincount(y)
    return torch.from_numpy(1.0 / counts[y]).float()


def train_subset(ds, train_idx: np.ndarray, size: float, *, seed: int) -> np.ndarray:
    """A stratified subset of the training indices: `size` samples (>1) or that share (<=1)."""
    from sklearn.model_selection import train_test_split

    n = int(size) if size > 1 else max(1, int(round(size * len(train_idx))))
    if n >= len(train_idx):
        return train_idx
    strat = ds.y[train_idx] if get_task(ds.task).stratify else None
    try:
        keep, _ = train_test_split(train_idx, train_size=n, random_state=seed + 2, stratify=strat)
    except ValueError:  # fewer samples than classes: stratification impossible
        raise UserError(f"data.train_subset={size} keeps {n} samples, fewer than the "
                        f"{len(np.unique(strat))} classes; keep more") from None
    return np.sort(keep)


def normal_only(ds: Dataset, indices: dict[str, Any], normal: list, *, task: Task) -> dict[str, Any]:
    """Anomaly detection: training and validation keep the `normal` classes only; the test split keeps every
    class, so the reconstruction error can be scored at telling the others apart."""
    if not task.targets_are_inputs:
        raise UserError("data.normal_classes trains an autoencoder for anomaly detection; add --task reconstruction "
                        "or drop data.normal_classes")
    names = ds.class_names or []
    missing = [str(c) for c in normal if str(c) not in names]
    if not names or missing:
        raise UserError(f"data.normal_classes names {missing[0] if missing else normal[0]!r}, but {ds.name} has "
                        + (f"classes {', '.join(names)}" if names else "no classes (labels)"))
    ids = [names.index(str(c)) for c in normal]
    if len(set(ids)) == len(names):
        raise UserError(f"data.normal_classes lists every class of {ds.name}, so no class is left to detect; "
                        "leave at least one out")
    keep = {s: indices[s][np.isin(ds.y[indices[s]], ids)] for s in ("train", "val")}
    ds.meta["normal_classes"] = [names[i] for i in ids]
    return {**indices, **keep}


def build_augmenter(cfg: RunConfig, ds) -> Augment | None:
    if not cfg.data.augment:
        return None
    if ds.kind != "image":
        raise UserError(f"data.augment works on images; {ds.name} is {ds.kind} data: drop data.augment")
    if ds.paths is None and (ds.x.min() < 0 or ds.x.max() > 1):
        raise UserError(f"data.augment needs pixel values in [0, 1]; {ds.name} has values in "
                        f"[{ds.x.min():g}, {ds.x.max():g}]: drop data.augment")
    # its own generator, seeded and checkpointed, so a resumed run draws the same augmentations
    return Augment(cfg.data.augment, generator=torch.Generator().manual_seed(cfg.train.seed + 1))


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
    """
    overrides = dict(overrides or {})
    cfg, has_ckpt = _resume_config(resume, overrides) if resume else (resolve(config_file=config_file,
                                                                              overrides=overrides), False)
    setup = build_setup(cfg)  # user-data errors surface here, before anything is written
    with num_threads(setup.threads):
        return _claim_and_train(cfg, setup, resume=resume, has_ckpt=has_ckpt, callbacks=callbacks, echo=echo)


def _claim_and_train(cfg: RunConfig, setup: Setup, *, resume, has_ckpt: bool, callbacks, echo) -> Run:
    run_dir, created = (Path(cfg.out), False) if resume else claim_run_dir(cfg)
    lock = RunLock(run_dir)
    try:
        if not resume and not created:  # another run may have filled it between our check and our lock
            refuse_if_taken(run_dir)
        try:
            return _train_in(run_dir, cfg, setup, resume=resume is not None, has_ckpt=has_ckpt,
                             callbacks=callbacks, echo=echo)
        except BaseException:
            if not resume and not (run_dir / "metrics.csv").exists():  # failed before its first epoch
                discard(run_dir, created=created)
            raise
    finally:
        lock.release()


def _train_in(run_dir: Path, cfg: RunConfig, setup: Setup, *, resume: bool, has_ckpt: bool,
              callbacks: list[Callback] | None, echo) -> Run:
    """The run itself, in a claimed and locked folder."""
    t = cfg.train
    ds, prep, model, device, augment, generator = (setup.dataset, setup.prep, setup.model, setup.runtime.device,
                                                   setup.augment, setup.generator)
    summary_text = summarize(model, prep.input_shape)
    val_b = make_batches(prep, "val", device=device, batch_size=EVAL_BATCH, shuffle=False, generator=None)
    state = FitState(build_step(setup, t), epochs=t.epochs)
    early = (EarlyStopping(monitor=t.monitor, patience=t.patience, min_delta=t.min_delta, task=setup.task)
             if t.early_stopping else None)

    for note in ds.meta.get("notes", []) if not has_ckpt else []:  # e.g. an identifier column left out
        echo(note)
    if has_ckpt:
        _restore(state, load_checkpoint(run_dir / "checkpoint.pt"), run_dir / "checkpoint.pt", generator=generator, early=early, augment=augment)
        if "train.epochs" in cfg.given and t.epochs <= state.epoch:
            raise UserError(f"{run_dir} has already trained {state.epoch} epochs; to train on, pass --epochs "
                            f"above {state.epoch}")
        atomic_write_text(run_dir / "config.yaml", to_yaml(cfg))  # e.g. a raised train.epochs
        echo(f"resuming {run_dir} after epoch {state.epoch}/{t.epochs}")
    else:
        if resume:
            echo(f"{run_dir} has no checkpoint (it stopped before its first epoch): starting it again "
                 "from its recorded config")
        _write_start(run_dir, cfg, prep, summary_text)
        if cfg.data.augment:
            _write_augment_preview(run_dir, prep, cfg.data.augment)
        echo(f"training {cfg.model.name} on {ds.name} ({ds.task}, {len(prep.indices['train'])} train / "
             f"{len(prep.indices['val'])} val / {len(prep.indices['test'])} test) on {device}{_threads_note(device, setup.threads)}, "
             f"{count_params(model):,} params")
        for note in folder_notes(ds.meta):  # an image folder's skipped files, said once
            echo(note)
    guard = NonFiniteGuard(early=early)
    cbs: list[Callback] = ([early] if early else []) + [guard, Checkpointer(run_dir, generator=generator, early=early,
                                                                            augment=augment, every=t.checkpoint_every)]
    fit(state, setup.train_batches, val_b, task=setup.task, targets=prep.state.get("target"),
        callbacks=cbs + list(callbacks or []), progress=t.progress)
    if guard.diverged is not None:
        echo(f"warning: {divergence_message(guard.diverged, lr=t.lr)}")
    summary = _finish(run_dir, cfg, prep, state, early=early, task=setup.task, diverged=guard.diverged)
    return Run(run_dir, cfg, summary, state.history, model.cpu().eval(), prep.state)


@dataclass
class Setup:
    """Everything `train` builds before its loop; `lr_find` builds the same through `build_setup`."""

    dataset: Dataset
    prep: Prepared
    model: torch.nn.Module  # initialized, on `runtime.device`
    runtime: Runtime
    task: Task
    generator: torch.Generator  # the training batch order
    train_batches: Any
    augment: Augment | None
    penalty: Callable[[torch.nn.Module], torch.Tensor] | None
    threads: int  # CPU threads to train on (train.threads, resolved)


def build_setup(cfg: RunConfig) -> Setup:
    """Data (split, subset, fitted preprocessing), the initialized model and the training batches."""
    d, t = cfg.data, cfg.train
    runtime = Runtime.from_name(t.device)
    device = runtime.device
    ds = load_dataset(d)
    task = get_task(ds.task, loss=t.loss)
    if cfg.model.name == "auto":  # resolved here, so config.yaml records the family actually trained
        if ds.kind == "table" and not task.targets_are_inputs:
            apply_defaults(cfg, TABLE_DEFAULTS)  # recorded in config.yaml (tuned for predicting a column)
        cfg.model.name = "mlp" if d.pca is not None and task.name != "segmentation" else "auto"
    cfg.model.name = choose_family(cfg.model.name, kind=ds.kind, task=task.name)
    apply_defaults(cfg, FAMILIES[cfg.model.name].defaults)
    check_run_options(cfg, ds, task=task)  # options that contradict each other or the data, before any work
    indices = split_indices(ds, val_fraction=d.val_fraction, test_fraction=d.test_fraction, seed=t.seed)
    if d.train_subset is not None:
        indices["train"] = train_subset(ds, indices["train"], d.train_subset, seed=t.seed)
    if d.normal_classes is not None:
        indices = normal_only(ds, indices, d.normal_classes, task=task)
    if len(indices["train"]) < 2:  # one sample cannot be learned from (nor batch-normalized)
        raise UserError(f"{ds.name} has {len(ds)} samples, which leaves {len(indices['train'])} to train on after "
                        "the validation and test rows are held out; add data (tens of samples at least)")
    augment = build_augmenter(cfg, ds)
    prep = prepare(ds, indices, cfg=d)
    if task.targets_are_inputs:  # a denoising autoencoder: a fresh corruption of every training batch
        size = int(np.prod(prep.input_shape))
        if "model.latent" not in cfg.given and cfg.model.latent >= size:  # no bottleneck: the code would copy
            cfg.model.latent = max(1, size // 2)
        prep.state["reconstruction"]["latent"] = cfg.model.latent
        if d.noise or d.mask_prob:
            from idealfit.tasks.reconstruction import Corruption

            augment = Corruption(noise=d.noise, mask_prob=d.mask_prob,
                                 generator=torch.Generator().manual_seed(t.seed + 1))
    torch.manual_seed(t.seed)
    model = build_model(cfg.model, input_shape=prep.input_shape, out_dim=prep.out_dim, norm=prep.state["norm"])
    init_weights(model, cfg.model.init, nonlinearity=cfg.model.activation)
    model = model.to(device)
    threads = choose_threads(t.threads, model=model, input_shape=prep.input_shape, batch_size=t.batch_size,
                             device=device)
    t.threads = str(threads)  # recorded in config.yaml, so --resume continues on the same count
    generator = torch.Generator().manual_seed(t.seed)
    train_b = make_batches(prep, "train", device=device, batch_size=t.batch_size, shuffle=d.shuffle,
                           generator=generator, balanced=d.balanced)
    regs = build_regularizers(l1=t.l1, l2=t.l2)
    penalty = (lambda m: sum(r(m) for r in regs)) if regs else None
    return Setup(ds, prep, model, runtime, task, generator, train_b, augment, penalty, threads)


def build_step(setup: Setup, t, *, schedule: bool = True) -> SupervisedStep:
    """The training step of a setup: its optimizer and (unless `schedule=False`) its schedule, by name."""
    opt = build_optimizer(setup.model.parameters(), t)
    scheds = {"main": build_scheduler(opt, t, steps_per_epoch=len(setup.train_batches))} if schedule else {}
    return SupervisedStep(setup.model, {"main": opt}, scheds, task=setup.task, penalty=setup.penalty,
                          augment=setup.augment, clip_grad=t.clip_grad, runtime=setup.runtime)


def _restore(state: FitState, ckpt: dict[str, Any], path: Path, *, generator: torch.Generator, early: EarlyStopping | None,
             augment: Augment | None) -> None:
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
        augment.generator.set_state(ckpt["augment_rng"])
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

    save_png(preview_figure(first_train_images(prep), specs, seed=0), run_dir / "augment.png")
    add_extra(run_dir, section="Data augmentation", caption="original, then each augmentation alone",
              path="augment.png")


def _finish(run_dir: Path, cfg: RunConfig, prep: Prepared, state: FitState, *, early: EarlyStopping | None,
            task: Task, diverged: dict[str, Any] | None = None) -> dict[str, Any]:
    """Final metrics on every split with the kept weights; weights, predictions, summary, report."""
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
    summary = {
        "task": task.name, "data": cfg.data.name, "model": cfg.model.name, "params": count_params(model),
        "epochs_run": state.epoch, "best_epoch": state.epoch if kept is None else kept,
        "stopped_early": state.stopped_early, "interrupted": state.interrupted, "diverged": diverged,
        "seconds": round(sum(r["seconds"] for r in state.history), 3), "metric": task.metric,
        "class_names": prep.dataset.class_names, "device": str(step.runtime.device), "metrics": metrics,
        "sparsity": weight_sparsity(model), "train_samples": len(prep.indices["train"]), "threads": torch.get_num_threads(),
        "versions": _versions(), "baselines": baselines,
        "diagnosis": diagnose(state.history, task=task.name, metric=task.metric, final=metrics, kept_epoch=kept,
                              baselines=baselines,
                              context=_diagnosis_context(cfg, prep.dataset, stopped_early=state.stopped_early,
                                                         val_samples=len(prep.indices["val"]))),
    }
    write_json(run_dir / "summary.json", summary)
    write_metrics_csv(run_dir / "metrics.csv", state.history)
    _write_report(run_dir)
    return summary


def _diagnosis_context(cfg: RunConfig, ds: Dataset, *, stopped_early: bool, val_samples: int) -> dict[str, Any]:
    """What the run used, so that the diagnosis advises only remedies it can still apply."""
    m, t = cfg.model, cfg.train
    augment = [a if isinstance(a, str) else str(a.get("name", a)) for a in cfg.data.augment]
    return {"kind": ds.kind, "augment": augment, "dropout": m.dropout, "batchnorm": m.batchnorm, "l1": t.l1,
            "l2": t.l2, "early_stopping": t.early_stopping, "stopped_early": stopped_early, "patience": t.patience,
            "epochs": t.epochs, "lr": t.lr, "val_samples": val_samples}


def _threads_note(device: torch.device, threads: int) -> str:
    return f" ({threads} thread{'s' if threads > 1 else ''})" if device.type == "cpu" else ""


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


def format_summary(run: Run) -> str:
    """The short end-of-run summary printed by `idealfit train`."""
    s, m = run.summary, run.summary["metrics"]
    key = s["metric"]
    pct = get_task(s["task"]).metrics[key].bounded
    fmt = (lambda v: f"{100 * v:.2f}%") if pct else (lambda v: f"{v:.4g}")
    lines = [f"{key:>10}: train {fmt(m['train'][key])}  val {fmt(m['val'][key])}  test {fmt(m['test'][key])}"]
    if "r2" in m["test"]:
        lines.append(f"{'r2':>10}: train {m['train']['r2']:.3f}  val {m['val']['r2']:.3f}  test {m['test']['r2']:.3f}")
    if "anomaly_auroc" in m["test"]:
        lines.append(f"{'anomalies':>10}: ROC AUC {m['test']['anomaly_auroc']:.3f} on test (classes other than "
                     "data.normal_classes, ranked by reconstruction error; 0.5 = chance)")
    stop = (" (stopped early)" if s["stopped_early"] else " (interrupted)" if s.get("interrupted")
            else " (diverged)" if s.get("diverged") else "")
    lines += [f"{'epochs':>10}: {s['epochs_run']}{stop}, best epoch {s['best_epoch']}",
              f"{'time':>10}: {s['seconds']:.{2 if s['seconds'] < 1 else 1}f} s on {s['device']}"
              + (f" ({s['threads']} thread{'s' if s['threads'] > 1 else ''})" if s.get("threads") and s["device"] == "cpu" else ""),
              f"{'params':>10}: {s['params']:,}",
              *([format_baselines(s["baselines"], key, pct=pct)] if s.get("baselines") else []),
              f"{'run':>10}: {run.dir}  (report: {run.dir / 'report.html'})"]
    if s.get("interrupted"):
        lines.append(f"{'continue':>10}: idealfit train --resume {run.dir}")
    if "diagnosis" in s:
        lines += ["", format_diagnosis(s["diagnosis"])]
    return "\n".join(lines)
