"""Plain names for the diagnosis evidence, so a learner can read the table without the source.

summary.json keeps the short keys (other tools read them); only the report shows these words.

Example:
    >>> describe("val_loss_rise_discarded")[0]
    'Validation loss rise after the kept epoch, relative — discarded by early stopping'
"""

from __future__ import annotations

# key -> (plain name, one line on what it means). Relative values (RELATIVE) are fractions in summary.json
# (0.1 = 10%), shown as percentages in the report.
EVIDENCE: dict[str, tuple[str, str]] = {
    "epochs": ("Epochs trained", "how many passes over the training data the run made"),
    "has_validation": ("Validation split used", "whether a held-out split was watched during training"),
    "final_train_loss": ("Final training loss, during training (train mode)",
                         "the last epoch's mean loss over its training steps, with dropout and augmentation on where "
                         "the run uses them and while the weights still changed; the Results table's training loss "
                         "is the kept weights, evaluated (eval mode, after training), so it differs"),
    "best_train_loss": ("Lowest training loss, during training (train mode)",
                        "the lowest such epoch mean the model reached on its own training data"),
    "train_loss_drop": ("Training loss drop, relative", "the share of the first epoch's training loss removed by the end"),
    "recent_train_drop": ("Recent training-loss drop per epoch, relative",
                          "how fast training loss was still falling over the last 3 epochs (3% = 3% per epoch)"),
    "final_train_metric": ("Final training score, kept weights, evaluated",
                           "the headline metric on the training data, with the kept weights (as the Results table)"),
    "final_val_metric": ("Final validation score, kept weights, evaluated",
                         "the headline metric on the validation data, with the kept weights (as the Results table)"),
    "final_metrics_from": ("Final scores measured on", "which weights and mode the two scores above come from"),
    "final_val_loss": ("Final validation loss, last epoch",
                       "the loss on the validation data after the last epoch, which may come after the kept one"),
    "best_val_loss": ("Lowest validation loss", "the best loss on data the model never trained on"),
    "best_val_epoch": ("Epoch of lowest validation loss", "when the model generalised best"),
    "val_loss_rise": ("Validation loss rise", "how much validation loss rose above its lowest value"),
    "val_loss_rise_rel": ("Validation loss rise, relative",
                          "that rise as a share of the lowest validation loss (10% = 10% worse)"),
    "val_loss_rise_discarded": ("Validation loss rise after the kept epoch, relative — discarded by early stopping",
                                "how much worse validation got after the weights we kept (10% = 10% worse)"),
    "kept_epoch": ("Kept epoch", "the epoch whose weights the run kept (early stopping restores them)"),
    "loss_gap": ("Loss gap (validation − training)", "how much worse the model does on unseen data than on its own"),
    "train_loss_change_since_best_val": ("Training loss change since the best validation epoch",
                                         "negative: training kept improving while validation did not"),
    "val_still_improving": ("Validation still improving", "whether validation loss was still falling at the end"),
    "recent_val_drop": ("Recent validation-loss drop per epoch, relative",
                        "how fast validation loss was still falling over the last 3 epochs"),
    "metric_gap": ("Score gap (training vs validation)",
                   "how much better the headline metric is on training data than on validation data"),
    "metric_ratio": ("Error ratio (validation / training)",
                     "validation error divided by training error; 1 means the model does as well on new data"),
    "val_samples": ("Validation samples", "how many samples the validation scores rest on (a gap of fewer than "
                    "two of them is not called overfitting)"),
    "baseline": ("Better baseline", "the simple model that scored best on validation (a scikit-learn model, "
                 "the majority class, the input itself, PCA or the mean image: see Baselines)"),
    "baseline_train_metric": ("Baseline's training score", "the headline metric of that baseline on the training data"),
    "baseline_val_metric": ("Baseline's validation score", "the headline metric of that baseline on the validation data"),
}


RELATIVE = frozenset({"train_loss_drop", "recent_train_drop", "val_loss_rise_rel", "val_loss_rise_discarded",
                      "recent_val_drop"})


def describe(key: str) -> tuple[str, str]:
    """(plain name, meaning) for an evidence key; an unknown key becomes "Its words" and no meaning."""
    if key in EVIDENCE:
        return EVIDENCE[key]
    words = str(key).replace("_", " ").strip()
    return (words[:1].upper() + words[1:], "")
