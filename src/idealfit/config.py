"""Typed run configuration: dataclasses with commented defaults, YAML in, strict overrides.

Every field can be set three ways, later ones winning: the defaults below, a YAML file
(`--config run.yaml`), and `--set section.key=value` (or the CLI's shortcut flags). Unknown keys,
wrong types and impossible values stop before any work with one line that names the field and,
for typos, the nearest valid name.

Example:
    >>> cfg = resolve(overrides={"train.lr": "0.01", "model.name": "mlp"})
    >>> cfg.train.lr, cfg.model.name
    (0.01, 'mlp')
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from idealfit.errors import UserError

TASKS = ("classification", "regression", "segmentation", "reconstruction")  # the names of tasks/TASKS (torch-free here)
FAMILIES = ("mlp", "cnn", "unet", "autoencoder")  # the names of models/registry.FAMILIES
LOSSES = ("auto", "ce", "dice", "ce+dice")  # train.loss; which apply depends on the task (tasks/)
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "onecycle")
ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid", "leaky_relu", "elu")
POOLS = ("max", "avg", "none")
IMPUTE = ("drop", "mean", "median", "most_frequent")
SCALES = ("standard", "minmax", "none")
RESIZE = ("crop", "squash", "pad")  # as data.images.RESIZE (kept here: config imports no image code)
# data.clip_quantiles' default. Not [0.001, 0.999]: below ~1000 training rows those quantiles interpolate
# toward the single largest value, so one typo in the training split stays nearly whole; [0.01, 0.99]
# clips it from ~100 rows on (benchmarks/tables.py --outliers has the numbers).
CLIP_QUANTILES = (0.01, 0.99)


@dataclass
class DataConfig:
    name: str = "digits"  # embedded dataset (`idealfit datasets`) or a path: image folder, .csv, .npz
    target: str | None = None  # CSV only: the column to predict
    columns: list[str] | None = None  # CSV only: use only these feature columns (None = all but the target and identifiers)
    drop: list[str] = field(default_factory=list)  # CSV only: leave these columns out of the features
    encoding: str = "utf-8"  # CSV only: the file's text encoding, e.g. latin-1 or cp1252
    task: str | None = None  # classification | regression | segmentation | reconstruction; None = inferred from the data
    val_fraction: float = 0.15  # share of all samples held out for validation
    test_fraction: float = 0.15  # share of all samples held out for the final test
    image_size: int | None = None  # image folders: resize to this square side (None = the first image's size, max 64)
    channels: int | None = None  # image folders: 1 (gray) or 3 (RGB); None = 3 if any image has colour
    max_memory_mb: float = 2048.0  # image folders larger than this stream from disk through a DataLoader
    resize: str = "crop"  # image folders, non-square images: crop (short side to size, centre cut) | squash | pad
    skip_unreadable: bool = False  # image folders: skip corrupt images (listed at train, in preprocess.json)
    # minibatch composition (the deck: "shuffle data, take only a subset, ...")
    shuffle: bool = True  # a fresh random batch order every epoch (off: the stored order)
    train_subset: float | None = None  # train on this many samples (>1) or this share (<=1) of the train split, stratified
    balanced: bool = False  # classification: draw batches so that every class is equally likely
    augment: list[Any] = field(default_factory=list)  # images: e.g. [flip, {name: crop, padding: 1}, contrast, tint]
    # preprocessing, fitted on the training split only (the deck: cleaning, transformation, reduction)
    impute: str = "median"  # tables, missing values: drop (rows) | mean | median | most_frequent
    missing_indicator: bool = False  # tables: add a 0/1 column per numeric column with missing values
    # tables, noise: clip each numeric column to these training quantiles (None = off); the default keeps a
    # spreadsheet typo hundreds of stds out from wrecking the scaling (benchmarks/tables.py --outliers)
    clip_quantiles: list[float] | None = field(default_factory=lambda: list(CLIP_QUANTILES))
    scale: str = "standard"  # standard (mean 0, std 1) | minmax ([0, 1]) | none
    pca: float | None = None  # reduce inputs to this many components (>=1) or this variance share (<1)
    downsample: int = 1  # images/signals: average-pool by this factor (aggregation to a lower resolution)
    # reconstruction (denoising autoencoders): corrupt the inputs, keep the targets clean; in standardized units
    noise: float = 0.0  # σ of Gaussian noise added to every input value (0 = off)
    mask_prob: float = 0.0  # share of input values erased to 0, the training mean (0 = off)
    normal_classes: list[Any] | None = None  # reconstruction, anomaly detection: train on these classes only; the test split keeps all


@dataclass
class ModelConfig:
    name: str = "auto"  # auto (by data and task: cnn for images and signals, mlp for tables or with data.pca, unet for masks) | cnn | mlp | unet
    widths: list[int] = field(default_factory=lambda: [32, 64])  # cnn, unet: channels of each conv block (unet default [16, 32, 64])
    hidden: list[int] = field(default_factory=lambda: [128])  # widths of the dense layers before the head
    kernel_size: int = 3  # cnn: side of each square (or 1-D) filter
    pool: str = "max"  # cnn: pooling after each conv block: max | avg | none
    activation: str = "relu"  # relu | gelu | tanh | sigmoid | leaky_relu | elu
    dropout: float = 0.0  # dropout probability before each dense layer (0 = off)
    batchnorm: bool = True  # batch normalization after each conv / dense layer (the deck: fewer epochs, stabler)
    wide: bool = False  # mlp: add a linear path from the inputs to the output (wide & deep, Cheng et al. 2016)
    skip: bool = True  # unet: skip connections from encoder to decoder (false: the deck's plain deconvolution network)
    latent: int = 16  # autoencoder: size of the code between encoder and decoder
    init: str = "torch_default"  # glorot_uniform | glorot_normal | he_uniform | he_normal | orthogonal | torch_default


@dataclass
class TrainConfig:
    epochs: int = 30  # upper bound; early stopping may end sooner
    batch_size: int = 64  # samples per gradient step
    lr: float = 3e-3  # peak learning rate
    optimizer: str = "adam"  # sgd | adam | adamw
    momentum: float = 0.9  # sgd only
    nesterov: bool = False  # sgd only: Nesterov momentum
    weight_decay: float = 0.0  # decoupled (adamw) or coupled (sgd, adam) weight decay
    schedule: str = "cosine"  # constant | step | cosine (with warm-up) | onecycle
    warmup_epochs: float = 1.0  # cosine: linear warm-up length in epochs
    step_every: int = 10  # step: decay the rate every this many epochs
    step_gamma: float = 0.1  # step: multiply the rate by this
    early_stopping: bool = True  # stop when `monitor` has not improved for `patience` epochs
    loss: str = "auto"  # auto (the task's own) | segmentation: ce | dice | ce+dice
    monitor: str = "val_loss"  # val_loss | val_<the task's metric>: val_accuracy, val_rmse, val_dice ...
    patience: int = 8  # epochs without improvement before stopping
    min_delta: float = 0.0  # smallest change of `monitor` that counts as an improvement
    clip_grad: float | None = None  # clip the gradient norm to this (None = off)
    l1: float = 0.0  # L1 penalty λ: adds the deck's λ/2 · Σ|W| over weights (not biases or norm layers)
    l2: float = 0.0  # L2 penalty λ: adds λ/2 · ΣW² over weights (coupled; see weight_decay for decoupled)
    checkpoint_every: int = 1  # write checkpoint.pt every this many epochs, for --resume (0 = never)
    seed: int = 0  # one seed for the split, the initial weights and the batch order
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    threads: str = "auto"  # CPU threads: auto (timed at the start, recorded) or a whole number
    progress: bool = True  # live progress bar with loss and metric


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    out: str | None = None  # run folder; None = runs/<timestamp>-<data>-<model>
    # the dotted keys a YAML file or an override set (by `resolve`): defaults chosen later by the data
    # (TABLE_DEFAULTS) never replace them; not part of the recorded config
    given: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("given")
        return d


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}

# A table run with model.name=auto trains these instead of the generic defaults above (tuned for images),
# for every field still at its generic default. Chosen by benchmarks/tables.py: on messy wine, breast
# cancer and diabetes CSVs they bring the network to the better scikit-learn baseline (see its header).
# Batch normalization off: with it, diabetes' R² fell up to 0.06 below the linear baseline (regression
# on a few hundred rows); lr 1e-3 and batch 32: a few hundred rows make few steps per epoch.
TABLE_DEFAULTS = {"model.hidden": [64], "model.dropout": 0.2, "model.batchnorm": False, "train.lr": 1e-3,
                  "train.epochs": 200, "train.patience": 20, "train.batch_size": 32}


def apply_defaults(cfg: RunConfig, defaults: dict[str, Any]) -> list[str]:
    """Set `defaults` (e.g. TABLE_DEFAULTS, a model family's) on the fields of `cfg` nobody set (not in
    `cfg.given`, still at the generic default); returns the keys set."""
    fresh, changed = RunConfig(), []
    for key, value in defaults.items():
        section, name = key.split(".")
        if key not in cfg.given and getattr(getattr(cfg, section), name) == getattr(getattr(fresh, section), name):
            setattr(getattr(cfg, section), name, value)
            changed.append(key)
    return changed


def all_keys() -> list[str]:
    """Every settable dotted key, e.g. `train.lr`."""
    keys = [f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
    return keys + ["out"]


def _unknown(key: str) -> UserError:
    close = difflib.get_close_matches(key, all_keys(), n=1, cutoff=0.5)
    if not close:  # a bare field name ("lr") should still find its section
        close = [k for k in all_keys() if k.split(".")[-1] == key.split(".")[-1]][:1]
    hint = f"; did you mean {close[0]}?" if close else f"; valid keys: {', '.join(all_keys())}"
    return UserError(f"unknown config key '{key}'{hint}")


MAX_CONFIG_BYTES = 1 << 20  # a config file is a few hundred bytes; anything near this is not one
MAX_INT = 2**31 - 1  # larger whole numbers overflow torch's indexing; no field needs them
MAX_SEED = 2**31 - 1  # scikit-learn takes 32-bit seeds, and we add small salts (seed + 1, seed + 2)


def _show(value: Any, limit: int = 60) -> str:
    """repr(value) cut to `limit` characters, so an error stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (`*name`): a config never needs them, and nested aliases
    ("billion laughs") expand a few hundred bytes into gigabytes of memory."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"YAML aliases (*name) are not allowed, at line {mark.line + 1}")
        return super().compose_node(parent, index)


