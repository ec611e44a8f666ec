"""Reject impossible config values before any work starts: one line each, with the valid choices.

Cross-option checks that need the data (an option that cannot apply to it) live in config_checks.py.
"""

from __future__ import annotations

import difflib
import math

from idealfit.config import (
    ACTIVATIONS,
    CELLS,
    FAMILIES,
    IMPUTE,
    INIT_SCHEMES,
    LOSSES,
    MAX_SEED,
    NUM_EMBEDDINGS,
    OPTIMIZERS,
    PLE_PATHS,
    POOLS,
    PRECISIONS,
    RESIZE,
    SCALES,
    SCHEDULES,
    TASKS,
    TOKENS,
    WIDE_INITS,
    DataConfig,
    RunConfig,
)
from idealfit.errors import UserError

MAX_PLE_BINS = 256  # model.ple_bins: the paper tunes 2 to 128


def _choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        close = difflib.get_close_matches(value, choices, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UserError(f"{key} must be one of {', '.join(choices)}; got '{value}'{hint}")


def _positive(key: str, value: float | int, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise UserError(f"{key} must be {bound}; got {value}")


def validate(cfg: RunConfig) -> RunConfig:
    """Reject impossible values before any work starts."""
    d, m, t = cfg.data, cfg.model, cfg.train
    if d.task is not None:
        _choice("data.task", d.task, TASKS)
    for key in ("val_fraction", "test_fraction"):
        frac = getattr(d, key)
        if not 0 < frac < 0.5:
            raise UserError(f"data.{key} must be between 0 and 0.5; got {frac}")
    if d.image_size is not None:
        _positive("data.image_size", d.image_size)
    _positive("data.max_memory_mb", d.max_memory_mb, allow_zero=True)  # 0 = always stream image folders
    if d.channels not in (None, 1, 3):
        raise UserError(f"data.channels must be 1 or 3; got {d.channels}")
    _choice("data.resize", d.resize, RESIZE)
    _choice("data.tokens", d.tokens, TOKENS)
    _positive("data.min_freq", d.min_freq)
    _positive("data.max_length", d.max_length)
    _positive("data.sample_rate", d.sample_rate)
    _positive("data.n_mels", d.n_mels)
    if d.clip_seconds is not None:  # None: chosen from the data (data/audio.py choose_clip_seconds)
        _positive("data.clip_seconds", d.clip_seconds)
        if d.sample_rate * d.clip_seconds > 10 * 48000:
            raise UserError(f"data.clip_seconds={d.clip_seconds:g} at data.sample_rate={d.sample_rate} is "
                            f"{d.sample_rate * d.clip_seconds:,.0f} samples per clip; clips up to 10 s at 48 kHz "
                            "are read")
        # lazy, as data.augment_spec below: keeps `idealfit --help` light; both torch-free (checking needs no torch)
        from idealfit.data.audio_frames import check_clip

        check_clip(d.sample_rate, d.clip_seconds)
    if d.max_vocab is not None:
        _positive("data.max_vocab", d.max_vocab)
    _validate_data_options(d)
    _choice("model.name", m.name, (*FAMILIES, "auto"))
    if d.pca is not None and m.name == "cnn":  # caught here, before any data is loaded or file written
        raise UserError("data.pca turns images into vectors, which a CNN cannot take; use model.name=mlp")
    _choice("model.init", m.init, INIT_SCHEMES)
    _choice("model.pool", m.pool, POOLS)
    _choice("model.wide_init", m.wide_init, WIDE_INITS)
    _choice("model.num_embedding", m.num_embedding, NUM_EMBEDDINGS)
    if not 2 <= m.ple_bins <= MAX_PLE_BINS:  # one bin is min-max scaling; each bin adds F inputs to the first layer
        raise UserError(f"model.ple_bins must be a whole number from 2 to {MAX_PLE_BINS} (quantile bins per "
                        f"feature); got {m.ple_bins}")
    _positive("model.ple_dim", m.ple_dim, allow_zero=True)
    _choice("model.ple_paths", m.ple_paths, PLE_PATHS)
    _choice("model.activation", m.activation, ACTIVATIONS)
    for i, w in enumerate(m.widths):
        _positive(f"model.widths[{i}]", w)
    for i, w in enumerate(m.hidden):
        _positive(f"model.hidden[{i}]", w)
    if m.name in ("cnn", "auto") and not m.widths:  # auto may pick a CNN: only an explicit mlp needs none
        raise UserError(f"model.widths must name at least one conv block for model.name={m.name}, e.g. [32,64]; "
                        "use model.name=mlp for a network without convolutions")
    if not 1 <= m.block_convs <= 8:
        raise UserError(f"model.block_convs must be a whole number from 1 to 8 (convolutions per block); got {m.block_convs}")
    if m.kernel_size < 1 or m.kernel_size % 2 == 0:
        raise UserError(f"model.kernel_size must be an odd number >= 1; got {m.kernel_size}")
    if not 0 <= m.dropout < 1:
        raise UserError(f"model.dropout must be in [0, 1); got {m.dropout}")
    _choice("model.cell", m.cell, CELLS)
    _positive("model.embed_dim", m.embed_dim)
    _positive("model.layers", m.layers)
    _positive("model.hidden_size", m.hidden_size)
    _positive("model.latent", m.latent)
    _positive("model.d_width", m.d_width)
    _positive("model.gan_weight", m.gan_weight, allow_zero=True)
    _positive("model.l1_weight", m.l1_weight, allow_zero=True)
    _positive("train.epochs", t.epochs)
    _positive("train.batch_size", t.batch_size)
    _positive("train.lr", t.lr)
    _choice("train.optimizer", t.optimizer, OPTIMIZERS)
    _choice("train.schedule", t.schedule, SCHEDULES)
    _choice("train.loss", t.loss, LOSSES)
    _positive("train.momentum", t.momentum, allow_zero=True)
    _positive("train.weight_decay", t.weight_decay, allow_zero=True)
    _positive("train.warmup_epochs", t.warmup_epochs, allow_zero=True)
    _positive("train.step_every", t.step_every)
    _positive("train.step_gamma", t.step_gamma)
    _positive("train.patience", t.patience)
    _positive("train.min_delta", t.min_delta, allow_zero=True)
    if t.clip_grad is not None:
        _positive("train.clip_grad", t.clip_grad)
    _positive("train.checkpoint_every", t.checkpoint_every, allow_zero=True)
    _positive("train.l1", t.l1, allow_zero=True)
    _positive("train.l2", t.l2, allow_zero=True)
    if not 0 <= t.seed <= MAX_SEED:
        raise UserError(f"train.seed must be a whole number from 0 to {MAX_SEED}; got {t.seed}")
    if t.threads != "auto" and not (t.threads.isdigit() and 1 <= int(t.threads) <= 1024):
        raise UserError(f"train.threads must be auto or a whole number from 1 to 1024; got '{t.threads}'")
    _choice("train.precision", t.precision, PRECISIONS)
    dev = t.device
    if not (dev in ("auto", "cpu", "cuda", "mps") or (dev.startswith("cuda:") and dev[5:].isdigit())):
        raise UserError(f"train.device must be auto, cpu, cuda, cuda:N or mps; got '{dev}'")
    return cfg


def _validate_data_options(d: DataConfig) -> None:
    from idealfit.data.augment_spec import check_specs  # no torch: data/augment_spec.py says why

    check_specs(d.augment)  # raises with "did you mean" for unknown augmentations or parameters
    for key in ("window", "horizon"):  # time series (forecasting)
        _positive(f"data.{key}", getattr(d, key))
    if d.season is not None:
        _positive("data.season", d.season)
    if d.train_subset is not None and (d.train_subset <= 0 or (d.train_subset > 1 and not d.train_subset.is_integer())):
        raise UserError(f"data.train_subset must be a share in (0, 1] or a whole count > 1; got {d.train_subset}")
    _validate_columns(d)
    _choice("data.impute", d.impute, IMPUTE)
    _choice("data.scale", d.scale, SCALES)
    if d.clip_quantiles is not None:
        q = d.clip_quantiles
        if len(q) != 2 or not 0 <= q[0] < q[1] <= 1:
            raise UserError(f"data.clip_quantiles must be [low, high] with 0 <= low < high <= 1; got {q}")
    if d.clip_fences is not None and not (math.isfinite(d.clip_fences) and d.clip_fences > 0):
        raise UserError(f"data.clip_fences must be a positive k (clip to [Q1 - k·IQR, Q3 + k·IQR]) or none; "
                        f"got {d.clip_fences}")
    if d.pca is not None and (d.pca <= 0 or (d.pca >= 1 and not d.pca.is_integer())):
        raise UserError(f"data.pca must be a variance share in (0, 1) or a whole number of components; got {d.pca}")
    _positive("data.downsample", d.downsample)
    _positive("data.noise", d.noise, allow_zero=True)
    _choice("data.pairs", d.pairs, ("folders", "side_by_side"))
    if d.normal_classes is not None and (not isinstance(d.normal_classes, list) or not d.normal_classes):
        raise UserError(f"data.normal_classes must be a non-empty list of class names, e.g. [0, 1]; got {d.normal_classes!r}")
    if not 0 <= d.mask_prob < 1:
        raise UserError(f"data.mask_prob must be in [0, 1); got {d.mask_prob}")


def _validate_columns(d: DataConfig) -> None:
    """data.columns / data.drop / data.encoding / data.decimal; names the CSV lacks are refused when it is read."""
    import codecs

    if d.columns is not None and not d.columns:
        raise UserError("data.columns is an empty list; name the feature columns to use, or drop data.columns")
    for key, names in (("data.columns", d.columns or []), ("data.drop", d.drop)):
        dup = next((c for i, c in enumerate(names) if c in names[:i]), None)
        if dup is not None:
            raise UserError(f"{key} names '{dup}' twice; list each column once")
    both = sorted(set(d.columns or []) & set(d.drop))
    if both:
        raise UserError(f"column '{both[0]}' is in both data.columns and data.drop; keep it in one of them")
    if d.target is not None and d.target in d.drop:
        raise UserError(f"data.drop names the target '{d.target}'; the target is never a feature, drop it from data.drop")
    _choice("data.decimal", d.decimal, ("auto", ".", ","))
    try:
        codecs.lookup(d.encoding)
    except LookupError:
        raise UserError(f"data.encoding={d.encoding!r} is not a text encoding Python knows; use e.g. utf-8, "
                        "latin-1 or cp1252") from None
