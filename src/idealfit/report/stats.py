"""The numbers behind the report's tables: per-class scores, ROC, confidence intervals, worst mistakes.

Plain numpy on purpose: the report is built at the end of every `idealfit.train`, and these take
microseconds on a test split; the tests check them against scikit-learn and hand computations.

Example:
    >>> wilson_interval(90, 100)   # 95% interval for 90 correct out of 100
    (0.8256..., 0.9447...)
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: a two-sided 95% interval
BOOTSTRAP_RESAMPLES = 1000  # resamples of the test split for the RMSE interval
BOOTSTRAP_SEED = 0  # fixed, so rebuilding a report gives the same interval


def wilson_interval(successes: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927); stays inside [0, 1] even at 0 or n successes.

    centre = (p + z²/2n) / (1 + z²/n),  half width = z / (1 + z²/n) · sqrt(p(1 − p)/n + z²/4n²).

    Args:
        successes: e.g. correctly classified test samples. n: trials (> 0).
        z: the normal quantile (default Z95: a 95% interval).
    """
    if n <= 0:
        raise ValueError("wilson_interval needs n > 0")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_rmse_interval(y_true, y_pred, *, resamples: int = BOOTSTRAP_RESAMPLES,
                            seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the RMSE: resample (y_true, y_pred) pairs with replacement.

    Args:
        y_true, y_pred: (N,) targets and predictions, N > 0.
        resamples: bootstrap resamples (default 1000). seed: the generator's seed (default 0).
    """
    sq = (np.asarray(y_pred, dtype=float).ravel() - np.asarray(y_true, dtype=float).ravel()) ** 2  # (N,)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, sq.size, size=(resamples, sq.size))  # (R, N)
    rmse = np.sqrt(sq[idx].mean(axis=1))  # (R,)
    lo, hi = np.percentile(rmse, [2.5, 97.5])
    return float(lo), float(hi)


def per_class_scores(y_true, y_pred, n_classes: int) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class, as scikit-learn's precision_recall_fscore_support
    (zero_division=0: a class never predicted has precision 0).

    Returns:
        {"precision", "recall", "f1": (K,) float, "support": (K,) int}.
    """
    y_true, y_pred = np.asarray(y_true).astype(np.int64).ravel(), np.asarray(y_pred).astype(np.int64).ravel()
    tp = np.bincount(y_true[y_true == y_pred], minlength=n_classes)[:n_classes].astype(float)
    predicted = np.bincount(y_pred, minlength=n_classes)[:n_classes].astype(float)
    support = np.bincount(y_true, minlength=n_classes)[:n_classes]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def roc_curve_points(y_true, score) -> tuple[np.ndarray, np.ndarray, float]:
    """ROC curve and its area for a two-class problem.

    Args:
        y_true: (N,) 0/1 labels, both present. score: (N,) the predicted probability of class 1.

    Returns:
        (false positive rates, true positive rates, AUC): the curve starts at (0, 0) and has one
        point per distinct score; the AUC is the trapezoid area, equal to roc_auc_score's.
    """
    y = np.asarray(y_true).ravel() == 1
    s = np.asarray(score, dtype=float).ravel()
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]  # the last sample of each run of equal scores
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    fpr = np.r_[0.0, fps / max(fps[-1], 1)]
    tpr = np.r_[0.0, tps / max(tps[-1], 1)]
    return fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def confident_mistakes(y_true, y_pred, proba, *, limit: int = 8) -> np.ndarray:
    """Positions (into the test split) of the wrong predictions made with the highest probability.

    Args:
        y_true, y_pred: (N,) class indices. proba: (N, K) class probabilities. limit: most returned (default 8).

    Returns:
        (M,) int positions, M <= limit, most confident first; ties keep test-split order.
    """
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    wrong = np.flatnonzero(y_true != y_pred)
    confidence = np.asarray(proba)[wrong, y_pred[wrong]]  # the probability given to the wrong class
    return wrong[np.argsort(-confidence, kind="mergesort")[:limit]]


def per_image_counts(y_true, y_pred, n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image and class: true pixels, predicted pixels and their intersection, each (N, K).

    Args:
        y_true, y_pred: (N, H, W) class masks.
    """
    t, p = np.asarray(y_true).astype(np.int64), np.asarray(y_pred).astype(np.int64)
    n, k = t.shape[0], n_classes
    img = np.repeat(np.arange(n), t[0].size).reshape(t.shape)  # each pixel's image, (N, H, W)

    def count(labels: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        keys = (img * k + labels) if where is None else (img[where] * k + labels[where])
        return np.bincount(keys.ravel(), minlength=n * k).reshape(n, k)

    return count(t), count(p), count(t, t == p)


def bootstrap_dice_interval(y_true, y_pred, n_classes: int, *, resamples: int = BOOTSTRAP_RESAMPLES,
                            seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the Dice (mean over foreground classes): resample test
    images with replacement and recompute it from their summed pixel counts (images, not pixels, are
    the independent samples)."""
    t, p, i = per_image_counts(y_true, y_pred, n_classes)
    rng = np.random.default_rng(seed)
    w = np.stack([np.bincount(rng.integers(0, len(t), len(t)), minlength=len(t)) for _ in range(resamples)])  # (R, N)
    tt, pp, ii = w @ t, w @ p, w @ i  # (R, K) summed counts per resample
    with np.errstate(invalid="ignore", divide="ignore"):
        dice = np.where(tt + pp > 0, 2 * ii / (tt + pp), np.nan)[:, 1:]
    lo, hi = np.nanpercentile(np.nanmean(dice, axis=1), [2.5, 97.5])
    return float(lo), float(hi)


def bootstrap_mean_interval(values, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the mean of `values` (N,), e.g. per-sample errors."""
    v = np.asarray(values, dtype=float).ravel()
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(resamples, v.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)
