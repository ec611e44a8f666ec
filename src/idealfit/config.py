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

from idealfit.config_defaults import (  # noqa: F401 - their home before; callers import them from here
    AUDIO_DEFAULTS,
    CNN_SERIES_DEFAULTS,
    RNN_SERIES_DEFAULTS,
    SERIES_DEFAULTS,
    SERIES_FAMILY_DEFAULTS,
    TABLE_DEFAULTS,
    TABLE_MIN_STEPS,
    TABLE_PATIENCE_STEPS,
    TEXT_DEFAULTS,
    apply_defaults,
    table_budget,
)
from idealfit.config_yaml import DuplicateKey, safe_yaml, show, yaml_problem
from idealfit.errors import UserError

TASKS = ("classification", "regression", "segmentation", "reconstruction", "translation", "forecasting")  # the names of tasks/TASKS (torch-free here)
FAMILIES = ("mlp", "cnn", "rnn", "unet", "pix2pix", "autoencoder")  # the names of models/registry.FAMILIES
LOSSES = ("auto", "ce", "dice", "ce+dice")  # train.loss; which apply depends on the task (tasks/)
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "onecycle")
PRECISIONS = ("fp32", "bf16")  # train.precision (train/speed.py)
ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid", "leaky_relu", "elu")
POOLS = ("max", "avg", "none")
IMPUTE = ("drop", "mean", "median", "most_frequent")
SCALES = ("standard", "minmax", "none")
WIDE_INITS = ("random", "linear")  # model.wide_init
NUM_EMBEDDINGS = ("none", "ple")  # model.num_embedding (models/ple.py)
PLE_PATHS = ("deep", "wide", "both")  # model.ple_paths: which paths of the wide & deep MLP read the encoding
CELLS = ("rnn", "lstm", "gru")  # model.cell, as models/rnn.CELLS
TOKENS = ("char", "word")  # data.tokens, as data.text.TOKENIZERS
RESIZE = ("crop", "squash", "pad")  # as data.images.RESIZE (kept here: config imports no image code)
# model.init; models/init.py implements them (kept here: checking a config imports no torch)
INIT_SCHEMES = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "orthogonal", "torch_default")
# data.clip_quantiles' default, chosen when the bounds were numpy's interpolated quantiles: then [0.001, 0.999]
# below ~1000 training rows interpolated toward the single largest value, so one typo in the training split
# stayed nearly whole (benchmarks/tables.py --outliers has the numbers). The bounds are now training values on
# the inner side of each quantile (data/preprocess.py), so one typo is clipped whole at any size.
CLIP_QUANTILES = (0.01, 0.99)
# data.clip_fences' default: k = 10, over three times Tukey's "far out" (3): it clips any number of typos 10^3
# times too large (k = 3, 5, 10 and 20 gave the same network scores on benchmarks/tables.py' 80 cells: 12 -> 11
# misses) and less of a real heavy tail than a smaller k (a log-normal σ = 1 loses 0.25% past Q3 + 10·IQR, 1.3%
# past Q3 + 5·IQR; statsmodels' ccard kept its INCOMESQ 95.8 and 100, which k = 5 clipped)
CLIP_FENCES = 10.0


