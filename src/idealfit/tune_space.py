"""The search space of `idealfit tune`: dotted config keys mapped to distributions, checked like a config.

A space file is YAML, either with dotted keys or with sections, e.g.

    train.lr: {log_uniform: [1e-4, 1e-1]}
    train.batch_size: {int: [32, 256], log: true}
    model:
      dropout: {uniform: [0, 0.5]}
      widths: {choice: [[16, 32], [32, 64]]}

Every key must be a config field ("did you mean" for typos), and every value a distribution can draw
must be legal for that field (both bounds of a range, every choice), so a study stops before its first
trial instead of failing trial after trial.

Example:
    >>> space = parse_space({"train.lr": {"log_uniform": [1e-4, 1e-1]}})
    >>> space["train.lr"].kind, space["train.lr"].low
    ('log_uniform', 0.0001)
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from idealfit.config import SECTIONS, _unknown, resolve, safe_yaml
from idealfit.config_yaml import show as _show
from idealfit.errors import UserError

KINDS = ("log_uniform", "uniform", "int", "choice")  # the distributions a space may name


@dataclass(frozen=True)
class Param:
    """One dimension of the space.

    Attributes:
        key: the dotted config key, e.g. "train.lr".
        kind: one of KINDS.
        low, high: the range's bounds (log_uniform, uniform, int), inclusive.
        choices: the values of a `choice`, as the config takes them (lists allowed).
        log: draw `int` on a log scale (log_uniform always is).
    """

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    log: bool = False

    def suggest(self, trial) -> Any:
        """Draw this parameter from an Optuna trial; returns the value for the config."""
        if self.kind == "choice":
            label = trial.suggest_categorical(self.key, self.labels())
            return self.choices[self.labels().index(label)]
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, log=self.kind == "log_uniform")

    def labels(self) -> list[Any]:
        """Optuna's categorical values: scalars as they are, lists as their JSON text ("[16, 32]")."""
        return [c if c is None or isinstance(c, (bool, int, float, str)) else json.dumps(c) for c in self.choices]

    def grid(self) -> list[Any]:
        """Every value a grid search tries (choices, or every whole number of an int range)."""
        if self.kind == "choice":
            return self.labels()
        if self.kind == "int" and self.high - self.low <= 1000:
            return list(range(int(self.low), int(self.high) + 1))
        raise UserError(f"--sampler grid needs choice or int (at most 1001 values) dimensions; {self.key} is "
                        f"{self.kind}: write it as {{choice: [...]}} or use --sampler tpe")

    def value_of(self, raw: Any) -> Any:
        """A trial's stored parameter (a label for choices) as the config value."""
        return self.choices[self.labels().index(raw)] if self.kind == "choice" else raw


def load_space(path: str | Path, *, config_file: str | Path | None = None,
               sets: dict[str, Any] | None = None) -> dict[str, Param]:
    """Read and check a space file (see the module docstring) against the base config; raises UserError
    with one line."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"search space {p} does not exist; pass a YAML file like `train.lr: {{log_uniform: [1e-4, 1e-1]}}`")
    try:
        raw = safe_yaml(p.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"search space {p} is not valid YAML ({str(exc).splitlines()[0]}); fix the syntax") from None
    if not isinstance(raw, dict) or not raw:
        raise UserError(f"search space {p} must map config keys to distributions, e.g. "
                        "`train.lr: {log_uniform: [1e-4, 1e-1]}`")
    try:
        return parse_space(raw, config_file=config_file, sets=sets)
    except UserError as exc:
        raise UserError(f"search space {p}: {exc}") from None


def read_space(path: Path) -> dict[str, Param]:
    """A study folder's own space.yaml, checked when its study began: read without a base config to check it against."""
    return {key: _param(key, spec) for key, spec in _entries(safe_yaml(path.read_text(encoding="utf-8-sig"))).items()}


