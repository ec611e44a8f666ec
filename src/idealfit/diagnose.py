"""Under-, ideal or over-fitting, read from the learning curves of one run (the deck's three pictures).

`diagnose(history, task=..., metric=...)` takes the per-epoch rows a training run records
(`epoch, train_loss, val_loss, train_<metric>, val_<metric>`) and returns a verdict, the numbers behind
it and the deck's remedies. The rules, checked in this order:

1. Overfitting ("too complex, does not generalise well" = high variance), when either
   a. validation loss has risen more than OVERFIT_VAL_RISE (relative) above its best while training
      loss kept falling since that epoch (the U-shaped validation curve early stopping watches), or
   b. validation is much worse than training in the metric: accuracy gap (train − val) above
      OVERFIT_ACCURACY_GAP, or for error metrics (rmse, mae) val / train above OVERFIT_ERROR_RATIO.
2. Underfitting ("does not have capacity to fully learn the data" = high bias), when either
   a. training diverged (a non-finite training loss), or
   b. the training error itself stays high: for scores (accuracy, Dice), final train score below
      UNDERFIT_TRAIN_ACCURACY (a model with capacity fits the data it sees); for errors (rmse, mse, l1),
      which have no fixed scale, the run removed less than UNDERFIT_MIN_LOSS_DROP of its first-epoch
      training loss (flat, high curves), or
   c. training loss was still falling by more than STILL_FALLING_RATE per epoch over the last
      STILL_FALLING_WINDOW epochs while validation loss still improved: stopped too early (not for a
      classifier that already reaches FITS_TRAIN_ACCURACY on its training data), or
   d. validation loss was at its best in the last epoch and still falling by more than
      VAL_STILL_IMPROVING_RATE per epoch over the last STILL_FALLING_WINDOW epochs: more epochs help
      (said beside 2b too: a low score in a run that is still improving is first of all unfinished), or
   e. the run had one epoch: one point is no curve, and "levelled off" cannot be seen.
3. Good fit otherwise: both curves levelled off, close together.
4. Unfinished: a model that fits its own training data (a score at FITS_TRAIN_ACCURACY or above) while validation
   loss is still at its best and falling (rule 2d) has not reached the bottom of the U. With validation close it
   is a good fit told to train longer; with a wide gap (rule 1b, held) it is "unfinished": train longer first,
   the gap named as one to watch, and no capacity advice either way (neither "widen it" nor "use a smaller model").

Rule 2b with baselines (below) comes before rule 1: a model that fits its own training data clearly worse
than a simple baseline has not learned yet, whatever its validation gap, and "use a smaller model" would
be the wrong remedy (a denoising autoencoder kept at epoch 1: training mse 1.089, worse than predicting
the mean and 5x PCA's 0.200, was called overfitting because validation was 1.35x training).

Rule 1b gives way to rule 2d: while validation loss is still at its best and falling at the last epoch
the run has not reached the bottom of the U, so a train-validation gap then is noted (to be judged once
validation levels off) and the verdict is "train longer" (a 3-epoch mnist1d run: gap 0.063, validation
loss still falling 34% per epoch).

With `baselines` (summary["baselines"]: the simple models each task fits on the same split and inputs),
rule 2b also compares with the task's best rival by validation (`idealfit.baselines.NAMES`: linear and
boosting for tables, a linear model on principal components for images, signals and audio; per-pixel logistic regression and the majority class for segmentation; PCA and
the corrupted input itself for reconstruction; the mean target image for translation, never its
"real" upper bound): the network underfits when it is clearly worse than that baseline on its
*training* data (a score more than UNDERFIT_BASELINE_GAP below, or an error more than
UNDERFIT_BASELINE_RATIO times above) and no better on validation. A reference rival (the tuned table
models, PCA) replaces the fixed thresholds of 2b; beating a weaker one (a per-pixel model, a constant)
does not show the network fits its data, so the fixed thresholds still apply there. And whatever the
verdict, a rival at least as good on validation is named as a reason ("does better" only when ahead by more
than `baselines.tie_limit`: 2 points or 2%, and two validation samples), with advice that follows the verdict
(`diagnose_advice.better_chance`).

A forecasting run whose validation error is no lower than the naive or seasonal naive forecast's (no learning at
all) is underfitting whatever its curves show, with the forecasting remedies (`idealfit.diagnose_forecast`).
The same holds for the other tasks' constant baseline (`idealfit.baselines.CONSTANTS`: the majority class,
the training mean, the per-pixel majority, the mean target image): a network no better than it on validation
(a tie counts, as for "does as well") is never a good fit but underfitting, with the remedies first; a fitted
rival no better than the constant is then not recommended either. Not for a GAN (below).

A GAN run (the history logs train_g_adv / train_d_loss) is judged on its L1 curves alone: adversarial
losses have no under/overfitting U-shape. The reasons say so, and translation's advice asks for the
images to be judged by eye. While its images are sharper than the mean image's (`diagnose_gan.l1_traded`), its L1
against the mean image and a flat L1 curve are not underfitting either: that is the trade the adversarial term makes.

With `context` (what the run used: model family, data kind, augmentation, dropout, L1/L2, batch
normalization, early stopping, epochs, patience), the advice names only remedies the run can still
apply, as option settings of its family (`--set model.dropout=0.3`), and never one it already uses
(`idealfit.diagnose_advice`). A one-cycle run (train.schedule=onecycle) that early stopping ended while its
learning rate was still above a tenth of its peak is told that the cycle's annealing never ran, instead of
"keep this setup". The numbers the rules read come from `idealfit.diagnose_evidence`.

Without validation columns the overfitting rules cannot run: the evidence says so
(`has_validation: False`), the verdict comes from the training curve alone and the advice asks for a
validation split. The training-loss trend needs at least STILL_FALLING_WINDOW + 1 epochs; the
validation trend (rule 2d) looks back over fewer in a shorter run, down to 2 epochs.

Example:
    >>> d = diagnose(history, task="classification", metric="accuracy")
    >>> print(format_diagnosis(d))
"""

