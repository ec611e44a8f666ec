"""Training values far outside the rest, said once at train: a regression target's and the clipped inputs'.

A few typos (a value 1000 times too large) in a regression target are not clipped: the target is what the
model must predict, so changing it would hide the problem. Standardized with them, the other targets collapse
to nearly one value and the network learns the mean (R² ~0). Inputs are clipped at training (data.clip_quantiles,
data.clip_fences), which keeps a run sensible, but silently; `idealfit predict` names such values for new rows
(data/input_notes.py), and training now names them for its own rows with the same rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idealfit.config import CLIP_FENCES
from idealfit.data.base import plural
from idealfit.data.input_notes import _examples  # the same three examples per note as predict's

# Typos are few: more far values than this is a target's real heavy tail (statsmodels' fair: 465 of 6366 affairs
# counts beyond the fences of a mostly-zero column), which a note calling them typos would mislead about
FEW_TYPOS, TYPO_SHARE = 5, 0.02


def _number(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.6g}"


def far_targets(y: np.ndarray, names: list[str], *, k: float = CLIP_FENCES) -> dict[str, Any] | None:
    """The training targets `y` (N,) outside Tukey's fences [Q1 - k·IQR, Q3 + k·IQR] (k = data.clip_fences'
    default, 10: past Tukey's "far out" 3, so a heavy tail of real values stays inside), each named by `names`.
    None when there are none, more than max(FEW_TYPOS, TYPO_SHARE · N) (a real heavy tail), or when the IQR is 0
    (mostly one value: its fences would flag every other one).
    Returns {"count", "fences": [low, high], "rows": ["file.csv:7", ...], "values": [...]} (rows and values: the
    first 20, as preprocess.json records examples, not the whole split)."""
    y = np.asarray(y, dtype=np.float64)
    q1, q3 = np.quantile(y, [0.25, 0.75])
    if not q3 > q1:
        return None
    lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    far = np.flatnonzero((y < lo) | (y > hi))
    if not len(far) or len(far) > max(FEW_TYPOS, TYPO_SHARE * len(y)):  # many: a real heavy tail, not typos
        return None
    far = far[np.argsort(-np.abs(y[far] - np.median(y)), kind="stable")]  # the farthest first
    return {"count": int(len(far)), "fences": [float(lo), float(hi)], "k": k,
            "rows": [names[i] for i in far[:20]], "values": [float(y[i]) for i in far[:20]]}


def far_targets_note(far: dict[str, Any], *, target: str, n: int) -> str:
    """One line for `far_targets`'s record, naming the rows and the fix."""
    shown = _examples([f"{_number(v)} ({r})" for r, v in zip(far["rows"], far["values"], strict=True)])
    return (f"{target}: {plural(far['count'], 'training target value')} of {n} far outside the rest (beyond "
            f"Tukey's fences [{_number(far['fences'][0])}, {_number(far['fences'][1])}], k = {far['k']:g}): {shown}; "
            "typos? They dominate the loss and the model learns little else: fix or drop those rows")


def far_clipped(pre, num: np.ndarray, names: list[str]) -> dict[str, list[str]]:
    """Per numeric column of a fitted TablePreprocessor `pre`, its training values `num` (N, numeric columns)
    clipped from beyond a whole training span (hi - lo) past a bound, as "59555.3 (file.csv:12)": predict's rule
    for new rows (data/input_notes.py), so that the ~2% of ordinary values a quantile trims are not listed."""
    out: dict[str, list[str]] = {}
    if pre.clip_ is None:
        return out
    for k, j in enumerate(pre.numeric_):
        lo, hi = pre.clip_[0][k], pre.clip_[1][k]
        col = num[:, k]
        far = np.flatnonzero((col < lo - (hi - lo)) | (col > hi + (hi - lo)))
        if len(far):
            out[pre.columns[j]] = [f"{_number(col[i])} ({names[i]})" for i in far]
    return out


def far_clipped_note(found: dict[str, list[str]], *, keys: str) -> str:
    """One line for `far_clipped`'s findings: each column with its count and examples."""
    total = sum(len(v) for v in found.values())
    cols = "; ".join(f"{c} {len(v)} ({_examples(v)})" for c, v in found.items())
    return (f"clipped {plural(total, 'training value')} far outside the rest of {'its' if len(found) == 1 else 'their'} "
            f"column to its bounds ({keys}; the report lists the bounds): {cols}; typos? fix or drop those rows")
