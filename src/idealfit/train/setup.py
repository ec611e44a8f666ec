"""What `idealfit train` (and `lr-find`) build before the loop: data, split, preprocessing, model, batches,
augmentation, penalties and the training step. Every user-input check happens here, before a run
folder exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from idealfit.config import RunConfig
from idealfit.config_checks import check_run_options
from idealfit.config_defaults import (
    AUDIO_DEFAULTS,
    SERIES_FAMILY_DEFAULTS,
    TABLE_DEFAULTS,
    TEXT_DEFAULTS,
    apply_defaults,
    table_budget,
)
from idealfit.data.augment import SPECTROGRAM_OPS, Augment
from idealfit.data.base import Dataset
from idealfit.data.batching import StreamBatches, TensorBatches
from idealfit.data.prepare import Prepared, load_dataset, prepare
from idealfit.data.split import split_indices
from idealfit.errors import UserError
from idealfit.models.build import build_model
from idealfit.models.init import init_weights
from idealfit.models.registry import FAMILIES, choose_family
from idealfit.tasks import Task, get_task
from idealfit.train.optim import build_optimizer, build_scheduler, warmup_epochs
from idealfit.train.regularizers import build_regularizers
from idealfit.train.runtime import Runtime
from idealfit.train.speed import Speed, check_speed
from idealfit.train.step import SupervisedStep
from idealfit.train.threads import choose_threads


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
    if ds.kind == "image_pair":
        return _pair_augmenter(cfg)
    names = [a if isinstance(a, str) else str(a.get("name")) for a in cfg.data.augment]
    wrong = [n for n in names if (n in SPECTROGRAM_OPS) != (ds.kind == "audio")]
    if wrong:
        valid = ", ".join(SPECTROGRAM_OPS) if ds.kind == "audio" else "flip, crop, contrast, tint"
        raise UserError(f"data.augment={wrong[0]} does not apply to {ds.kind} data ({ds.name}); use {valid}")
    if ds.kind == "audio":  # SpecAugment on the spectrograms (data.augment.band_mask)
        return Augment(cfg.data.augment, generator=torch.Generator().manual_seed(cfg.train.seed + 1))
    if ds.kind != "image":
        raise UserError(f"data.augment works on images; {ds.name} is {ds.kind} data: drop data.augment")
    if ds.paths is None and (ds.x.min() < 0 or ds.x.max() > 1):
        raise UserError(f"data.augment needs pixel values in [0, 1]; {ds.name} has values in "
                        f"[{ds.x.min():g}, {ds.x.max():g}]: drop data.augment")
    # its own generator, seeded and checkpointed, so a resumed run draws the same augmentations
    return Augment(cfg.data.augment, generator=torch.Generator().manual_seed(cfg.train.seed + 1))


GEOMETRIC = ("flip", "crop")  # augmentations that move pixels; contrast and tint change their values


class PairAugment:
    """Flips and crops drawn once per pair and applied to input A and target B alike (one call on the
    images stacked along channels), as pix2pix's paired jitter: the target must stay aligned with its input."""

    def __init__(self, augment: Augment):
        self.augment, self.generator = augment, augment.generator

    def __call__(self, a: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        both = self.augment(torch.cat([a, mask], 1))  # (B, C_A + C_B, H, W)
        return both[:, : a.shape[1]], both[:, a.shape[1] :]


def check_pair_augment(specs: list) -> None:
    """Paired images take the geometric augmentations only (UserError naming the first other one)."""
    names = [a if isinstance(a, str) else str(a.get("name")) for a in specs]
    other = [n for n in names if n not in GEOMETRIC]
    if other:
        raise UserError(f"augmenting paired images moves input and target together: {', '.join(GEOMETRIC)} "
                        f"only ({other[0]} would change an input's meaning, e.g. a label map's colours); "
                        f"drop {other[0]}")


def _pair_augmenter(cfg: RunConfig) -> PairAugment:
    check_pair_augment(cfg.data.augment)
    return PairAugment(Augment(cfg.data.augment, generator=torch.Generator().manual_seed(cfg.train.seed + 1)))


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
    model_config: Any = None  # the resolved model section (a step may read its own options: pix2pix's weights)
    threads_auto: bool = False  # `threads` was measured by train.threads=auto (config.yaml records the count)


def record_image_geometry(d, ds: Dataset) -> None:
    """An image folder's side and channel count, decided from its first images when data.image_size or
    data.channels is None, written into the config so config.yaml records what the run trained on (a resume or
    a reader sees 28 and 1, not null). A paired folder whose two sides differ in colour keeps data.channels=None:
    one number would force both sides to it, and None is what decides each side on its own."""
    if "image_size" not in ds.meta or ds.meta.get("source") is None:  # embedded images come at their own size
        return
    if d.image_size is None:
        d.image_size = int(ds.meta["image_size"])
    if d.channels is None and ds.meta.get("target_channels", ds.meta["channels"]) == ds.meta["channels"]:
        d.channels = int(ds.meta["channels"])


def build_setup(cfg: RunConfig, *, distributed: bool = False) -> Setup:
    """Data (split, subset, fitted preprocessing), the initialized model and the training batches.

    `distributed`: under torchrun, join the other processes (train/distributed.py); `idealfit train` only.
    """
    d, t = cfg.data, cfg.train
    runtime = _runtime(t, distributed=distributed)
    device = runtime.device
    ds = load_dataset(d)
    record_image_geometry(d, ds)
    task = get_task(ds.task, loss=t.loss)
    table_defaulted = []  # the TABLE_DEFAULTS keys set here; epochs and patience are then counted in steps
    if cfg.model.name == "auto":  # resolved here, so config.yaml records the family actually trained
        if ds.kind == "table" and not task.targets_are_inputs:
            table_defaulted = apply_defaults(cfg, TABLE_DEFAULTS)  # recorded in config.yaml (tuned for predicting a column)
        cfg.model.name = "mlp" if d.pca is not None and task.name != "segmentation" else "auto"
    cfg.model.name = choose_family(cfg.model.name, kind=ds.kind, task=task.name)
    # forecasting: the MLP (auto, or named: --model mlp once trained without them), the CNN or the RNN starts at
    # the AR fit
    if ds.kind == "series" and cfg.model.name in SERIES_FAMILY_DEFAULTS:
        apply_defaults(cfg, SERIES_FAMILY_DEFAULTS[cfg.model.name])
    if ds.kind == "text":  # recorded in config.yaml, like the others
        apply_defaults(cfg, TEXT_DEFAULTS)
    if ds.kind == "audio":
        apply_defaults(cfg, AUDIO_DEFAULTS)
        if d.clip_seconds is None:  # chosen by the loader from the clips' lengths: config.yaml records it
            d.clip_seconds = float(ds.meta["clip_seconds"])
    apply_defaults(cfg, FAMILIES[cfg.model.name].defaults)
    if not cfg.model.wide and cfg.model.wide_init == "linear" and "model.wide_init" not in cfg.given:
        cfg.model.wide_init = "random"  # a table or series default that follows model.wide=false, set by the user
    check_run_options(cfg, ds, task=task)  # options that contradict each other or the data, before any work
    # speed paths (train/speed.py): refused here if they cannot apply; the runtime applies them to the step
    check_speed(t, kind=ds.kind, gan=cfg.model.name == "pix2pix" and cfg.model.gan_weight > 0, device=device)
    runtime.speed = Speed.from_config(t)
    indices = split_indices(ds, val_fraction=d.val_fraction, test_fraction=d.test_fraction, seed=t.seed)
    if d.train_subset is not None:
        indices["train"] = train_subset(ds, indices["train"], d.train_subset, seed=t.seed)
    if d.normal_classes is not None:
        indices = normal_only(ds, indices, d.normal_classes, task=task)
    if ds.kind == "audio" and "train.batch_size" not in cfg.given:  # few clips: several steps an epoch
        from idealfit.data.audio import few_clips_batch

        n, batch = len(indices["train"]), few_clips_batch(len(indices["train"]), t.batch_size)
        if batch != t.batch_size:
            steps = -(-n // t.batch_size)
            ds.meta.setdefault("notes", []).append(
                f"train.batch_size={batch} (not set: {n} training clips would make {steps} step"
                f"{'s' * (steps != 1)} an epoch at {t.batch_size}); set train.batch_size to choose")
            t.batch_size = batch  # recorded in config.yaml
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
    difference = bool(prep.state.get("series", {}).get("difference"))
    model = build_model(cfg.model, input_shape=prep.input_shape, out_dim=prep.out_dim, norm=prep.state["norm"],
                        difference=difference)
    init_weights(model, cfg.model.init, nonlinearity=cfg.model.activation)
    if difference:  # the differences' and changes' scales, from the training split (models/difference.py)
        from idealfit.models.difference import fit_difference

        fit_difference(model, prep)
    if cfg.model.num_embedding == "ple":  # the bins' edges: quantiles of the training split, as the model sees it
        from idealfit.models.ple import fit_piecewise

        fit_piecewise(model, prep.x["train"])
    model = model.to(device)
    if runtime.world_size > 1:  # torchrun: refuse what DDP cannot train, before a run folder exists
        from idealfit.train.distributed import check_model

        check_model(model)
    chose = t.threads == "auto"
    threads = choose_threads(t.threads, model=model, input_shape=prep.input_shape, batch_size=t.batch_size,
                             device=device)
    t.threads = str(threads)  # recorded in config.yaml, so --resume continues on the same count
    if cfg.model.wide_init == "linear":  # the wide path starts at baselines.linear's fit, the deep head at 0
        from idealfit.models.linear_init import init_wide_from_ar, init_wide_from_linear

        if difference:  # the AR fit on the differences (an ARIMA(window-1, 1, 0)): the levels' AR is another model
            from idealfit.models.difference import init_wide_from_ar_differences

            init_wide_from_ar_differences(model, prep)
        elif task.name == "forecasting":  # exactly the AR baseline (the target's lags), not a ridge on every channel
            init_wide_from_ar(model, prep)
        else:
            init_wide_from_linear(model, prep.x["train"], prep.y["train"], task=task.name, threads=threads)
    generator = torch.Generator().manual_seed(t.seed)
    train_b = make_batches(prep, "train", device=device, batch_size=t.batch_size, shuffle=d.shuffle,
                           generator=generator, balanced=d.balanced)
    runtime.speed.layout(train_b)  # channels_last: the in-memory images stored NHWC once
    Speed.augment_on(augment, device)  # on a GPU, augmentations draw there (no copy, no sync per batch)
    train_b = runtime.shard(train_b, train=True)  # torchrun: this process's part of every batch
    table_budget(cfg, table_defaulted, steps_per_epoch=max(1, len(train_b)))  # before the schedule is built
    regs = build_regularizers(l1=t.l1, l2=t.l2)
    penalty = (lambda m: sum(r(m) for r in regs)) if regs else None
    return Setup(ds, prep, model, runtime, task, generator, train_b, augment, penalty, threads, cfg.model,
                 threads_auto=chose)


def _runtime(t, *, distributed: bool) -> Runtime:
    if not distributed:
        return Runtime.from_name(t.device)
    from idealfit.train.distributed import runtime_for

    return runtime_for(t.device, sync_batchnorm=t.sync_batchnorm)


def build_step(setup: Setup, t, *, schedule: bool = True) -> SupervisedStep:
    """The training step of a setup: its optimizer and (unless `schedule=False`) its schedule, by name."""
    core = setup.model[-1]
    if getattr(core, "discriminator", None) is not None:  # pix2pix: D then G, each its own Adam (β1 = 0.5)
        return _pix2pix_step(setup, t, core, schedule=schedule)
    if hasattr(core, "discriminator"):  # pix2pix's L1-only ablation: the same generator optimizer as with a GAN
        opt = torch.optim.Adam(setup.model.parameters(), lr=t.lr, betas=(0.5, 0.999))
    else:
        opt = build_optimizer(setup.model.parameters(), t)
    scheds = {"main": build_scheduler(opt, t, steps_per_epoch=len(setup.train_batches))} if schedule else {}
    return SupervisedStep(setup.model, {"main": opt}, scheds, task=setup.task, penalty=setup.penalty,
                          augment=setup.augment, clip_grad=t.clip_grad, runtime=setup.runtime)


def restart_schedules(step, setup: Setup, t, *, epochs: int) -> None:
    """Give `step` a new cycle of the run's schedule over `epochs` epochs, from train.lr and without warm-up
    (a warm restart, as SGDR's): what extending a finished run trains with. Re-planning its old schedule over the
    longer run instead would start where cosine had ended, near 0, and the added epochs would barely move.
    Each optimizer keeps its state (momentum, Adam's moments); only the learning-rate plan starts again."""
    cycle = _restart_cycle(t, epochs)
    step.schedulers = {k: build_scheduler(step.optimizers[k], cycle, steps_per_epoch=len(setup.train_batches))
                       for k in step.schedulers}


def _restart_cycle(t, epochs: int):
    from dataclasses import replace

    return replace(t, epochs=epochs, warmup_epochs=0.0)


def warmup_end(setup: Setup, t, *, restart_epoch: int = 0) -> int:
    """The last epoch (1-based) of the learning-rate warm-up that the run trains under (0: none); for an
    extended run, of its new cycle (`restart_schedules`: cosine without warm-up, onecycle with a new ramp)."""
    cycle = _restart_cycle(t, t.epochs - restart_epoch) if restart_epoch else t
    return restart_epoch + warmup_epochs(cycle, steps_per_epoch=len(setup.train_batches))


def _pix2pix_step(setup: Setup, t, core, *, schedule: bool):
    from idealfit.train.gan_step import Pix2PixStep

    opts = {name: torch.optim.Adam(getattr(core, name).parameters(), lr=t.lr, betas=(0.5, 0.999))
            for name in ("discriminator", "generator")}
    scheds = ({k: build_scheduler(o, t, steps_per_epoch=len(setup.train_batches)) for k, o in opts.items()}
              if schedule else {})
    cfg_m = setup.model_config
    return Pix2PixStep(setup.model, opts, scheds, task=setup.task, l1_weight=cfg_m.l1_weight,
                       gan_weight=cfg_m.gan_weight, augment=setup.augment, clip_grad=t.clip_grad,
                       runtime=setup.runtime)