from __future__ import annotations

import math
from typing import Any

from idealfit.baselines import (  # noqa: F401 - the thresholds are part of the rules above
    UNDERFIT_BASELINE_GAP,
    UNDERFIT_BASELINE_RATIO,
    baseline_advice,
    baseline_does_as_well,
    baseline_underfit,
    beats,
    best_baseline,
    constant_does_as_well,
    is_reference,
    rival_ahead,
    rivals,
    tie_limit,
)
from idealfit.diagnose_advice import (
    GOOD_FIT_ADVICE,
    advice,
    cycle_cut_short,
    explains_nothing_rule,
    longer_advice,
    rising_train_loss,
)
from idealfit.diagnose_evidence import STILL_FALLING_WINDOW, check_history, evidence
from idealfit.diagnose_gan import adversarial, gan_images_advice, gan_note, gan_scores, l1_traded, no_sharper
from idealfit.tasks import is_score

OVERFIT_VAL_RISE = 0.10  # val loss 10% above its best (relative), while train loss fell = overfitting
OVERFIT_ACCURACY_GAP = 0.05  # train accuracy − val accuracy above 5 points = overfitting
OVERFIT_ERROR_RATIO = 1.25  # val rmse/mae over 1.25× the training one = overfitting
UNDERFIT_TRAIN_ACCURACY = 0.90  # training accuracy below 90% = the model cannot fit its own data
UNDERFIT_MIN_LOSS_DROP = 0.50  # regression: less than half the first-epoch train loss removed = flat
STILL_FALLING_RATE = 0.03  # train loss still dropping > 3% per epoch at the end = stopped too early
FITS_TRAIN_ACCURACY = 0.99  # classification: at or above this train accuracy "still falling" is not underfitting
VAL_STILL_IMPROVING_RATE = 0.01  # val loss still dropping > 1% per epoch at its last (best) epoch = train longer

