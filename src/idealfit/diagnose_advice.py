"""What to try, for a verdict of the diagnosis: the deck's remedies, fitted to what the run already uses.

With a context (what the run used), the advice names only options that exist for the run's model family
and data: a U-Net has no `model.hidden`, a convolutional autoencoder no dropout, paired images accept
only flips and crops (they move input and target together), and a pix2pix GAN step adds no L1/L2 weight
penalty. The family is `context["model"]` when given, else the one family that learns the task
(segmentation: unet, reconstruction: autoencoder, translation: pix2pix); classification and regression
(mlp or cnn) without it keep the advice that names both families' options.
"""

from __future__ import annotations

import math
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
# what more data means for each task, when it cannot be augmented
MORE_DATA = {"reconstruction": "Get more training data: more samples (no labels needed).",
             "translation": "Get more training data: more input-target pairs.",
             "forecasting": "Get more training data: a longer history (more time steps before the validation part)."}
PAIR_AUGMENT = ("flip", "crop")  # the augmentations paired images accept (config: train/setup.py's GEOMETRIC)
# translation judged by eye: a low L1 can still be a blurry image
EYE_ADVICE = ("Judge the generated images by eye (report: progress.png, the same validation inputs over the "
              "epochs; translation.png, input | generated | target): a low L1 can still be blurry "
              "(sharpness_ratio below 1), and a ratio above 1 is noise or grid artefacts, not detail.")
GAN_NOTE = ("this is a GAN: its adversarial losses (train_g_adv, train_d_loss) have no under/overfitting "
            "U-shape, so this verdict reads the L1 curves only (train_loss and val_loss are the generator's "
            "L1 part, val_l1 its score); judge the generated images by eye")

# Per family: (what gives more capacity, what makes the model smaller, the widening for the baseline advice when
# the run's own width is unknown: `wider` doubles it when the context has it, so no fixed width is named here).
# The autoencoder's entries depend on its kind (dense on tables: model.hidden; conv: model.widths).
_KNOBS = {
    None: ("wider or deeper layers (model.widths, model.hidden)", "fewer or narrower layers: model.widths, model.hidden",
           "widen it (model.widths, model.hidden)"),
    "mlp": ("wider or deeper hidden layers (model.hidden)", "fewer or narrower hidden layers: model.hidden",
            "widen it (model.hidden: e.g. twice each layer's width)"),
    "cnn": ("more or wider convolution blocks (model.widths) and dense layers (model.hidden)",
            "fewer or narrower layers: model.widths, model.hidden", "widen it (model.widths, model.hidden)"),
    "rnn": ("a wider or deeper recurrent network (model.hidden_size, model.layers) or a wider head (model.hidden)",
            "a narrower recurrent network or head: model.hidden_size, model.layers, model.hidden",
            "widen it (model.hidden_size: e.g. twice its width)"),
    "unet": ("wider or deeper levels (model.widths, e.g. --set model.widths=[16,32,64,128]; keep model.skip=true, "
             "the skips carry the fine detail)", "fewer or narrower levels: model.widths",
             "widen or deepen it (model.widths, e.g. [16,32,64,128])"),
    "pix2pix": ("a wider or deeper generator (model.widths, e.g. --set model.widths=[32,64,128])",
                "a narrower generator: model.widths", "widen its generator (model.widths)"),
}


def family_of(context: dict[str, Any] | None, task: str | None) -> str | None:
    """The run's model family: context["model"] (the resolved model.name), else the only family that learns
    `task`, else None (then the advice names every family's shape options, as before)."""
    name = (context or {}).get("model")
    if name and name != "auto":
        return str(name)
    from idealfit.models.registry import FAMILIES

    owners = [f for f, fam in FAMILIES.items() if task in fam.tasks]
    return owners[0] if len(owners) == 1 else None


# the plain (Elman) cell's gradient vanishes over long sequences: advised only to a run that uses it
PLAIN_RNN_CAPACITY = "a gated cell (model.cell=gru or lstm: the plain rnn's gradient vanishes over long sequences), "


