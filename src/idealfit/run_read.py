"""A saved run folder's files, read and checked: config.yaml, preprocess.json, summary.json, the weights.

Each file goes through run_files.py (no symbolic links, size limits); one that does not hold what a run
writes is "damaged", said in one line with its path, never a traceback from deep inside a loader.
`run.load_run` builds a Run from them; idealfit.run re-exports the public names here, their home before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idealfit.config import RunConfig, resolve
from idealfit.data.kinds import KINDS
from idealfit.errors import UserError
from idealfit.run_files import damaged, is_file, read_bytes, read_text, run_file
from idealfit.tasks import TASKS

if TYPE_CHECKING:  # only for the type hint: the caller builds the model the weights go into
    import torch

WEIGHTS = "model.safetensors"


def check_run_dir(path: str | Path) -> Path:
    """The run folder, once it holds a config.yaml (the folder itself may be a link; its files may not)."""
    p = Path(path)
    if not p.is_dir() or not is_file(p, "config.yaml"):
        raise UserError(f"{p} is not an idealfit run folder (no config.yaml); pass the folder `idealfit train` printed")
    return p


def load_config(run_dir: Path) -> RunConfig:
    """The run's config.yaml through the same loader (and the same limits) as `--config`."""
    path = run_file(run_dir, "config.yaml")
    try:
        return resolve(config_file=path)
    except UserError as err:  # said of a --config file; here it is a run's file, so say so and how to fix it
        reason = str(err).split(";")[0].replace(f"config file {path} ", "").removeprefix("is ")
        raise damaged(path, reason) from None
    except (UnicodeDecodeError, RecursionError, MemoryError) as err:  # the YAML loader's own failures
        raise damaged(path, type(err).__name__) from None


def read_json_object(run_dir: Path, name: str) -> dict[str, Any]:
    """A JSON file of the run that must hold an object ({...})."""
    path = run_file(run_dir, name)
    try:
        obj = json.loads(read_text(run_dir, name))
    except (json.JSONDecodeError, RecursionError) as err:
        raise damaged(path, f"not valid JSON: {err}") from None
    if not isinstance(obj, dict):
        raise damaged(path, f"a JSON {type(obj).__name__} where an object was expected")
    return obj


# What load_run, predict and evaluate read from preprocess.json, by kind of data.
_STATE_KEYS = {"task": str, "kind": str, "input_shape": list}
_STATE_KIND_KEYS = {name: kind.state_keys for name, kind in KINDS.items()}


def read_state(run_dir: Path) -> dict[str, Any]:
    """preprocess.json, checked enough that later code never meets a missing key."""
    state = read_json_object(run_dir, "preprocess.json")
    path = run_file(run_dir, "preprocess.json")
    want = dict(_STATE_KEYS)
    want.update(_STATE_KIND_KEYS.get(state.get("kind"), {}))
    task = TASKS.get(state.get("task"))
    if task is None or state.get("kind") not in _STATE_KIND_KEYS:
        raise damaged(path, f"unknown task '{state.get('task')}' or kind '{state.get('kind')}'")
    if task.has_classes:
        want["class_names"] = list
    if task.scales_targets:
        want["target"] = dict
    for key, typ in want.items():
        if not isinstance(state.get(key), typ):
            raise damaged(path, f"'{key}' missing or not a {typ.__name__}")
    if not all(isinstance(n, int) and n > 0 for n in state["input_shape"]) or "norm" not in state:
        raise damaged(path, "no valid input_shape and norm")
    return state


def load_weights(run_dir: Path, model: torch.nn.Module) -> None:
    """model.safetensors into `model`; a file that is not safetensors, or of another shape, is damaged."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = run_file(run_dir, WEIGHTS)
    try:
        weights = load(read_bytes(run_dir, WEIGHTS))
    except (SafetensorError, ValueError, OSError) as err:
        raise damaged(path, f"not a safetensors file: {err}") from None
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:  # missing, unexpected or differently shaped tensors
        reason = str(err).splitlines()[1].strip() if len(str(err).splitlines()) > 1 else str(err)
        raise damaged(path, f"weights do not fit the model in config.yaml: {reason}") from None