def _overfit_reasons(ev: dict, task: str, metric: str) -> list[str]:
    reasons = []
    change = ev.get("train_loss_change_since_best_val")
    if ev.get("val_loss_rise_rel", 0.0) > OVERFIT_VAL_RISE and change is not None and change < 0:
        reasons.append(
            f"validation loss bottomed out at {ev['best_val_loss']:.4g} in epoch {ev['best_val_epoch']} and "
            f"has risen {100 * ev['val_loss_rise_rel']:.0f}% since, while training loss kept falling "
            f"(to {ev['final_train_loss']:.4g})"
        )
    gap, ratio = ev.get("metric_gap"), ev.get("metric_ratio")
    # a gap of fewer than two validation samples is noise, however small the split (12 images: 0.17)
    limit = max(OVERFIT_ACCURACY_GAP, 2 / ev["val_samples"]) if ev.get("val_samples") else OVERFIT_ACCURACY_GAP
    if is_score(metric) and gap is not None and gap > limit:
        reasons.append(
            f"train {metric} {ev['final_train_metric']:.3f} is {gap:.3f} above validation "
            f"{ev['final_val_metric']:.3f} (more than {limit:.3g})"
        )
    if not is_score(metric) and ratio is not None and ratio > OVERFIT_ERROR_RATIO:
        reasons.append(
            f"validation {metric} {ev['final_val_metric']:.4g} is {ratio:.2f}x the training "
            f"{metric} {ev['final_train_metric']:.4g} (more than {OVERFIT_ERROR_RATIO}x)"
        )
    return reasons


def _underfit_reasons(ev: dict, task: str, metric: str, *, traded: bool = False) -> list[str]:
    """Rules 2a-2e. `traded`: a GAN whose images are sharper than the mean image's (diagnose_gan.l1_traded) trades
    L1 for sharpness by design, so neither its L1 against the mean image nor a flat L1 curve says it underfits."""
    if not math.isfinite(ev["final_train_loss"]):
        return [f"training diverged: the final training loss is {ev['final_train_loss']}"]
    reasons = []
    acc, drop = ev["final_train_metric"], ev["train_loss_drop"]
    if "baseline_train_metric" in ev and not traded:  # measured against what a simple model reaches on the same data
        reasons += baseline_underfit(ev, task, metric)
    # a reference baseline (a tuned table model, PCA) replaces the fixed thresholds; a weaker one (a per-pixel
    # model, a constant) only adds to them: beating it does not show the network fits its data
    fixed = not reasons and not is_reference(task, ev.get("baseline")) and not traded
    if fixed and is_score(metric) and acc is not None and acc < UNDERFIT_TRAIN_ACCURACY:
        reasons.append(
            f"the model reaches only {acc:.3f} {metric} on its own training data "
            f"(below {UNDERFIT_TRAIN_ACCURACY})"
        )
    if fixed and not is_score(metric) and drop is not None and drop < UNDERFIT_MIN_LOSS_DROP:
        reasons.append(
            f"training loss fell only {100 * drop:.0f}% from the first epoch "
            f"(less than {100 * UNDERFIT_MIN_LOSS_DROP:.0f}%): both curves stay flat and high"
        )
    recent = ev["recent_train_drop"]
    # A model that already fits its training data (near-perfect accuracy) has no bias left to remove: a
    # still-falling tiny loss there is confidence growing, not underfitting.
    fits_train = _fits_train(ev, metric)
    if recent is not None and recent > STILL_FALLING_RATE and ev.get("val_still_improving", True) and not fits_train:
        reasons.append(
            f"training loss was still falling {100 * recent:.1f}% per epoch over the last "
            f"{STILL_FALLING_WINDOW} epochs: training stopped too early"
        )
    if ev["epochs"] < 2 and not any("stopped too early" in r for r in reasons):  # rule 2e
        reasons.append("one epoch is no learning curve: whether training has levelled off cannot be seen, so "
                       "training stopped too early to judge the fit")
    # still improving at the last epoch: said beside a low score too, as the run is not done (not twice)
    if not any("stopped too early" in r for r in reasons) and _val_still_improving(ev):
        w = min(STILL_FALLING_WINDOW, ev["epochs"] - 1)
        reasons.append(
            f"{STILL_IMPROVING} ({100 * ev['recent_val_drop']:.1f}% per "
            f"epoch over the last {w}): training stopped before it levelled off"
        )
    return reasons