def knobs(family: str | None, kind: str | None, cell: str | None = None) -> tuple[str, str, str]:
    """(more capacity, smaller model, widen for the baseline advice) in the options of `family`; `cell`: the
    recurrent family's model.cell (the gated-cell advice goes to the plain rnn alone)."""
    if family == "rnn" and cell == "rnn":
        more, smaller, widen = _KNOBS["rnn"]
        return PLAIN_RNN_CAPACITY + more, smaller, widen
    if family == "autoencoder":
        layers = "model.hidden" if kind == "table" else "model.widths"  # dense on tables, convolutional otherwise
        return (f"a wider code (model.latent) or wider layers ({layers})",
                f"a narrower code or layers: model.latent, {layers}",
                f"give it a wider code (model.latent) or wider layers ({layers})")
    return _KNOBS.get(family, _KNOBS[None])


# Per family: the option that sets its width, and the context key that holds the run's value of it
WIDTH_KEYS = {"mlp": "hidden", "cnn": "widths", "rnn": "hidden_size", "unet": "widths", "pix2pix": "widths"}


def _width_key(family: str | None, kind: str | None) -> str | None:
    if family == "autoencoder":
        return "hidden" if kind == "table" else "widths"  # dense on tables, convolutional otherwise
    return WIDTH_KEYS.get(family or "")


def resized(c: dict[str, Any] | None, family: str | None, factor: float) -> str | None:
    """The run's own width times `factor` as a setting, "--set model.hidden=[512,512], now [256,256]", computed from
    the run's config (context["hidden"], ...); None when the context lacks it or nothing would change (a width of 1
    halved), so the advice never repeats a setting the run already has."""
    key = _width_key(family, (c or {}).get("kind"))
    now = (c or {}).get(key) if key else None
    if now is None or (isinstance(now, list) and not now):
        return None
    scale = lambda v: max(1, int(round(v * factor)))  # noqa: E731
    new = [scale(v) for v in now] if isinstance(now, list) else scale(now)
    if new == now:
        return None
    show = (lambda v: f"[{','.join(map(str, v))}]" if isinstance(v, list) else str(v))  # noqa: E731
    return f"--set model.{key}={show(new)}, now {show(now)}"


def _own_level(text: str, c: dict[str, Any], family: str | None) -> str:
    """A U-Net's or pix2pix generator's capacity advice with its example built on the run's own levels (one more,
    twice the deepest's width: [16,32,64] -> [16,32,64,128]) rather than a fixed list the run may already have."""
    now = c.get("widths") if family in ("unet", "pix2pix") else None
    if not isinstance(now, list) or not now or "e.g. --set model.widths=" not in text:
        return text
    deeper = [*now, 2 * now[-1]]
    show = lambda v: f"[{','.join(map(str, v))}]"  # noqa: E731
    start = text.index("e.g. --set model.widths=") + len("e.g. --set model.widths=")
    end = text.index("]", start) + 1
    return f"{text[:start]}{show(deeper)}, now {show(now)}{text[end:]}"


def wider(c: dict[str, Any] | None, family: str | None) -> str:
    """"widen it" for the baseline advice: twice the run's current width when the context has it."""
    concrete = resized(c, family, 2)
    generic = knobs(family, (c or {}).get("kind"), (c or {}).get("cell"))[2]
    return f"widen it ({concrete})" if concrete else generic


def better_chance(verdict: str, ev: dict, c: dict[str, Any] | None, *, task: str | None, gan: bool) -> str:
    """What "give the network a better chance" means for this run, beside a baseline that does better: it follows
    the verdict (overfitting: regularize, shrink, more data; underfitting: the steps of its advice) and never asks for
    what the run already has or cannot use (more epochs after early stopping ended it, the width it has)."""
    c = c or {}
    if verdict in ("underfitting", "unfinished"):
        return "try the steps below"
    if verdict == "overfitting":
        return "it overfits, so try the steps below (more data, regularization, a smaller model)"
    from idealfit.diagnose import OVERFIT_VAL_RISE  # here: diagnose imports this module

    fam = family_of(c, task)
    rose = ev.get("val_loss_rise_discarded", 0.0)
    if rose > OVERFIT_VAL_RISE:  # good fit only because early stopping kept an epoch before validation rose
        smaller = resized(c, fam, 0.5)
        parts = [] if gan else ["a weight penalty (--set train.l2=1e-4)" if not (c.get("l1") or c.get("l2"))
                                else "a stronger weight penalty (3x train.l1 / train.l2)"]
        if _takes_dropout(fam, c.get("kind")):
            parts.append(f"more dropout (now model.dropout={c['dropout']:g})" if c.get("dropout")
                         else "dropout (--set model.dropout=0.3)")
        parts.append(f"a smaller model ({smaller})" if smaller else "a smaller model")
        return (f"regularize it, as validation loss rose {100 * rose:.0f}% after the kept epoch "
                f"{ev.get('kept_epoch', '?')}: {', '.join(parts[:-1])} or {parts[-1]}" if len(parts) > 1
                else f"regularize it: {parts[0]}")
    steps = [] if c.get("stopped_early") else [f"train longer (train.epochs, now {c.get('epochs', '?')})"]
    steps += [] if capacity_to_spare(c, task) else [wider(c, fam)]  # far more parameters than samples: not size
    steps += ["tune train.lr" + ("" if gan else " (`idealfit lr-find`)")]
    if len(steps) == 1:
        return steps[0]
    return f"{', '.join(steps[:-1])} and {steps[-1]}"


