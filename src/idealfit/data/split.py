"""Train / validation / test splits by seed: stratified for classes, by time for series, by group for voices;
and the warning for a class too small to appear in every split."""

from __future__ import annotations

from typing import Any

import numpy as np

from idealfit.data.base import Dataset
from idealfit.errors import UserError
from idealfit.tasks import get_task

SPLITS = ("train", "val", "test")


def split_indices(ds: Dataset, *, val_fraction: float, test_fraction: float, seed: int) -> dict[str, Any]:
    """Deterministic train/val/test indices from the seed, stratified for classification: a class of a single
    example goes to train and the others stay stratified; where sklearn cannot stratify at all (a split smaller
    than the number of classes) the split is random, but every class keeps an example in train.

    A dataset with its own standard test split (mnist1d) keeps it; validation comes out of its train part.
    A time series is split by time (data.series.chronological_split), never shuffled.
    """
    if ds.kind == "series":
        from idealfit.data.series import chronological_split

        return chronological_split(ds, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    if ds.groups is not None:
        return group_split(ds, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    cutter = _Cutter(ds.y if get_task(ds.task).stratify else None, seed,
                     UserError(f"{ds.name} has {len(ds)} samples, too few for a train/validation/test split; add data"))
    if ds.fixed_test is not None:
        test = np.sort(ds.fixed_test)
        rest = np.setdiff1d(np.arange(len(ds)), test)
    else:
        rest, test = cutter.cut(np.arange(len(ds)), test_fraction, 0)
    train, val = cutter.cut(rest, val_fraction / (1 - test_fraction), 1)
    if len(train) == 0 or len(val) == 0 or len(test) == 0:
        raise cutter.too_few
    return {"train": train, "val": val, "test": test, "stratified": cutter.stratified, "seed": seed}


class _Cutter:
    """Cuts index arrays in two by sklearn's train_test_split, stratified by `strat` (None: not) while it can be."""

    def __init__(self, strat: np.ndarray | None, seed: int, too_few: UserError):
        self.strat, self.seed, self.too_few = strat, seed, too_few
        self.stratified = strat is not None  # False once any cut could not be stratified: recorded in split.npz

    def cut(self, ids: np.ndarray, frac: float, salt: int) -> tuple[np.ndarray, np.ndarray]:
        """(the kept part, the `frac` cut off), each sorted."""
        from sklearn.model_selection import train_test_split

        if not self.stratified:
            return self.plain(ids, frac, salt)
        # sklearn cannot stratify a class of one example; rather than give up stratifying every class (a
        # 16-example class could then miss validation), such an example stays on the training side of the cut
        strat = self.strat
        values, counts = np.unique(strat[ids], return_counts=True)
        single = np.isin(strat[ids], values[counts < 2])
        try:
            a, b = train_test_split(ids[~single], test_size=frac, random_state=self.seed + salt,
                                    stratify=strat[ids[~single]])
        except ValueError:  # a part smaller than the number of classes: fall back for all, and record it
            self.stratified = False
            return self.plain(ids, frac, salt)
        return np.sort(np.concatenate([a, ids[single]])), np.sort(b)

    def plain(self, ids: np.ndarray, frac: float, salt: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.model_selection import train_test_split

        try:
            a, b = train_test_split(ids, test_size=frac, random_state=self.seed + salt)
        except ValueError:  # too few samples to cut at all
            raise self.too_few from None
        if self.strat is not None:  # unstratified, every class still keeps an example on the training side
            strat = self.strat
            lost = [b[strat[b] == v][0] for v in np.setdiff1d(strat[b], strat[a])]
            if len(lost) < len(b):  # (a split it would empty is refused later, saying how many samples it has)
                a, b = np.concatenate([a, np.array(lost, ids.dtype)]), np.setdiff1d(b, lost)
        return np.sort(a), np.sort(b)


def small_class_note(ds: Dataset, indices: dict[str, Any]) -> str | None:
    """One warning line when a class has no example in some split (its metrics there are then missing: the
    report leaves it out of the macro average), else None. A class is called too small only when its share of
    that split would be under one example; a bigger class missing a split was left out by an unstratified split."""
    if not get_task(ds.task).stratify or ds.class_names is None or ds.kind == "series":
        return None
    y = np.asarray(ds.y)
    small, unlucky = [], []
    for c, name in enumerate(ds.class_names):
        n = int(np.sum(y == c))
        missing = [s for s in SPLITS if not np.any(y[indices[s]] == c)]
        if missing:
            # a stratified split leaves a class out only for its small share; an unstratified one, by chance
            tiny = indices.get("stratified", True) or any(n * len(indices[s]) < len(y) for s in missing)
            (small if tiny else unlucky).append(f"'{name}' ({n} example{'s' * (n != 1)}, none in {' or '.join(missing)})")
    lines = []
    if small:
        one = len(small) == 1
        lines.append(f"{'class' if one else 'classes'} {', '.join(small)} {'is' if one else 'are'} too small to appear "
                     f"in every split: {'its' if one else 'their'} scores there are missing (the report leaves "
                     f"{'it' if one else 'them'} out of the macro average); add examples, or merge or drop the class")
    if unlucky:
        lines.append(f"the split could not be stratified (a split holds fewer examples than there are classes), so "
                     f"{', '.join(unlucky)} missed a split by chance; raise data.val_fraction and data.test_fraction "
                     "or add examples")
    return "warning: " + "; ".join(lines) if lines else None


def group_split(ds: Dataset, *, val_fraction: float, test_fraction: float, seed: int) -> dict[str, Any]:
    """Whole groups (spoken_digits: voices) to each split, so no voice is heard in training and tested on.

    The groups are shuffled with the seed and cut by the fractions of groups (at least one group each).
    """
    groups = np.unique(ds.groups)
    if len(groups) < 3:
        raise UserError(f"{ds.name} has {len(groups)} groups (voices), too few to keep each in one of train, "
                        "validation and test; add data")
    order = np.random.default_rng(seed).permutation(groups)
    n_test = min(max(1, round(test_fraction * len(groups))), len(groups) - 2)
    n_val = min(max(1, round(val_fraction * len(groups))), len(groups) - n_test - 1)
    parts = {"test": order[:n_test], "val": order[n_test: n_test + n_val], "train": order[n_test + n_val:]}
    out: dict[str, Any] = {s: np.flatnonzero(np.isin(ds.groups, parts[s])) for s in SPLITS}
    return {**out, "stratified": False, "grouped": True, "seed": seed}