def _entries(raw: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys to specs; a section (`model: {dropout: {...}}`) is opened one level."""
    out: dict[str, Any] = {}
    for key, spec in raw.items():
        key = str(key)
        if "." not in key and isinstance(spec, dict) and not set(spec) & set(KINDS):
            out.update({f"{key}.{name}": sub for name, sub in spec.items()})
        else:
            out[key] = spec
    return out


def parse_space(raw: dict[str, Any], *, config_file: str | Path | None = None,
                sets: dict[str, Any] | None = None) -> dict[str, Param]:
    """Check every dimension against the config fields and their legal values.

    Args:
        raw: the space as read from YAML.
        config_file, sets: the base config the trials start from (a drawn value is checked together with it).
    """
    space = {}
    for key, spec in _entries(raw).items():
        param = _param(key, spec)
        for value in _extremes(param):
            try:
                resolve(config_file=config_file, overrides={**(sets or {}), key: value})
            except UserError as exc:
                raise UserError(f"{key}: {param.kind} can draw {_show(value)}, which the config refuses ({exc})") from None
        space[key] = param
    return space


def _field_type(key: str) -> Any:
    section, _, name = key.partition(".")
    cls = SECTIONS.get(section)
    hints = typing.get_type_hints(cls) if cls is not None else {}
    if name not in hints or key == "out":
        raise _unknown(key)
    return hints[name]


def _param(key: str, spec: Any) -> Param:
    hint = _field_type(key)
    example = "{log_uniform: [1e-4, 1e-1]}, {uniform: [0, 0.5]}, {int: [32, 256], log: true} or {choice: [a, b]}"
    if not isinstance(spec, dict):
        raise UserError(f"{key} must be a distribution such as {example}; got {_show(spec)}")
    kinds = [k for k in spec if k in KINDS]
    extra = [k for k in spec if k not in (*KINDS, "log")]
    if extra or len(kinds) != 1:
        import difflib

        bad = extra[0] if extra else None
        close = difflib.get_close_matches(str(bad), KINDS, n=1) if bad else []
        hint_text = f"; did you mean {close[0]}?" if close else f"; use one of {', '.join(KINDS)}"
        what = f"unknown distribution '{bad}'" if bad else f"needs exactly one of {', '.join(KINDS)}"
        raise UserError(f"{key}: {what}{hint_text}")
    kind, args = kinds[0], spec[kinds[0]]
    log = spec.get("log", False)
    if not isinstance(log, bool) or (log and kind != "int"):
        raise UserError(f"{key}: `log: true` goes with int only (log_uniform is already on a log scale)")
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise UserError(f"{key}: choice takes a non-empty list of values, e.g. {{choice: [16, 32]}}")
        return Param(key, kind, choices=tuple(args))
    if isinstance(args, list):  # YAML 1.1 reads 1e-4 (no dot) as text; Python's float() does not
        args = [_number(a) for a in args]
    if (not isinstance(args, list) or len(args) != 2
            or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)):
        raise UserError(f"{key}: {kind} takes [low, high], two numbers; got {_show(args)}")
    low, high = float(args[0]), float(args[1])
    if not low < high:
        raise UserError(f"{key}: {kind} needs low < high; got [{args[0]}, {args[1]}]")
    if typing.get_origin(hint) is list:
        raise UserError(f"{key} is a list; draw it with {{choice: [[...], [...]]}}, not {kind}")
    base = next((a for a in typing.get_args(hint) if a is not type(None)), hint)  # int | None -> int
    if kind == "int":
        if not (low.is_integer() and high.is_integer()):
            raise UserError(f"{key}: int takes whole-number bounds; got [{args[0]}, {args[1]}]")
        if log and low <= 0:
            raise UserError(f"{key}: int with log: true needs low > 0; got {args[0]}")
    elif base is int:
        raise UserError(f"{key} is a whole number; draw it with {{int: [{int(low)}, {int(high)}]}}, not {kind}")
    if kind == "log_uniform" and low <= 0:
        raise UserError(f"{key}: log_uniform needs low > 0; got {args[0]}")
    return Param(key, kind, low=low, high=high, log=log)


def _number(value: Any) -> Any:
    """"1e-4" as the number it spells; anything else unchanged."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _extremes(param: Param) -> list[Any]:
    """The values whose legality decides the whole dimension's: both bounds, or every choice."""
    if param.kind == "choice":
        return list(param.choices)
    if param.kind == "int":
        return [int(param.low), int(param.high)]
    return [param.low, param.high]