def _takes_dropout(family: str | None, kind: str | None) -> bool:
    """The convolutional autoencoder has no dropout: model.dropout would be ignored there."""
    return not (family == "autoencoder" and kind != "table")


def _not_done(reason: str) -> bool:
    """Whether a reason says "not done yet" (stopped early, still improving, a gap to judge later)."""
    return "stopped too early" in reason or "before it levelled off" in reason or "judge that gap" in reason


def advice(verdict: str, ev: dict, reasons: list[str], context: dict[str, Any] | None = None, *,
           task: str | None = None, gan: bool = False, fits_train: bool = False) -> list[str]:
    """The remedies for `verdict`, named as the options of this run (`context`) when given.

    Args:
        task: the run's task (default None: a table task's advice). gan: the run trained adversarially
            (a pix2pix GAN step: no weight penalty applies, the images need judging by eye).
        fits_train: the model already fits its training data (a classifier at FITS_TRAIN_ACCURACY or above):
            underfitting then means "not finished", and capacity advice is left out (default False).
    """
    if context is not None and verdict in ("overfitting", "underfitting"):
        fam = family_of(context, task)
        advice = (_overfit_advice_for(ev, context, task, fam, gan) if verdict == "overfitting"
                  else _underfit_advice_for(reasons, context, fam, gan, fits_train, task))
    elif verdict == "overfitting":
        best = f" (epoch {ev['best_val_epoch']})" if "best_val_epoch" in ev else ""
        advice = [a.format(best=best) for a in OVERFIT_ADVICE]
        if task == "translation":
            advice[0] = "Get more training pairs, or augment them: flip, random crop (input and target move together)."
        elif task == "reconstruction":
            advice[0] = MORE_DATA[task]
    elif verdict == "underfitting":
        advice = list(UNDERFIT_ADVICE)
        if reasons[0].startswith("training diverged"):
            advice.insert(0, "Lower the learning rate (e.g. 10x): the loss blew up.")
        elif any(_not_done(r) for r in reasons):
            advice.insert(0, advice.pop(1))  # "not done yet" among the reasons: train longer comes first
        advice = _drop_bias_remedies(advice) if fits_train else advice
    elif ev["has_validation"]:
        advice = list(GOOD_FIT_ADVICE)
    else:
        advice = ["Keep this setup for now: the training curve has levelled off at a low error."]
    if task == "translation":
        advice.append(EYE_ADVICE)
    if not ev["has_validation"]:
        advice.append(NO_VALIDATION_ADVICE)
    return advice


def _more_data(c: dict[str, Any], task: str | None) -> str:
    """More data or (images) stronger augmentation, as the augmentations this kind of data accepts."""
    kind, used = c.get("kind"), list(c.get("augment") or [])
    if kind == "image_pair":  # pairs: flips and crops only, moving input and target together
        left = [a for a in PAIR_AUGMENT if a not in used]
        if not left:
            return (f"{MORE_DATA['translation']} (flip and crop, the augmentations that keep a pair aligned, "
                    "are already on).")
        return (f"Get more training pairs, or augment them: --set data.augment=[{','.join(used + left)}] (input and "
                "target move together; contrast and tint would change what the target means).")
    if kind == "image" and task != "reconstruction":  # an autoencoder's augmented input would lose its target
        return (f"Get more training data, or augment more strongly (now: {', '.join(used)})." if used else
                "Get more training data, or add data augmentation: --set data.augment=[flip,crop,contrast].")
    return MORE_DATA.get(task or "", "Get more training data: more labelled samples.")