@dataclass
class DataConfig:
    name: str = "digits"  # embedded dataset (`idealfit datasets`) or a path: image folder, .csv, .npz
    target: str | None = None  # CSV only: the column to predict
    columns: list[str] | None = None  # CSV only: use only these feature columns (None = all but the target and identifiers)
    drop: list[str] = field(default_factory=list)  # CSV only: leave these columns out of the features
    encoding: str = "utf-8"  # CSV only: the file's text encoding, e.g. latin-1 or cp1252
    decimal: str = "auto"  # CSV only: the numbers' decimal mark, . | , (auto: "," in a ';' file of "17,5" numbers)
    task: str | None = None  # classification | regression | segmentation | reconstruction | forecasting; None = inferred
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
    # tables, noise: clip each numeric column to Tukey's fences too, [Q1 - k·IQR, Q3 + k·IQR] of its training
    # values (k; None = off), so several typos in one column are clipped where a quantile lets one through
    clip_fences: float | None = CLIP_FENCES
    scale: str = "standard"  # standard (mean 0, std 1) | minmax ([0, 1]) | none
    pca: float | None = None  # reduce inputs to this many components (>=1) or this variance share (<1)
    downsample: int = 1  # images/signals: average-pool by this factor (aggregation to a lower resolution)
    # reconstruction (denoising autoencoders): corrupt the inputs, keep the targets clean; in standardized units
    noise: float = 0.0  # σ of Gaussian noise added to every input value (0 = off)
    mask_prob: float = 0.0  # share of input values erased to 0, the training mean (0 = off)
    pairs: str = "folders"  # paired images (translation): folders (A/ and B/) | side_by_side (A|B in one file)
    normal_classes: list[Any] | None = None  # reconstruction, anomaly detection: train on these classes only; the test split keeps all
    # time series (forecasting): a CSV with a time column, or sunspots / co2 / elnino (data/series.py)
    time_column: str | None = None  # the time column (None = the first that reads as dates or is named time, date, year ...)
    window: int = 12  # look-back: past time steps each forecast sees (24 did worse: see SERIES_DEFAULTS)
    horizon: int = 1  # steps ahead forecast at once
    # series: the network reads the window's differences and forecasts the change from the last value, added
    # back (models/difference.py: for trending series); the baselines stay on the levels
    difference: bool = False
    season: int | None = None  # season length for the seasonal naive baseline (None = by the time step: 12 monthly, 52 weekly ...)
    # text (data/text.py): a column of free text, read as a sequence of tokens; the vocabulary is fitted on train only
    text_column: str | None = None  # CSV: the column of free text (None = detected: a column of long, mostly unique text)
    tokens: str = "char"  # text: char (one token per character) | word (words and punctuation marks)
    min_freq: int = 1  # text: tokens seen fewer times in the training split are unknown (<unk>)
    max_vocab: int | None = None  # text: keep at most this many tokens, the most frequent (None = all)
    max_length: int = 200  # text: tokens read per text; longer texts are cut here
    # audio (data/audio.py): WAV folders and spoken_digits, read as log-mel spectrograms (1, n_mels, frames)
    sample_rate: int = 8000  # audio: every clip resampled to this rate, in Hz
    clip_seconds: float | None = None  # audio: clips cut (the start kept) or padded with silence to this length (None = a folder's 95th percentile of clip lengths, an embedded dataset's own 1 s)
    n_mels: int = 40  # audio: mel bands of the log-mel spectrogram


