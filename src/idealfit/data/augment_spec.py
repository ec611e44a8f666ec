"""The augmentations' spec: names, parameters with their defaults, and the checks of their values.

Kept apart from data/augment.py (the batched torch implementations) so that checking a config
(`config_validate`, before any trial or run starts) needs no torch: importing torch costs ~1 s, which a
run pays anyway when it trains, but a config with a typo, or `idealfit tune` before its first trial,
need not (issue 12).

Example:
    >>> check_specs(["flip", {"name": "crop", "padding": 1}])[1]
    {'name': 'crop', 'padding': 1, 'mode': 'zeros'}
"""

from __future__ import annotations

import difflib
import numbers
from typing import Any

from idealfit.errors import UserError

DIRECTIONS = ("horizontal", "vertical", "both")
CROP_MODES = ("zeros", "reflect")


# --- argument checks (shared by augment.py's functions and by check_specs) -------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_flip(p: Any, direction: Any) -> None:
    if not _is_number(p) or not 0.0 <= p <= 1.0:
        raise UserError(f"flip: p must be a probability in [0, 1], got {p!r}")
    if direction not in DIRECTIONS:
        raise UserError(f"flip: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")


def check_crop(padding: Any, mode: Any) -> None:
    if not isinstance(padding, numbers.Integral) or isinstance(padding, bool) or padding < 0:
        raise UserError(f"crop: padding must be a whole number of pixels >= 0, got {padding!r}")
    if mode not in CROP_MODES:
        raise UserError(f"crop: mode must be one of {', '.join(CROP_MODES)}, got {mode!r}")


def check_contrast(low: Any, high: Any) -> None:
    if not _is_number(low) or not _is_number(high) or not 0.0 <= low <= high:
        raise UserError(f"contrast: need 0 <= low <= high (factors), got low={low!r}, high={high!r}")


def check_tint(strength: Any) -> None:
    if not _is_number(strength) or not 0.0 <= strength <= 1.0:
        raise UserError(f"tint: strength must be in [0, 1] (an additive shift), got {strength!r}")


def check_mask(width: Any, count: Any) -> None:
    for key, v in (("width", width), ("count", count)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
            raise UserError(f"time_mask / freq_mask: {key} must be a whole number >= 0, got {v!r}")


# Every augmentation: its parameters with their defaults, and the check of their values.
SPECS: dict[str, tuple[dict[str, Any], Any]] = {
    "flip": ({"p": 0.5, "direction": "horizontal"}, check_flip),
    "crop": ({"padding": 2, "mode": "zeros"}, check_crop),
    "contrast": ({"low": 0.7, "high": 1.3}, check_contrast),
    "tint": ({"strength": 0.1}, check_tint),
    # spectrograms (audio runs): SpecAugment's frequency and time masking
    "freq_mask": ({"width": 8, "count": 1}, check_mask),
    "time_mask": ({"width": 10, "count": 1}, check_mask),
}
SPECTROGRAM_OPS = ("freq_mask", "time_mask")
AUGMENTATIONS = tuple(SPECS)


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _normalise(item: Any, where: str) -> dict[str, Any]:
    """One spec item (a name or a dict with "name") -> a dict with every parameter filled in."""
    given = {"name": item} if isinstance(item, str) else item
    if not isinstance(given, dict) or not isinstance(given.get("name"), str):
        raise UserError(f"{where}: write an augmentation as a name or a dict with a 'name' key, got {item!r}")
    name = given["name"]
    if name not in SPECS:
        raise UserError(
            f"{where}: unknown augmentation {name!r}{_did_you_mean(name, SPECS)}; "
            f"valid: {', '.join(AUGMENTATIONS)}"
        )
    defaults, check = SPECS[name]
    for key in given:
        if key != "name" and key not in defaults:
            raise UserError(
                f"{where}: {name} has no parameter {key!r}{_did_you_mean(key, defaults)}; "
                f"valid: {', '.join(defaults)}"
            )
    params = {**defaults, **{k: v for k, v in given.items() if k != "name"}}
    check(**params)
    return {"name": name, **params}


def check_specs(specs: Any) -> list[dict[str, Any]]:
    """A list of names ("flip") or dicts ({"name": "crop", "padding": 1}) -> one dict per step with its name
    and every parameter filled in; raises UserError (with "did you mean") on anything else."""
    if not isinstance(specs, (list, tuple)):
        raise UserError(f"augment: expected a list of augmentations, got {type(specs).__name__}")
    return [_normalise(item, f"augment[{i}]") for i, item in enumerate(specs)]