def _overfit_advice_for(ev: dict, c: dict[str, Any], task: str | None, fam: str | None, gan: bool) -> list[str]:
    """The deck's remedies for overfitting that this run does not use yet, as the options that set them."""
    advice = [_more_data(c, task)]
    if gan:  # the pix2pix GAN step adds no weight penalty: train.l1 / train.l2 would be ignored
        pass
    elif c.get("l1") or c.get("l2"):
        advice.append(f"Raise the weight penalty (now train.l1={c.get('l1', 0):g}, train.l2={c.get('l2', 0):g}), "
                      "e.g. 3x.")
    else:
        advice.append("Add L1/L2 weight regularization: --set train.l2=1e-4 (or train.l1=1e-4).")
    if _takes_dropout(fam, c.get("kind")):
        where = ("at the end of every convolution block (whole feature maps)" if fam in ("unet", "pix2pix")
                 else "before the dense layers")
        advice.append(f"Raise dropout (now model.dropout={c['dropout']:g}), e.g. to {min(0.6, 2 * c['dropout']):g}."
                      if c.get("dropout") else f"Add dropout {where}: --set model.dropout=0.3.")
    if not c.get("early_stopping"):
        best = f" (epoch {ev['best_val_epoch']})" if "best_val_epoch" in ev else ""
        advice.append(f"Use early stopping to keep the weights of the best validation epoch{best}: "
                      "--set train.early_stopping=true.")
    if not c.get("batchnorm"):
        advice.append("Add batch normalization: --set model.batchnorm=true.")
    smaller = resized(c, fam, 0.5)
    advice.append(f"Use a smaller model ({knobs(fam, c.get('kind'), c.get('cell'))[1]}"
                  + (f", e.g. {smaller})." if smaller else ")."))
    return advice


def longer_advice(c: dict[str, Any] | None, *, epochs: int) -> str:
    """"Train longer", as the option that gives this run more epochs."""
    if c and c.get("stopped_early"):
        return (f"Train longer: early stopping ended the run; raise train.patience (now {c.get('patience')}) "
                "or train.min_delta.")
    return f"Train longer: raise train.epochs (now {(c or {}).get('epochs', epochs)})."


# Parameters per training sample from which more capacity cannot be what a network lacks. A depth-2 ReLU network
# with 2n + d weights can fit any labelling of n samples (Zhang et al. 2017, "Understanding deep learning requires
# rethinking generalization"); 100 per sample leaves two orders of magnitude for the weight sharing of convolutions
# and recurrences. Only where a sample has one target (classification, regression): a mask or an image holds many.
MEMORIZE_PARAMS_PER_SAMPLE = 100


def capacity_to_spare(c: dict[str, Any] | None, task: str | None) -> str | None:
    """Why more capacity will not help, when the run has far more parameters than training samples ("2,117,378
    parameters for 32 training samples"), else None (also without the counts in the context)."""
    c = c or {}
    params, n = c.get("params"), c.get("train_samples")
    if task not in ("classification", "regression") or not params or not n or params < MEMORIZE_PARAMS_PER_SAMPLE * n:
        return None
    return f"{params:,} parameters for {n:,} training samples ({params // n:,} each)"


FEW_STEPS = 100  # optimizer steps in a whole run below which its curves say too little to ask for more size


