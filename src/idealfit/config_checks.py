"""Options that contradict each other or the data: refused before the run folder exists.

`config.validate` checks each field on its own (types, ranges, choices). What it cannot see is an
option that is valid in itself but does nothing for this run: a CNN setting on an MLP, momentum for
Adam, a CSV column on an embedded dataset, class balancing on a regression target. Left alone, such an
option is silently ignored (or fails mid-run); here it stops with one line that names the option, why
it does not apply and the fix.

A key counts as set when a config file or an override gave it a value other than its default
(`RunConfig.given`): on `--resume` every recorded key is "given", and a default value changes nothing.

Example:
    >>> from idealfit.config import resolve
    >>> from idealfit.data.embedded import EMBEDDED
    >>> cfg = resolve(overrides={"model.name": "mlp", "model.kernel_size": "5"})
    >>> check_run_options(cfg, EMBEDDED["digits"][0](), task=get_task("classification"))  # doctest: +SKIP
    UserError: model.kernel_size is a cnn option, but this run trains an mlp; drop model.kernel_size or ...
"""

from __future__ import annotations

from pathlib import Path

from idealfit.config import RunConfig
from idealfit.data.base import Dataset
from idealfit.errors import UserError
from idealfit.tasks import Task

# the shape options each model family reads (activation, dropout, batchnorm, init are not checked here)
FAMILY_KEYS = {
    "mlp": ("model.hidden", "model.wide", "model.wide_init", "model.num_embedding", "model.ple_bins",
            "model.ple_dim", "model.ple_paths"),
    "cnn": ("model.widths", "model.kernel_size", "model.pool", "model.hidden", "model.block_convs", "model.wide",
            "model.wide_init"),
    "rnn": ("model.cell", "model.layers", "model.hidden_size", "model.bidirectional", "model.hidden", "model.embed_dim",
            "model.wide", "model.wide_init"),
    "unet": ("model.widths", "model.skip"),
    "autoencoder": ("model.latent", "model.widths", "model.hidden"),
    "pix2pix": ("model.widths", "model.skip", "model.gan_weight", "model.l1_weight", "model.d_width"),
}
MOMENTUM_OPTIMIZERS = ("sgd",)  # the optimizers that read train.momentum and train.nesterov


def check_run_options(cfg: RunConfig, dataset: Dataset, *, task: Task) -> None:
    """Raise UserError for the first option that cannot apply to this run.

    Args:
        cfg: the resolved config, with `model.name` already resolved from auto (the family trained).
        dataset: the loaded dataset (its kind and source decide what applies).
        task: the run's task (its metrics decide the valid monitors).
    """
    _check_batches(cfg, dataset, task)
    _check_data_source(cfg, dataset)
    _check_num_embedding(cfg, dataset)  # before the family: on images the fix is to drop it, not to change family
    _check_family(cfg, dataset)
    _check_ignored(cfg, dataset, task)
    _check_optimizer(cfg)
    _check_monitor(cfg, dataset, task)
    _check_wide_init(cfg, dataset, task)


def is_set(cfg: RunConfig, key: str) -> bool:
    """Whether a config file or override gave dotted `key` a value other than its default."""
    section, name = key.split(".")
    value = getattr(getattr(cfg, section), name)
    return key in cfg.given and value != getattr(getattr(RunConfig(), section), name)


def _check_batches(cfg: RunConfig, ds: Dataset, task: Task) -> None:
    d = cfg.data
    if d.balanced and task.name != "classification":  # weights are per sample: one class id each
        raise UserError(f"data.balanced draws every class equally often, but this is a {task.name} run on "
                        f"{ds.name} (no class per sample); drop data.balanced")
    if d.balanced and not d.shuffle:
        raise UserError("data.balanced draws each epoch's samples at random, so data.shuffle=false (the stored "
                        "order) cannot hold; drop one of the two")


def _check_data_source(cfg: RunConfig, ds: Dataset) -> None:
    """Options that describe a file the user brings (a CSV column, an image folder's size and colour)."""
    from idealfit.data.embedded import EMBEDDED
    from idealfit.data.table import is_csv_path

    what = "an embedded dataset" if cfg.data.name in EMBEDDED else f"{ds.kind} data"
    if cfg.data.target is not None and not is_csv_path(Path(str(ds.meta.get("source", "")))):
        raise UserError(f"data.target names a CSV column, and {ds.name} is {what}, not a CSV file; "
                        "drop data.target (the dataset brings its own target)")
    folder = "image_size" in ds.meta and ds.meta.get("source") is not None  # only image folders record both
    for key in ("data.image_size", "data.channels"):
        if getattr(cfg.data, key.split(".")[1]) is not None and not folder:
            raise UserError(f"{key} sets how an image folder's files are decoded, and {ds.name} is {what}, "
                            f"which comes at its own size; drop {key}")


def _check_family(cfg: RunConfig, ds: Dataset) -> None:
    family = cfg.model.name
    why = "" if "model.name" in cfg.given else f" (model.name=auto chose it for {ds.kind} data)"
    for key in dict.fromkeys(k for keys in FAMILY_KEYS.values() for k in keys):
        if key not in FAMILY_KEYS.get(family, (key,)) and is_set(cfg, key):
            owners = [f for f, keys in FAMILY_KEYS.items() if key in keys]
            whose = f"{_a(owners[0])} option" if len(owners) == 1 else f"an option of {', '.join(owners)}"
            raise UserError(f"{key} is {whose}, but this run trains {_a(family)}{why}; drop {key} or set "
                            f"model.name={' or '.join(owners)}")
    if is_set(cfg, "model.embed_dim") and ds.kind != "text":  # an embedding reads token ids only
        raise UserError(f"model.embed_dim sizes the token embedding of text runs; {ds.name} is {ds.kind} data: "
                        "drop model.embed_dim")