WATCH_GAP_ADVICE = ("Turn on early stopping (--set train.early_stopping=true), so that the longer run keeps the "
                    "weights of its best validation epoch should the train-validation gap start to cost validation loss.")
STILL_IMPROVING = "validation loss was still improving at the last epoch"  # rule 2d's reason, as it starts


def _fits_train(ev: dict, metric: str) -> bool:
    """A score (accuracy, Dice) at FITS_TRAIN_ACCURACY or above on the model's own training data."""
    acc = ev["final_train_metric"]
    return is_score(metric) and acc is not None and acc >= FITS_TRAIN_ACCURACY


def _val_still_improving(ev: dict) -> bool:
    """Validation loss at its best in the last epoch and still falling faster than VAL_STILL_IMPROVING_RATE."""
    drop = ev.get("recent_val_drop")
    return drop is not None and drop > VAL_STILL_IMPROVING_RATE and ev.get("best_val_epoch") == ev["epochs"]


def diagnose(history: list[dict], *, task: str, metric: str, final: dict[str, dict] | None = None,
             kept_epoch: int | None = None, context: dict[str, Any] | None = None,
             baselines: dict[str, dict] | None = None) -> dict[str, Any]:
    """Judge one run's learning curves: underfitting, good fit, overfitting or unfinished (rules in the module doc).

    Args:
        history: one dict per epoch with `epoch`, `train_loss` and, when validated, `val_loss`,
            `train_<metric>`, `val_<metric>`.
        task: a task of `idealfit.tasks.TASKS` (classification, regression, segmentation, reconstruction,
            translation).
        metric: one of the task's bounded scores (accuracy, dice, ...: fractions, higher is better) or errors
            (rmse, mae, mse, l1: lower is better).
        final: optional {"train": {metric: v}, "val": {metric: v}} measured on the kept weights in eval
            mode (a run's summary metrics); it replaces the last epoch's running train/val metric,
            which dropout and augmentation pull down.
        kept_epoch: the epoch whose weights the run kept (early stopping's best), if earlier than the last:
            the validation rise after it was discarded and does not make the kept model overfit.
        context: what the run used, for advice that fits it: {"model" (the family; default: the only one
            that learns `task`), "kind", "augment" (list), "dropout", "l1", "l2", "batchnorm",
            "early_stopping", "stopped_early", "interrupted" (Ctrl-C), "patience", "epochs", "lr"} (default None:
            the deck's generic advice).
        baselines: summary["baselines"] of the task (default: context["baselines"] when given, else None: the
            fixed thresholds). The task's best rival by validation is compared with (rule 2b) and named when
            it does as well as the network.

    Returns:
        {"verdict": "underfitting" | "good fit" | "overfitting" | "unfinished", "evidence": {name: number},
         "reasons": [plain-English rules that fired], "advice": [the deck's remedies]}.
    """
    higher_better = check_history(history, task, metric)
    interrupted = bool((context or {}).get("interrupted")) and "epochs" in (context or {})
    ev = evidence(list(history), metric, higher_better, final, kept_epoch)
    if baselines is None and context is not None:
        baselines = context.get("baselines")
    if context is not None and context.get("val_samples"):
        ev["val_samples"] = context["val_samples"]
    best = best_baseline(baselines, metric, higher_better=higher_better, task=task)
    if best is not None:
        ev.update(baseline=best[0], baseline_train_metric=best[1]["train"].get(metric) if "train" in best[1] else None,
                  baseline_val_metric=best[1]["val"][metric])
    verdict, reasons = "good fit", []
    held = []  # a train-validation gap while validation still improves: judged once it levels off
    gan = adversarial(history)
    traded = gan and l1_traded(final, baselines, ev)
    # worse than a simple baseline on its own training data: untrained, whatever the gap (rule 2b first)
    untrained = "baseline_train_metric" in ev and not traded and bool(baseline_underfit(ev, task, metric))
    if ev["has_validation"] and untrained:
        held = [f"{r}; that gap is no sign of overfitting while the model fits its own training data worse "
                "than a simple baseline" for r in _overfit_reasons(ev, task, metric)]
    elif ev["has_validation"]:
        reasons = _overfit_reasons(ev, task, metric)
        if reasons and _val_still_improving(ev):  # only the gap rule can fire at a still-falling best epoch
            held, reasons = reasons, []
        verdict = "overfitting" if reasons else verdict
    unfinished = False
    if not reasons:
        reasons = _underfit_reasons(ev, task, metric, traded=traded)
        verdict = "underfitting" if reasons else verdict
        if reasons and not untrained and _fits_train(ev, metric) and all(r.startswith(STILL_IMPROVING) for r in reasons):
            # a model that fits its own training data has no bias left: "still improving" says unfinished, not
            # underfitting (a text run at 100% on every split was headlined "underfits")
            # with a wide gap too the run is still not done: validation has not reached the bottom of its U, so
            # "overfits" with "use a smaller model" beside "train longer" (an mnist1d run at 5 epochs, validation
            # loss falling 17.6% per epoch) told a student two opposite things; the gap is one to watch
            verdict, unfinished = ("unfinished" if held else "good fit"), True
            reasons = [f"the model fits its own training data ({ev['final_train_metric']:.3f} {metric}), and "
                       + reasons[0].replace("training stopped before it levelled off", "more epochs may still help")]
            reasons += [f"{r}: a gap to watch, as memorizing the training data opens one; if it stays once validation "
                        "loss has levelled off, the run overfits (then: more data, regularization)" for r in held]
        else:
            reasons += held if untrained else [f"{r}; judge that gap once validation loss has levelled off" for r in held]
    if not reasons:
        close = " and validation stays close to it" if ev["has_validation"] else ""
        recent = ev["recent_train_drop"]
        if recent is not None and recent > STILL_FALLING_RATE and _fits_train(ev, metric):  # rule 2c spared it
            reasons = [f"the model fits its own training data ({ev['final_train_metric']:.3f} {metric}); its training "
                       f"loss still falls {100 * recent:.1f}% per epoch, which is confidence growing on answers already "
                       f"right{close.replace(' to it', '')}"]
        else:
            reasons = [f"training has levelled off{close}"]
        if ev.get("val_still_improving") and ev.get("recent_val_drop") is not None:  # the evidence's flag, in words
            w = min(STILL_FALLING_WINDOW, ev["epochs"] - 1)
            reasons.append(f"validation loss still edged down {100 * ev['recent_val_drop']:.2g}% per epoch over the "
                           f"last {w} epochs (\"validation still improving\" in the evidence), less than the "
                           f"{100 * VAL_STILL_IMPROVING_RATE:g}% per epoch that calls for more epochs")
        if ev.get("val_loss_rise_discarded", 0.0) > OVERFIT_VAL_RISE:
            # a Ctrl-C also restores the best weights: "early stopping" would name the wrong cause
            keeper = "the best weights restored at the interruption are" if interrupted else "early stopping kept"
            reasons.append(f"{keeper} epoch {ev['kept_epoch']}, before validation loss rose "
                           f"{100 * ev['val_loss_rise_discarded']:.0f}%")
    as_well = baseline_does_as_well(ev, metric, higher_better, task=task) if ev["has_validation"] else None
    verdict, reasons, const_tip = _constant_rule(verdict, ev, reasons, baselines, metric, higher_better, task=task,
                                                 gan=gan, as_well=as_well)
    verdict, reasons, nothing_tip = explains_nothing_rule(verdict, reasons, final, task=task)
    fits_train = _fits_train(ev, metric)
    tips = advice(verdict, ev, reasons, context, task=task, gan=gan, fits_train=fits_train)
    if unfinished:  # more epochs first; "keep this setup" would say the run is done
        tips = [longer_advice(context, epochs=ev["epochs"])] + [a for a in tips if a not in GOOD_FIT_ADVICE]
        if verdict == "unfinished" and (context or {}).get("early_stopping"):  # on: say what it does for the gap
            tips.append(f"Keep early stopping on (now train.patience={context.get('patience')}): the longer run "
                        "then keeps the weights of its best validation epoch should the gap start to cost validation loss.")
        elif verdict == "unfinished":  # the longer run keeps its best
            tips.append(WATCH_GAP_ADVICE)
    if nothing_tip and not const_tip:
        tips = [nothing_tip] + [a for a in tips if a not in GOOD_FIT_ADVICE]
    if const_tip:
        tips = [const_tip[0]] + [a for a in tips if a not in GOOD_FIT_ADVICE]
        # the constant is the best rival (_constant_rule said it, once), or a rival no better than the constant
        # either: "prefer the linear model" would recommend another model that learned nothing
        if as_well and (not rivals(task)[ev["baseline"]].fitted or not beats(ev["baseline_val_metric"],
                                                                              const_tip[1], higher_better)):
            as_well = None
    if as_well and task == "forecasting" and ev["baseline"] in ("naive", "seasonal_naive"):
        as_well = None  # _forecast_rules says it, with the forecasting remedies
    blunt = no_sharper(final, baselines, ev) if as_well and gan else None
    if blunt:  # the GAN's excuse for a worse L1 needs sharper images: without them the rival is a rival
        as_well = f"{as_well}; nor are the generated images sharper ({blunt}): the adversarial term has not paid off yet"
    elif as_well and gan:  # a GAN is trained away from the blurry average an L1 score rewards: not a rival then
        ahead = "better" if rival_ahead(ev, higher_better) > tie_limit(ev, higher_better) else "as well"
        reasons.append(f"{rivals(task)[ev['baseline']].words} does {ahead} by val {metric} ({ev['baseline_val_metric']:.4g} vs "
                       f"{ev['final_val_metric']:.4g}), as expected of a GAN: L1 rewards the blurry average of all "
                       "plausible outputs, which the discriminator pushes the generator away from; "
                       f"{gan_scores(final)}")
        as_well = None
    if as_well:
        reasons.append(as_well)
        # "keep this setup" would contradict "use the simpler model": drop the good-fit advice then
        line = baseline_advice(ev, context, task=task, gan=gan, verdict=verdict, higher_better=higher_better)
        tips = tips[:1] + [line] + tips[1:] if const_tip else [line] + [a for a in tips if a not in GOOD_FIT_ADVICE]
    if task == "forecasting":
        verdict, reasons, tips = _forecast_rules(verdict, ev, reasons, tips, baselines, metric, context)
    if gan:
        reasons.append(gan_note(history, task))
    if gan and any(a in GOOD_FIT_ADVICE for a in tips):  # level L1 curves say nothing of the images' quality
        tips = [gan_images_advice(final, baselines)] + [a for a in tips if a not in GOOD_FIT_ADVICE]
    if (rise := rising_train_loss(history, context, gan=gan)) and not any(a.startswith("Lower the") for a in tips):
        reasons.append(rise[0])  # beside the verdict: a too-high lr hides behind any curve shape
        tips = [rise[1]] + [a for a in tips if a not in GOOD_FIT_ADVICE and not a.startswith("Tune the learning rate")]
    if cut := cycle_cut_short(history, context):  # "keep this setup" would keep the cut-short cycle
        tips = [a for a in tips if a not in GOOD_FIT_ADVICE] + [cut]
    if not ev["has_validation"]:
        reasons.append("there is no validation data, so overfitting cannot be judged")
    if interrupted:  # the verdict is on the epochs trained so far, not on the run the user asked for
        reasons.insert(0, f"you interrupted training after epoch {ev['epochs']} of {context['epochs']}, so this "
                          "judges the epochs trained so far (continue with --resume)")
    return {"verdict": verdict, "evidence": ev, "reasons": reasons, "advice": tips}


