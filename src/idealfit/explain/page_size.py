"""What makes an explainer page big, and the two ways it is kept smaller without changing what it shows.

Measured on the default CNN over 64×64 RGB pictures (2.1M parameters): 12.3 MB, of which 11.2 MB were
the first dense layer's 16384×128 weights as base64 float32 and 1.0 MB the 15 gallery inputs.

- A dense layer with more than HALF_MIN weights travels as float16 (half the bytes), but only when the
  page's forward pass with those rounded weights (`layers_forward`, the same operations as page_forward.js
  in float64) still gives PyTorch's probabilities within HALF_TOL on every gallery example; otherwise it
  stays float32. On that CNN the rounding moves a probability by 5.1e-6 (a random 400→200 layer: 1.9e-5),
  against the self-check's 1e-4.
  Convolution weights stay float32: rounding every layer moved a probability by 1.8e-4 there.
- The gallery keeps at most EXAMPLE_BUDGET bytes of inputs (always at least one correct and one wrong).
"""

from __future__ import annotations

import base64

import numpy as np
import torch
import torch.nn.functional as F

HALF_MIN = 65536  # a dense layer with more weights than this (256 KB as float32) is tried at float16
HALF_TOL = 5e-5  # largest |Δ probability| the float16 weights may cause: half the page's self-check tolerance 1e-4
EXAMPLE_BUDGET = 600_000  # base64 bytes of gallery inputs at most (digits: 16 examples take 5 KB)
NOTE_ABOVE = 2_000_000  # bytes: `idealfit explain --page` says what makes a page bigger than this


def _arr(s: str, dtype: str = "<f4") -> torch.Tensor:
    return torch.from_numpy(np.frombuffer(base64.b64decode(s), dtype=dtype).astype(np.float64))


def _weights(layer: dict) -> torch.Tensor:
    w = _arr(layer["w16"], "<f2") if "w16" in layer else _arr(layer["w"])
    return w.reshape(layer["shape"])


def layers_forward(layers: list[dict], x: np.ndarray) -> np.ndarray:
    """Probabilities (N, K) of the page's layer list on x ((N, C, H, W) or (N, C, L)), in float64.

    The same operations, in the same order, as page_forward.js; used to decide, before writing, whether a
    layer's rounded weights keep the page's numbers PyTorch's.
    """
    t = torch.from_numpy(np.asarray(x, dtype=np.float64))
    if t.dim() == 3:  # a signal is an image one row high, as in the page
        t = t[:, :, None, :]
    acts = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
    for L in layers:
        kind = L["kind"]
        if kind == "normalize":
            t = (t - _arr(L["mean"])[:, None, None]) / _arr(L["std"])[:, None, None]
        elif kind == "conv":
            t = F.conv2d(t, _weights(L), _arr(L["b"]), stride=L["stride"], padding=L["pad"])
        elif kind in ("maxpool", "avgpool"):
            t = (F.max_pool2d if kind == "maxpool" else F.avg_pool2d)(t, L["k"], L["stride"])
        elif kind == "flatten":
            t = t.reshape(len(t), -1)
        elif kind == "dense":
            t = t @ _weights(L).T + _arr(L["b"])
        elif kind == "leaky_relu":
            t = F.leaky_relu(t, L["slope"])
        elif kind == "elu":
            t = F.elu(t, L["alpha"])
        elif kind == "softmax":
            t = torch.softmax(t, dim=1)
        else:
            t = acts[kind](t)
    return t.numpy()


def halve_big_dense(layers: list[dict], x: np.ndarray, probs: np.ndarray) -> list[str]:
    """Dense layers above HALF_MIN weights switched to float16 ("w16") where the page still agrees with
    PyTorch's `probs` on `x` within HALF_TOL; returns one phrase per layer switched (for the page's note)."""
    said = []
    for L in layers:
        if L["kind"] != "dense" or int(np.prod(L["shape"])) <= HALF_MIN:
            continue
        w32 = L.pop("w")
        with np.errstate(over="ignore"):  # a weight beyond float16's range becomes inf, and fails the check below
            w16 = np.frombuffer(base64.b64decode(w32), "<f4").astype("<f2")
        L["w16"] = base64.b64encode(w16.tobytes()).decode()
        diff = float(np.abs(layers_forward(layers, x) - probs).max()) if len(x) else np.inf
        if not diff <= HALF_TOL:  # (NaN too: a weight beyond float16's range)
            L["w"] = w32
            del L["w16"]
            continue
        said.append(f"layer {L['name']}'s {L['shape'][1]}→{L['shape'][0]} dense weights as float16 (|Δp| ≤ {diff:.1e})")
    return said


def trim_gallery(chosen: list[tuple[int, str]], per_example: int) -> list[tuple[int, str]]:
    """At most EXAMPLE_BUDGET bytes of gallery inputs: correct and wrong examples cut in proportion,
    keeping at least one of each group present and the best-ranked of each."""
    keep = max(2, EXAMPLE_BUDGET // max(per_example, 1))
    if keep >= len(chosen):
        return chosen
    right = [c for c in chosen if c[1] == "correct"]
    wrong = [c for c in chosen if c[1] != "correct"]
    n_wrong = min(len(wrong), max(1 if wrong else 0, round(keep * len(wrong) / len(chosen))))
    return right[:max(1, keep - n_wrong)] + wrong[:n_wrong]


def size_note(data: dict, nbytes: int) -> str | None:
    """One line on what makes a page of `nbytes` big, when it is above NOTE_ABOVE (else None)."""
    if nbytes <= NOTE_ABOVE:
        return None
    parts = []
    for L in data.get("layers") or []:
        n = len(L.get("w", "")) + len(L.get("w16", ""))
        if n:
            what = "float16" if "w16" in L else "float32"
            shape = "→".join(map(str, L["shape"][::-1])) if L["kind"] == "dense" else "×".join(map(str, L["shape"]))
            parts.append((n, f"layer {L['name']}'s {shape} {L['kind']} weights ({what})"))
    ex = data["examples"]
    parts.append((sum(len(e["x"]) for e in ex), f"the {len(ex)} example inputs"))
    parts.append((sum(len(a) for e in ex for a in e.get("acts", [])), "the recorded activations"))
    parts.sort(key=lambda p: -p[0])
    big = ", ".join(f"{what} {n / 1e6:.1f} MB" for n, what in parts[:2] if n)
    return (f"note: the page is {nbytes / 1e6:.1f} MB (above {NOTE_ABOVE / 1e6:g} MB): mostly {big}; a smaller "
            "data.image_size, another pooling stage (model.widths) or a smaller model.hidden makes it smaller")