def steps_in_run(samples: int, batch_size: int, epochs: int) -> tuple[int, int]:
    """(optimizer steps per epoch, in the whole run) of `samples` training samples at `batch_size`; the batcher
    drops a last batch of one sample (data.batching), as BatchNorm cannot train on it."""
    per = -(-samples // batch_size) - (1 if samples % batch_size == 1 and samples > batch_size else 0)
    return max(per, 1), max(per, 1) * epochs


def few_steps(c: dict[str, Any] | None) -> str | None:
    """Words for a run of fewer than FEW_STEPS optimizer steps in all ("28 training samples at train.batch_size=32:
    1 optimizer step per epoch, 3 in all"), else None (also without the counts in the context)."""
    c = c or {}
    n, b, e = c.get("train_samples"), c.get("batch_size"), c.get("epochs")
    if not n or not b or not e:
        return None
    per, total = steps_in_run(n, b, e)
    if total >= FEW_STEPS:
        return None
    return (f"{n:,} training samples at train.batch_size={b}: {per} optimizer step{'s' * (per != 1)} per epoch, "
            f"{total} in all")


def _underfit_advice_for(reasons: list[str], c: dict[str, Any], fam: str | None, gan: bool,
                         fits_train: bool = False, task: str | None = None) -> list[str]:
    """The deck's remedies for underfitting, naming the settings this run used. `fits_train`: the run already fits
    its training data (no bias left to remove), so more capacity and less regularization are not advised; nor more
    capacity to a model with far more parameters than training samples (`capacity_to_spare`)."""
    longer = longer_advice(c, epochs=c.get("epochs", 0))
    capacity = _own_level(knobs(fam, c.get("kind"), c.get("cell"))[0], c, fam)
    more = None if "e.g." in capacity else resized(c, fam, 2)  # U-Net, pix2pix: their example adds a level
    spare, few = capacity_to_spare(c, task), few_steps(c)
    first = (f"Not more capacity: {spare} can already fit every one of them: what it lacks is "
             "training (more epochs, a better learning rate), not size." if spare else
             f"Not more capacity yet: {few} are too few to show that size is what it lacks; give it more steps "
             f"first: more epochs, or a smaller batch (e.g. --set train.batch_size={max(1, c['batch_size'] // 8)})."
             if few else f"Give the model more capacity: {capacity}" + (f", e.g. {more}." if more else "."))
    advice = [first, longer,
              f"Tune the learning rate (now train.lr={c.get('lr', 0):g}): try 3x larger and 3x smaller"
              + ("." if gan else " (`idealfit lr-find` suggests one).")]  # lr-find sweeps one optimizer, not a GAN's two
    if gan and all(_not_done(r) for r in reasons):
        # only "not done yet" says this GAN underfits: neither size nor the L1 weight is in question
        advice = advice[1:]
    elif gan:
        advice.append("Weigh the L1 term more against the adversarial one: raise model.l1_weight (the paper's 100) "
                      "or lower model.gan_weight (0 trains on L1 alone: a lower L1, blurrier images).")
    used = [f"train.l1={c['l1']:g}" if c.get("l1") and not gan else "",
            f"train.l2={c['l2']:g}" if c.get("l2") and not gan else "",
            f"model.dropout={c['dropout']:g}" if c.get("dropout") and _takes_dropout(fam, c.get("kind")) else "",
            "data.augment" if c.get("augment") else ""]
    used = [u for u in used if u]
    if used:
        advice.append(f"Use less regularization (now {', '.join(used)}).")
    if reasons[0].startswith("training diverged"):
        advice.insert(0, f"Lower the learning rate (e.g. 10x, below train.lr={c.get('lr', 0):g}): the loss blew up.")
    elif (any(_not_done(r) for r in reasons) or spare or few) and advice[0] is first:
        advice.insert(0, advice.pop(1))  # "not done yet" among the reasons (or no size to add): train longer first
    return _drop_bias_remedies(advice) if fits_train else advice


def _drop_bias_remedies(advice: list[str]) -> list[str]:
    """A run that already fits its training data has no bias left: more capacity or less regularization would only
    widen a train-validation gap; what is left is to let validation finish improving."""
    return [a for a in advice if not a.startswith(("Give the model more capacity", "Use less regularization"))]


CYCLE_CUT = 0.1  # early stopping at a one-cycle learning rate above this share of its peak cut the cycle short


def cycle_cut_short(history: list[dict], c: dict[str, Any] | None) -> str | None:
    """Advice when early stopping ended a one-cycle run (train.schedule=onecycle) while its learning rate was still
    high: the cycle's last, low-learning-rate epochs (where it usually finds its best weights) never ran. None
    otherwise, or when the history has no `lr` column (a run from before it was recorded)."""
    if not c or c.get("schedule") != "onecycle" or not c.get("stopped_early"):
        return None
    lrs = [r["lr"] for r in history if isinstance(r.get("lr"), (int, float))]
    if not lrs or max(lrs) <= 0 or lrs[-1] <= CYCLE_CUT * max(lrs):
        return None
    return (f"Early stopping ended this one-cycle run at epoch {history[-1]['epoch']} of {c.get('epochs')}, with the "
            f"learning rate still at {100 * lrs[-1] / max(lrs):.0f}% of its peak: the cycle's last epochs, where "
            "the learning rate falls to near 0 and one-cycle usually finds its best weights, never ran. With "
            "train.schedule=onecycle, turn early stopping off (--set train.early_stopping=false) and pick "
            "train.epochs (the cycle's length) by the best epoch of this run, or raise train.patience.")


R2_NOTHING = 0.05  # a regressor explaining under 5% of its own training targets' variance has learned ~nothing


def explains_nothing_rule(verdict: str, reasons: list[str], final: dict[str, dict] | None, *,
                           task: str) -> tuple[str, list[str], str | None]:
    """A regressor whose training R² (on the kept weights) is below R2_NOTHING explains nothing of its own training
    data, whatever its curves or a validation split that happens to suit the mean: never a good fit. Four target
    typos 1000 times too large (engel's foodexp) gave train R² 0.001 with flat curves, headlined "fits well".
    Returns (verdict, reasons, its advice line or None when the rule does not fire)."""
    r2 = ((final or {}).get("train") or {}).get("r2") if task == "regression" else None
    if not isinstance(r2, (int, float)) or r2 >= R2_NOTHING or any("learned nothing" in r for r in reasons):
        return verdict, reasons, None
    if verdict == "good fit":  # as diagnose._not_good_fit: no "levelled off" reason for a model of nothing
        verdict, reasons = "underfitting", [r for r in reasons if not r.startswith("training has levelled off")]
    reasons = [r for r in reasons if not r.startswith("early stopping kept epoch")]  # a kept epoch of nothing
    reasons.append(f"the model explains {100 * max(r2, 0.0):.1f}% of its own training targets' variance (train R² "
                   f"{r2:.3f}): it predicts little beyond their mean")
    tip = ("The model explains almost nothing of its training targets: look at the target first (a few values far "
           "outside the rest, e.g. typos 1000 times too large, dominate the loss: `idealfit train` names them; fix "
           "or drop those rows), then check that the targets belong to their inputs; only then train longer.")
    return verdict, reasons, tip


TRAIN_LOSS_RISE = 0.25  # the last epoch's training loss 25% above the first's: past epoch-to-epoch noise


def rising_train_loss(history: list[dict], context: dict[str, Any] | None, *, gan: bool) -> tuple[str, str] | None:
    """(reason, advice) when the training loss ended over TRAIN_LOSS_RISE above its first epoch's: the usual sign of
    steps that overshoot (a learning rate too high), which no curve-shape rule names (a tuned trial at the top of
    its lr range rose 56%, and its diagnosis spoke only of validation). None otherwise, and for a GAN, whose
    losses rise and fall by design. The first epoch's loss is a running mean from the untrained start, so a rise
    above it is no small-noise effect."""
    tl = [(r["epoch"], r["train_loss"]) for r in history
          if isinstance(r.get("train_loss"), (int, float)) and math.isfinite(r["train_loss"])]
    if gan or len(tl) < 2 or tl[0][1] <= 0:
        return None
    first, last = tl[0][1], tl[-1][1]
    if last <= first * (1 + TRAIN_LOSS_RISE):
        return None
    peak_epoch, peak = max(tl, key=lambda t: t[1])
    lr = (context or {}).get("lr")
    now = f" (now train.lr={lr:g})" if isinstance(lr, (int, float)) else ""
    peaked = f", peaking at {peak:.4g} at epoch {peak_epoch}" if peak_epoch != tl[-1][0] else ""
    reason = (f"the training loss rose {100 * (last / first - 1):.0f}% from epoch {tl[0][0]} ({first:.4g}) to epoch "
              f"{tl[-1][0]} ({last:.4g}){peaked}: the usual sign of a learning rate too high, whose steps overshoot")
    return reason, (f"Lower the learning rate{now}: try 3x to 10x smaller (`idealfit lr-find` suggests one); "
                    "a training loss that rises is not fixed by more epochs or capacity.")