def _constant_rule(verdict: str, ev: dict, reasons: list[str], baselines: dict | None, metric: str,
                   higher_better: bool, *, task: str, gan: bool,
                   as_well: str | None) -> tuple[str, list[str], tuple[str, float] | None]:
    """A network no better than its task's constant baseline on validation (the majority class, the training mean,
    the mean target image: idealfit.baselines.CONSTANTS) has learned nothing, so a "good fit" becomes underfitting,
    the same shape as the forecasting rule against the last value. Not for a GAN: L1 rewards the blurry mean image,
    which the discriminator pushes the generator away from. Returns (verdict, reasons, (advice line, the
    constant's validation score) or None when the rule does not fire)."""
    const = None
    if ev["has_validation"] and not gan:
        const = constant_does_as_well(ev, baselines, metric, higher_better, task=task)
    if const is None:
        return verdict, reasons, None
    verdict, reasons = _not_good_fit(verdict, reasons)
    # when the constant is also the best rival, its "does as well" line says it (once), in the rivals' words
    named = as_well is not None and not rivals(task)[ev["baseline"]].fitted
    return verdict, reasons + [as_well if named else const[0]], const[1:]


def _not_good_fit(verdict: str, reasons: list[str]) -> tuple[str, list[str]]:
    """A "good fit" turned into underfitting, without its "training has levelled off" reason, for a network no
    better than a baseline that involves no learning (_constant_rule, _forecast_rules); another verdict as is."""
    if verdict != "good fit":
        return verdict, reasons
    return "underfitting", [r for r in reasons if not r.startswith("training has levelled off")]


