"""What to try, for a verdict of the diagnosis: the deck's remedies, fitted to what the run already uses."""

from __future__ import annotations

from typing import Any

OVERFIT_ADVICE = (
    "Get more training data, or add data augmentation (flip, random crop, contrast, tint).",
    "Add L1/L2 weight regularization (start with λ = 1e-4).",
    "Add dropout between layers (p = 0.2 to 0.5).",
    "Use early stopping: keep the weights from the best validation epoch{best}.",
    "Add batch normalization.",
    "Use a smaller model (fewer or narrower layers).",
)
UNDERFIT_ADVICE = (
    "Give the model more capacity: wider or deeper layers.",
    "Train longer (more epochs).",
    "Tune the learning rate (try 3x larger and 3x smaller).",
    "Use less regularization (lower L1/L2, less dropout, milder augmentation).",
)
GOOD_FIT_ADVICE = ("Keep this setup: training and validation agree and have levelled off.",)
NO_VALIDATION_ADVICE = "Hold out a validation split (e.g. 20% of the data) so overfitting can be seen."


def _only_not_done(reasons: list[str]) -> bool:
    """Whether every reason says "not done yet" (stopped early, still improving, a gap to judge later)."""
    return all("stopped too early" in r or "before it levelled off" in r or "judge that gap" in r for r in reasons)


def advice(verdict: str, ev: dict, reasons: list[str], context: dict[str, Any] | None = None) -> list[str]:
    if context is not None and verdict in ("overfitting", "underfitting"):
        advice = (_overfit_advice_for(ev, context) if verdict == "overfitting"
                  else _underfit_advice_for(reasons, context))
    elif verdict == "overfitting":
        best = f" (epoch {ev['best_val_epoch']})" if "best_val_epoch" in ev else ""
        advice = [a.format(best=best) for a in OVERFIT_ADVICE]
    elif verdict == "underfitting":
        advice = list(UNDERFIT_ADVICE)
        if reasons[0].startswith("training diverged"):
            advice.insert(0, "Lower the learning rate (e.g. 10x): the loss blew up.")
        elif _only_not_done(reasons):
            advice.insert(0, advice.pop(1))  # only "not done yet": train longer comes first
    elif ev["has_validation"]:
        advice = list(GOOD_FIT_ADVICE)
    else:
        advice = ["Keep this setup for now: the training curve has levelled off at a low error."]
    if not ev["has_validation"]:
        advice.append(NO_VALIDATION_ADVICE)
    return advice


def _overfit_advice_for(ev: dict, c: dict[str, Any]) -> list[str]:
    """The deck's remedies for overfitting that this run does not use yet, as the options that set them."""
    advice = []
    if c.get("kind") == "image":
        advice.append("Get more training data, or augment more strongly (now: "
                      f"{', '.join(c['augment'])})." if c.get("augment") else
                      "Get more training data, or add data augmentation: --set data.augment=[flip,crop,contrast].")
    else:
        advice.append("Get more training data: more labelled samples.")
    if c.get("l1") or c.get("l2"):
        advice.append(f"Raise the weight penalty (now train.l1={c.get('l1', 0):g}, train.l2={c.get('l2', 0):g}), "
                      "e.g. 3x.")
    else:
        advice.append("Add L1/L2 weight regularization: --set train.l2=1e-4 (or train.l1=1e-4).")
    advice.append(f"Raise dropout (now model.dropout={c['dropout']:g}), e.g. to {min(0.6, 2 * c['dropout']):g}."
                  if c.get("dropout") else "Add dropout before the dense layers: --set model.dropout=0.3.")
    if not c.get("early_stopping"):
        best = f" (epoch {ev['best_val_epoch']})" if "best_val_epoch" in ev else ""
        advice.append(f"Use early stopping to keep the weights of the best validation epoch{best}: "
                      "--set train.early_stopping=true.")
    if not c.get("batchnorm"):
        advice.append("Add batch normalization: --set model.batchnorm=true.")
    advice.append("Use a smaller model (fewer or narrower layers: model.widths, model.hidden).")
    return advice


def _underfit_advice_for(reasons: list[str], c: dict[str, Any]) -> list[str]:
    """The deck's remedies for underfitting, naming the settings this run used."""
    longer = (f"Train longer: early stopping ended the run; raise train.patience (now {c.get('patience')}) "
              "or train.min_delta." if c.get("stopped_early")
              else f"Train longer: raise train.epochs (now {c.get('epochs')}).")
    advice = ["Give the model more capacity: wider or deeper layers (model.widths, model.hidden).", longer,
              f"Tune the learning rate (now train.lr={c.get('lr', 0):g}): try 3x larger and 3x smaller "
              "(`idealfit lr-find` suggests one)."]
    used = [f"train.l1={c['l1']:g}" if c.get("l1") else "", f"train.l2={c['l2']:g}" if c.get("l2") else "",
            f"model.dropout={c['dropout']:g}" if c.get("dropout") else "",
            "data.augment" if c.get("augment") else ""]
    used = [u for u in used if u]
    if used:
        advice.append(f"Use less regularization (now {', '.join(used)}).")
    if reasons[0].startswith("training diverged"):
        advice.insert(0, f"Lower the learning rate (e.g. 10x, below train.lr={c.get('lr', 0):g}): the loss blew up.")
    elif _only_not_done(reasons):
        advice.insert(0, advice.pop(1))  # only "not done yet": train longer comes first
    return advice