@dataclass
class ModelConfig:
    name: str = "auto"  # auto (by data and task: cnn for images and signals, mlp for tables or with data.pca, unet for masks, rnn for text) | cnn | mlp | rnn | unet
    widths: list[int] = field(default_factory=lambda: [32, 64])  # cnn, unet: channels of each conv block (unet default [16, 32, 64])
    hidden: list[int] = field(default_factory=lambda: [128])  # widths of the dense layers before the head
    kernel_size: int = 3  # cnn: side of each square (or 1-D) filter
    pool: str = "max"  # cnn: pooling after each conv block: max | avg | none
    # cnn: convolutions per block. 1: conv, [BN], act, pool. n >= 2: conv, pool, [BN], act, then n-1 × (conv, [BN],
    # act) at the pooled size: airbench94's ConvGroup (2), the later convolutions costing a quarter as much
    block_convs: int = 1
    activation: str = "relu"  # relu | gelu | tanh | sigmoid | leaky_relu | elu
    dropout: float = 0.0  # dropout probability before each dense layer (0 = off)
    batchnorm: bool = True  # batch normalization after each conv / dense layer (the deck: fewer epochs, stabler)
    wide: bool = False  # mlp: add a linear path from the inputs to the output (wide & deep, Cheng et al. 2016)
    wide_init: str = "random"  # tables, with model.wide: random | linear (start at baselines.linear's fit, deep head 0)
    # mlp on tables: none | ple (each feature's piecewise-linear encoding over quantile bins of the training split,
    # Gorishniy et al. 2022, read by the paths model.ple_paths names: models/ple.py). Off by default: on
    # benchmarks/tables.py no variant beat the defaults (its header lists them)
    num_embedding: str = "none"
    ple_bins: int = 16  # with num_embedding=ple: bins per feature (fewer where a column has fewer distinct values)
    ple_dim: int = 0  # with num_embedding=ple: 0, or d: each feature's bins through its own Linear(bins, d) + ReLU first
    # with num_embedding=ple: deep (the dense layers read the bins, the wide path the raw features) | wide (the wide
    # path reads the bins: an additive piecewise-linear model started at the linear fit; the dense layers the raw
    # features) | both
    ple_paths: str = "deep"
    skip: bool = True  # unet: skip connections from encoder to decoder (false: the deck's plain deconvolution network)
    latent: int = 16  # autoencoder: size of the code between encoder and decoder
    gan_weight: float = 1.0  # pix2pix: weight of the adversarial loss (0 = the L1-only generator, the paper's ablation)
    l1_weight: float = 100.0  # pix2pix: λ of the L1 loss between generated and real images (the paper's 100)
    d_width: int = 64  # pix2pix: channels of the PatchGAN discriminator's first convolution (the paper's 64; the family's default 16)
    # rnn: recurrent layers over the time steps of a signal (C features, L steps), then the dense head (model.hidden)
    cell: str = "gru"  # rnn: rnn (Elman, tanh) | lstm | gru
    layers: int = 2  # rnn: stacked recurrent layers (model.dropout applies between them)
    hidden_size: int = 64  # rnn: units of each recurrent layer, per direction
    bidirectional: bool = False  # rnn: also read each sequence backwards; the head sees both final states
    embed_dim: int = 32  # rnn on text: size of each token's learned embedding vector
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
    # cosine: linear warm-up length in epochs (onecycle ramps up over its first 30% instead, step and constant
    # not at all); early stopping and tune's pruner judge no epoch of either warm-up (summary.json's warmup_epochs)
    warmup_epochs: float = 1.0
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
    sync_batchnorm: bool = True  # under torchrun on CUDA: BatchNorm statistics over all processes (CPU: per process)
    threads: str = "auto"  # CPU threads: auto (timed at the start, recorded) or a whole number
    progress: bool = True  # live progress bar with loss and metric
    # speed paths (train/speed.py): CPU and GPU alike; the saved weights stay plain fp32 either way
    precision: str = "fp32"  # fp32 | bf16: forward pass and loss under torch.autocast in bfloat16 (no GradScaler needed)
    channels_last: bool = False  # images: the model and the batches in NHWC memory layout (faster convolutions on GPUs)
    compile: bool = False  # torch.compile the forward pass (inductor); the first batches pay the compilation


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    out: str | None = None  # run folder; None = runs/<timestamp>-<data>-<model>
    # the dotted keys a YAML file or an override set (by `resolve`): defaults chosen later by the data
    # (TABLE_DEFAULTS) never replace them; not part of the recorded config
    given: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    # the given keys read from a complete config (a run's config.yaml lists every key, its defaults too):
    # there a key's presence is a record, not a user's choice; not part of the recorded config
    recorded: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("given")
        d.pop("recorded")
        return d


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}

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


# what a list of each key looks like, for the type error (a widths example misleads on data.augment)
LIST_EXAMPLES = {"data.augment": "[flip,crop]", "data.clip_quantiles": "[0.01,0.99]", "data.normal_classes": "[0]",
                 "data.columns": "[age,bmi]", "data.drop": "[id]"}