def _forecast_rules(verdict: str, ev: dict, reasons: list[str], tips: list[str], baselines: dict | None,
                    metric: str, context: dict | None) -> tuple[str, list[str], list[str]]:
    """The forecasting rules (idealfit.diagnose_forecast) on top of the curves' verdict. Forecasts far worse than
    the last value, or simply no better than it, on validation are never a good fit: the verdict becomes
    underfitting (the network has not learned what copying the last value gives), whatever the curves show."""
    from idealfit.diagnose_forecast import far_worse_than_naive, no_better_than_naive, trend_beyond_training

    far = far_worse_than_naive(ev, baselines, metric, context)
    # far worse implies no better: one reason, the stronger one
    naive = None if far else no_better_than_naive(ev, baselines, metric, context)
    if (far or naive) and verdict == "good fit":
        verdict, reasons = _not_good_fit(verdict, reasons)
        tips = [a for a in tips if a not in GOOD_FIT_ADVICE]
    for rule in (trend_beyond_training(context), far, naive):
        if rule:
            reasons.append(rule[0])
            tips = [rule[1]] + [a for a in tips if a != rule[1]]
    return verdict, reasons, tips


_HEADLINES = {
    "overfitting": "This run overfits",
    "unfinished": "This run is not finished",
    "underfitting": "This run underfits",
    "good fit": "This run fits well",
}


def format_diagnosis(d: dict[str, Any]) -> str:
    """A few plain-English lines for the terminal: the verdict with its evidence, then what to try."""
    lines = [f"{_HEADLINES[d['verdict']]}: {'; '.join(d['reasons'])}."]
    lines.append("Try:" if d["verdict"] != "good fit" else "Next:")
    lines += [f"  - {a}" for a in d["advice"]]
    return "\n".join(lines)