def safe_yaml(text: str) -> Any:
    """Parse YAML without aliases or arbitrary objects; raises yaml.YAMLError."""
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{getattr(exc, 'problem', None) or 'syntax error'} at line {mark.line + 1}"
    return _show(str(exc), 120).strip("'\"")


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Check `value` against the field's type hint, converting strings from the command line."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "~")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner[0])
    if isinstance(value, str) and hint is not str and value.strip():
        try:
            value = safe_yaml(value)
        except yaml.YAMLError as exc:
            raise UserError(f"{key}={_show(value)} is not a valid value ({_yaml_problem(exc)}); "
                            f"quote it or fix the brackets, e.g. {key}=[32,64]") from None
    if hint is Any:  # free-form values (augmentation specs) are checked by their own validator
        return value
    if origin is list:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise UserError(f"{key} must be a list, e.g. {key}=[32,64]; got {_show(value)}")
        return [_coerce(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value)]
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{key} must be true or false; got {_show(value)}")
    if hint is int:
        if isinstance(value, str):  # "1e30" is text to YAML 1.1; read it as the number it spells
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{key} must be a whole number; got {_show(value)}")
        if abs(value) > MAX_INT:
            raise UserError(f"{key}={_show(value)} is too large; use a whole number below {MAX_INT + 1:,}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as text; Python's float() does not
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise UserError(f"{key} must be a number; got {_show(value)}")
        if not math.isfinite(value):  # inf, or 1.0e+400 read as inf: a run would train on garbage
            raise UserError(f"{key} must be a finite number; got {_show(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise UserError(f"{key} must be text; got {_show(value)}")
        return str(value)
    raise TypeError(f"unsupported config type {hint!r} for {key}")  # our bug


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
    _validate_data_options(d)
    _choice("model.name", m.name, (*FAMILIES, "auto"))
    if d.pca is not None and m.name == "cnn":  # caught here, before any data is loaded or file written
        raise UserError("data.pca turns images into vectors, which a CNN cannot take; use model.name=mlp")
    from idealfit.models.init import INIT_SCHEMES

    _choice("model.init", m.init, INIT_SCHEMES)
    _choice("model.pool", m.pool, POOLS)
    _choice("model.activation", m.activation, ACTIVATIONS)
    for i, w in enumerate(m.widths):
        _positive(f"model.widths[{i}]", w)
    for i, w in enumerate(m.hidden):
        _positive(f"model.hidden[{i}]", w)
    if m.name in ("cnn", "auto") and not m.widths:  # auto may pick a CNN: only an explicit mlp needs none
        raise UserError(f"model.widths must name at least one conv block for model.name={m.name}, e.g. [32,64]; "
                        "use model.name=mlp for a network without convolutions")
    if m.kernel_size < 1 or m.kernel_size % 2 == 0:
        raise UserError(f"model.kernel_size must be an odd number >= 1; got {m.kernel_size}")
    if not 0 <= m.dropout < 1:
        raise UserError(f"model.dropout must be in [0, 1); got {m.dropout}")
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
    dev = t.device
    if not (dev in ("auto", "cpu", "cuda", "mps") or (dev.startswith("cuda:") and dev[5:].isdigit())):
        raise UserError(f"train.device must be auto, cpu, cuda, cuda:N or mps; got '{dev}'")
    return cfg


def _validate_data_options(d: DataConfig) -> None:
    from idealfit.data.augment import Augment

    Augment(d.augment)  # raises with "did you mean" for unknown augmentations or parameters
    if d.train_subset is not None and (d.train_subset <= 0 or (d.train_subset > 1 and not d.train_subset.is_integer())):
        raise UserError(f"data.train_subset must be a share in (0, 1] or a whole count > 1; got {d.train_subset}")
    _validate_columns(d)
    _choice("data.impute", d.impute, IMPUTE)
    _choice("data.scale", d.scale, SCALES)
    if d.clip_quantiles is not None:
        q = d.clip_quantiles
        if len(q) != 2 or not 0 <= q[0] < q[1] <= 1:
            raise UserError(f"data.clip_quantiles must be [low, high] with 0 <= low < high <= 1; got {q}")
    if d.pca is not None and (d.pca <= 0 or (d.pca >= 1 and not d.pca.is_integer())):
        raise UserError(f"data.pca must be a variance share in (0, 1) or a whole number of components; got {d.pca}")
    _positive("data.downsample", d.downsample)
    _positive("data.noise", d.noise, allow_zero=True)
    if d.normal_classes is not None and (not isinstance(d.normal_classes, list) or not d.normal_classes):
        raise UserError(f"data.normal_classes must be a non-empty list of class names, e.g. [0, 1]; got {d.normal_classes!r}")
    if not 0 <= d.mask_prob < 1:
        raise UserError(f"data.mask_prob must be in [0, 1); got {d.mask_prob}")


def _validate_columns(d: DataConfig) -> None:
    """data.columns / data.drop / data.encoding; names the CSV lacks are refused when it is read."""
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
    try:
        codecs.lookup(d.encoding)
    except LookupError:
        raise UserError(f"data.encoding={d.encoding!r} is not a text encoding Python knows; use e.g. utf-8, "
                        "latin-1 or cp1252") from None


def set_key(cfg: RunConfig, key: str, value: Any) -> None:
    """Set one dotted key (`train.lr`) with type checking; strings are parsed as YAML scalars."""
    if key == "out":
        cfg.out = None if value is None else str(value)
        return
    section, _, name = key.partition(".")
    if key in SECTIONS:
        raise UserError(f"config section '{key}' must be a mapping of its fields, e.g. `{key}: {{...}}` "
                        f"in YAML or --set {key}.FIELD=VALUE; got {_show(value)}")
    cls = SECTIONS.get(section)
    if cls is None or not name:
        raise _unknown(key)
    hints = typing.get_type_hints(cls)
    if name not in hints:
        raise _unknown(key)
    setattr(getattr(cfg, section), name, _coerce(key, value, hints[name]))


def _flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in mapping.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not prefix:  # a misspelt section still yields dotted keys to match
            flat.update(_flatten(v, f"{key}."))
        else:
            flat[key] = v
    return flat


def parse_sets(items: list[str]) -> dict[str, str]:
    """`--set section.key=value` arguments (repeatable) as {dotted key: raw value}."""
    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UserError(f"--set takes section.key=value, e.g. --set train.lr=0.01; got '{item}'")
        out[key.strip()] = value
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into flat dotted keys."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"config file {p} is a folder; pass the path of a YAML file inside it")
    if not p.is_file():
        raise UserError(f"config file {p} does not exist; pass the path of a YAML file")
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise UserError(f"config file {p} cannot be read ({exc.strerror or exc}); check its permissions") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise UserError(f"config file {p} is over {MAX_CONFIG_BYTES >> 20} MiB, which no config is; "
                        "pass the YAML config, not a data file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"config file {p} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        raw = safe_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"config file {p} is not valid YAML ({_yaml_problem(exc)}); fix the syntax") from None
    if not isinstance(raw, dict):
        raise UserError(f"config file {p} must hold a mapping like `train: {{lr: 0.01}}`")
    return _flatten(raw)


def resolve(
    *, config_file: str | Path | None = None, overrides: dict[str, Any] | None = None, base: RunConfig | None = None
) -> RunConfig:
    """Defaults (or `base`), then the YAML file, then overrides; validated.

    Args:
        config_file: optional YAML path with sections data/model/train and optional `out`.
        overrides: dotted keys to values (strings are parsed as YAML scalars).
        base: start from this config instead of the defaults (used by `--resume`).
    """
    cfg = from_dict(base.to_dict()) if base is not None else RunConfig()  # a deep copy: sections are mutable
    items = dict(load_yaml(config_file)) if config_file else {}
    items.update(overrides or {})
    for key, value in items.items():
        set_key(cfg, key, value)
    cfg.given = frozenset(items) | (base.given if base is not None else frozenset())
    return validate(cfg)


def from_dict(raw: dict[str, Any]) -> RunConfig:
    """Rebuild a config from `to_dict()` output (as stored in a run folder's config.yaml)."""
    if not isinstance(raw, dict):  # a hand-edited or damaged config.yaml
        raise UserError(f"a saved config (config.yaml) must be a mapping with sections data, model, train; "
                        f"got {type(raw).__name__}")
    cfg = RunConfig()
    for key, value in _flatten(raw).items():
        set_key(cfg, key, value)
    return validate(cfg)


def to_yaml(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