def _list_example(key: str, item: Any) -> str:
    return LIST_EXAMPLES.get(key) or {int: "[32,64]", float: "[0.1,0.2]", str: "[a,b]"}.get(item, "[a,b]")


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
            raise UserError(f"{key}={show(value)} is not a valid value ({yaml_problem(exc)}); "
                            f"quote it or fix the brackets, e.g. {key}=[32,64]") from None
    if hint is Any:  # free-form values (augmentation specs) are checked by their own validator
        return value
    if origin is list:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise UserError(f"{key} must be a list, e.g. {key}={_list_example(key, args[0])}; got {show(value)}")
        return [_coerce(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value)]
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{key} must be true or false; got {show(value)}")
    if hint is int:
        if isinstance(value, str):  # "1e30" is text to YAML 1.1; read it as the number it spells
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{key} must be a whole number; got {show(value)}")
        if abs(value) > MAX_INT:
            raise UserError(f"{key}={show(value)} is too large; use a whole number below {MAX_INT + 1:,}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as text; Python's float() does not
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise UserError(f"{key} must be a number; got {show(value)}")
        if not math.isfinite(value):  # inf, or 1.0e+400 read as inf: a run would train on garbage
            raise UserError(f"{key} must be a finite number; got {show(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise UserError(f"{key} must be text; got {show(value)}")
        return str(value)
    raise TypeError(f"unsupported config type {hint!r} for {key}")  # our bug


def set_key(cfg: RunConfig, key: str, value: Any) -> None:
    """Set one dotted key (`train.lr`) with type checking; strings are parsed as YAML scalars."""
    if key == "out":
        cfg.out = None if value is None else str(value)
        return
    section, _, name = key.partition(".")
    if key in SECTIONS:
        raise UserError(f"config section '{key}' must be a mapping of its fields, e.g. `{key}: {{...}}` "
                        f"in YAML or --set {key}.FIELD=VALUE; got {show(value)}")
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
        raw = safe_yaml(text)
    except DuplicateKey as exc:
        raise UserError(f"config file {p} has a {exc}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"config file {p} is not valid YAML ({yaml_problem(exc)}); fix the syntax") from None
    if raw is None or raw == {}:  # said: trained on the defaults without a word, the user thinks the file was read
        import sys

        print(f"note: config file {p} is empty, so every key keeps its default; give it the keys to change, "
              "e.g. `train: {lr: 0.01}`", file=sys.stderr)
        return {}
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
    from_file = dict(load_yaml(config_file)) if config_file else {}
    items = {**from_file, **(overrides or {})}
    problems = []
    for key, value in items.items():  # every key's problem at once: a typo and a wrong type take one round, not two
        try:
            set_key(cfg, key, value)
        except UserError as err:
            problems.append(str(err))
    if len(problems) == 1:
        raise UserError(problems[0])
    if problems:
        raise UserError(f"{len(problems)} problems: " + " | ".join(problems))
    cfg.given = frozenset(items) | (base.given if base is not None else frozenset())
    # a hand-written config names a few keys; one naming most of them is a run's record (a newer idealfit
    # may have added keys since it was written, hence "most", not "all")
    complete = len(from_file) >= 0.75 * len(all_keys())
    recorded = (frozenset(from_file) if complete else frozenset()) | (base.recorded if base is not None else frozenset())
    cfg.recorded = recorded - frozenset(overrides or {})
    return _validated(cfg)


def from_dict(raw: dict[str, Any]) -> RunConfig:
    """Rebuild a config from `to_dict()` output (as stored in a run folder's config.yaml)."""
    if not isinstance(raw, dict):  # a hand-edited or damaged config.yaml
        raise UserError(f"a saved config (config.yaml) must be a mapping with sections data, model, train; "
                        f"got {type(raw).__name__}")
    cfg = RunConfig()
    for key, value in _flatten(raw).items():
        set_key(cfg, key, value)
    return _validated(cfg)


def to_yaml(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def _validated(cfg: RunConfig) -> RunConfig:
    # Imported here: config_validate builds on this module's dataclasses (no module-level cycle).
    from idealfit.config_validate import validate

    return validate(cfg)
