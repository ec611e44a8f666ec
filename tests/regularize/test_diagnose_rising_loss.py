"""A training loss that rises (newcomer 7, R6): the diagnosis names it and puts "lower the learning rate" first.
The history is the newcomer's best tuned trial (cancer.csv, lr 0.0744 at the top of its range), as recorded."""

from idealfit.diagnose import diagnose

TRIAL_12 = [(1, 0.0743714, 0.0875435, 0.972292, 0.0211865, 1.0), (2, 0.0583096, 0.141947, 0.964736, 0.0215397, 1.0),
            (3, 0.0212445, 0.346713, 0.962217, 0.0203444, 0.988372), (4, 0.000120582, 0.136666, 0.962217, 0.00557133, 1.0)]


def _history(rows):
    keys = ("epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def test_a_rising_training_loss_is_named_with_lower_lr_first():
    d = diagnose(_history(TRIAL_12), task="classification", metric="accuracy", context={"lr": 0.0743714, "epochs": 4})
    rise = [r for r in d["reasons"] if r.startswith("the training loss rose")]
    assert rise == ["the training loss rose 56% from epoch 1 (0.08754) to epoch 4 (0.1367), peaking at 0.3467 at "
                    "epoch 3: the usual sign of a learning rate too high, whose steps overshoot"]
    assert d["advice"][0].startswith("Lower the learning rate (now train.lr=0.0743714)")
    assert not any(a.startswith("Tune the learning rate") for a in d["advice"])  # not "try 3x larger" too


def test_a_falling_or_noisy_training_loss_gets_no_such_line():
    falling = [(e, 1e-3, loss, 0.9, loss, 0.9) for e, loss in enumerate([0.5, 0.3, 0.25, 0.24], 1)]
    noisy = [(e, 1e-3, loss, 0.9, loss, 0.9) for e, loss in enumerate([0.30, 0.25, 0.33, 0.35], 1)]  # +17%: noise
    for rows in (falling, noisy):
        d = diagnose(_history(rows), task="classification", metric="accuracy", context={"lr": 1e-3})
        assert not any("training loss rose" in r for r in d["reasons"])