# options a family's training would silently ignore: refused instead, with the reason
PIX2PIX_FIXED = ("train.optimizer", "train.weight_decay", "train.l1", "train.l2")


def _check_ignored(cfg: RunConfig, ds: Dataset, task: Task) -> None:
    family = cfg.model.name
    if task.targets_are_inputs and cfg.data.augment:  # the step would move the input but not its copy, the target
        raise UserError("data.augment does not apply to reconstruction runs: their target is the input itself, "
                        "which an augmentation would move away from it; drop data.augment, and corrupt the inputs "
                        "with data.noise or data.mask_prob to regularize the autoencoder")
    if cfg.data.difference and ds.kind != "series":
        raise UserError(f"data.difference forecasts the changes of a time series, and {ds.name} is {ds.kind} data; "
                        "drop data.difference")
    if cfg.data.difference and cfg.data.window < 2:
        raise UserError("data.difference reads the steps between the window's values, and data.window=1 has none; "
                        "raise data.window (default 12)")
    if family == "pix2pix":
        if cfg.model.gan_weight == 0 and cfg.model.l1_weight == 0:
            raise UserError("model.gan_weight=0 and model.l1_weight=0 leave the generator no loss to learn from; "
                            "keep the paper's l1_weight=100 (gan_weight=0 alone is the L1-only ablation)")
        for key in PIX2PIX_FIXED:
            if is_set(cfg, key):
                raise UserError(f"{key} does not apply to pix2pix: both networks train with the paper's Adam "
                                "(β1 = 0.5) and no weight penalty (the L1 term and the discriminator shape the "
                                f"generator); drop {key}, or tune model.l1_weight and train.lr")
    if family == "autoencoder" and ds.kind != "table" and is_set(cfg, "model.dropout"):
        raise UserError(f"model.dropout applies to the dense autoencoder (tables); the convolutional one for "
                        f"{ds.kind} data has no dense layers to drop: drop model.dropout, or use data.noise or "
                        "data.mask_prob to regularize a denoising autoencoder")


def _check_optimizer(cfg: RunConfig) -> None:
    t = cfg.train
    if t.optimizer in MOMENTUM_OPTIMIZERS:
        return
    for key in ("train.momentum", "train.nesterov"):
        # refused when the user gave it, whatever its value: `--set train.momentum=0.9` (the default) with
        # adamw is the same mistake as 0.5; a run's recorded config lists it for every optimizer, so there
        # only a changed value counts
        chosen = key in cfg.given and key not in cfg.recorded
        if chosen or is_set(cfg, key):
            raise UserError(f"{key} works with train.optimizer=sgd; {t.optimizer} has no such setting (its betas "
                            f"play that role): drop {key} or set train.optimizer=sgd")


def _check_monitor(cfg: RunConfig, ds: Dataset, task: Task) -> None:
    valid = task.monitors()
    if cfg.train.monitor not in valid:
        raise UserError(f"train.monitor={cfg.train.monitor} is not logged for {task.name} ({ds.name}); "
                        f"use one of {', '.join(valid)}")


def _check_wide_init(cfg: RunConfig, ds: Dataset, task: Task) -> None:
    family = cfg.model.name
    if family in ("cnn", "rnn") and ds.kind != "series" and (cfg.model.wide or is_set(cfg, "model.wide_init")):
        key = "model.wide" if cfg.model.wide else "model.wide_init"  # a cnn's or rnn's linear path is forecasting's AR
        raise UserError(f"{key} is an mlp option (and a cnn's or rnn's on series, for forecasting), but this run "
                        f"trains {_a(family)} on {ds.kind} data; drop {key} or set model.name=mlp")
    if cfg.model.wide_init != "linear":
        return
    if not cfg.model.wide:
        raise UserError("model.wide_init=linear starts the wide path at a linear model, and this run has none; "
                        "add model.wide=true")
    forecast = ds.kind == "series" and task.name == "forecasting"  # the wide path starts at a linear AR (ridge)
    if not forecast and (ds.kind != "table" or task.name not in ("classification", "regression")):
        raise UserError(f"model.wide_init=linear starts at the linear baseline, which is fitted for classification "
                        f"and regression on tables; {ds.name} is {task.name} on {ds.kind} data: drop model.wide_init")


def _check_num_embedding(cfg: RunConfig, ds: Dataset) -> None:
    m = cfg.model
    if m.num_embedding == "none":
        for key in ("model.ple_bins", "model.ple_dim", "model.ple_paths"):
            if is_set(cfg, key):
                raise UserError(f"{key} shapes the piecewise-linear encoding, and this run has none; add "
                                f"model.num_embedding=ple or drop {key}")
        return
    if ds.kind != "table":  # quantile bins of a pixel or a time step would be a preprocessing of its own
        raise UserError(f"model.num_embedding={m.num_embedding} encodes the numeric columns of a table, and "
                        f"{ds.name} is {ds.kind} data; drop model.num_embedding")
    if m.ple_paths != "deep" and not m.wide:
        raise UserError(f"model.ple_paths={m.ple_paths} feeds the encoding to the wide path, and this run has none; "
                        "add model.wide=true or set model.ple_paths=deep")
    if m.ple_paths == "wide" and m.ple_dim:
        raise UserError("model.ple_dim embeds the bins that the dense layers read, and with model.ple_paths=wide they "
                        "read the raw features; set model.ple_paths=both or drop model.ple_dim")


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeio" or word in ("mlp", "rnn") else f"a {word}"  # as said: "an MLP", "a CNN"
