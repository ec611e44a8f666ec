"""Datasets that need no download: shipped with scikit-learn, or generated on this machine.

`idealfit datasets` lists them. Each loader is deterministic.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from idealfit.data.base import Dataset
from idealfit.run_files import atomic_write, npz_bytes


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    # Read once per process (20 ms): a run loads them for training and again for its report's examples.
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32)[:, None], d.target.astype(np.int64)  # (N, 1, 8, 8); pixels 0..16


def load_digits_data() -> Dataset:
    """scikit-learn's 8×8 handwritten digits: 1797 images (N, 1, 8, 8) in [0, 1], 10 classes."""
    x, y = _digits_arrays()  # copies (0.1 ms): no caller can change what the next one gets
    return Dataset("digits", x.copy(), y.copy(), "classification", "image", class_names=[str(c) for c in range(10)])


# The deck's 5×5 images of ±1 pixels (light = -1, dark = +1): an X and an O.
X_PATTERN = np.array([[1 if i == j or i + j == 4 else -1 for j in range(5)] for i in range(5)], np.float32)
O_PATTERN = np.array([[1 if (i in (0, 4) and 0 < j < 4) or (j in (0, 4) and 0 < i < 4) else -1
                       for j in range(5)] for i in range(5)], np.float32)


def make_xo(n: int = 600, *, seed: int = 0) -> Dataset:
    """X and O patterns with small deformations: a one-pixel shift and up to two flipped pixels.

    Pixels stay ±1 as in the deck (not rescaled to [0, 1]). Half X (class 0), half O (class 1).
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    base = np.stack([X_PATTERN, O_PATTERN])[y]  # (N, 5, 5)
    x = np.full((n, 7, 7), -1.0, np.float32)  # pad by one so a shift keeps the pattern whole
    x[:, 1:6, 1:6] = base
    dy, dx = rng.integers(-1, 2, size=(2, n))
    rows = (np.arange(5)[None, :] + 1 - dy[:, None])[:, :, None]  # (N, 5, 1)
    cols = (np.arange(5)[None, :] + 1 - dx[:, None])[:, None, :]  # (N, 1, 5)
    x = x[np.arange(n)[:, None, None], rows, cols]  # (N, 5, 5) shifted view
    flips = rng.integers(0, 3, size=n)  # 0, 1 or 2 flipped pixels per image
    for k in (1, 2):
        idx = np.nonzero(flips >= k)[0]
        pix = rng.integers(0, 25, size=len(idx))
        x.reshape(n, 25)[idx, pix] *= -1
    # pixel_range: an image file read as [0, 1] at predict time is mapped to the deck's [-1, 1]
    return Dataset("xo", x[:, None].astype(np.float32), y.astype(np.int64), "classification", "image",
                   class_names=["X", "O"], meta={"pixel_range": [-1.0, 1.0]})


def load_diabetes_data() -> Dataset:
    """scikit-learn's diabetes table: 442 patients, 10 features, disease progression (regression)."""
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    return Dataset("diabetes", d.data.astype(object), d.target.astype(np.float32), "regression", "table",
                   columns=list(d.feature_names))


def _cache_dir() -> Path:
    root = os.environ.get("IDEALFIT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "idealfit")
    return Path(root)


def load_mnist1d_data() -> Dataset:
    """MNIST-1D (Greydanus): 5000 signals of length 40, 10 classes, its standard 4000/1000 split.

    Generated offline with the `mnist1d` package's `make_dataset` (never its download path) and cached
    as .npz, because generation takes seconds and the arrays are small.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args(as_dict=True)
    args.pop("url")
    key = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:12]
    path = _cache_dir() / f"mnist1d-{key}.npz"
    try:
        with np.load(path) as f:
            x, y, n_train = f["x"], f["y"], int(f["n_train"])
    except (OSError, KeyError, ValueError):
        d = make_dataset(get_dataset_args())
        x = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
        y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
        n_train = len(d["y"])
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, npz_bytes(x=x, y=y, n_train=n_train))  # no half-written cache
    return Dataset("mnist1d", x[:, None, :], y, "classification", "signal",
                   class_names=[str(i) for i in range(10)], fixed_test=np.arange(n_train, len(y)))


def _labels2shapes() -> Dataset:
    from idealfit.data.pairs import make_labels2shapes

    return make_labels2shapes()


def _edges2shapes() -> Dataset:
    from idealfit.data.pairs import make_edges2shapes

    return make_edges2shapes()


def _shapes() -> Dataset:
    from idealfit.data.shapes import load_shapes_data  # imported here: shapes imports this module's cache dir

    return load_shapes_data()


def _words() -> Dataset:
    from idealfit.data.words import load_words_data

    return load_words_data()


EMBEDDED: dict[str, tuple[Callable[[], Dataset], str]] = {
    "digits": (load_digits_data, "8×8 handwritten digits, 1797 images, 10 classes (scikit-learn)"),
    "xo": (make_xo, "the deck's 5×5 X and O images of ±1 pixels, deformed, 600 images, 2 classes (generated)"),
    "diabetes": (load_diabetes_data, "diabetes progression, 442 rows × 10 features, regression (scikit-learn)"),
    "mnist1d": (load_mnist1d_data, "MNIST-1D signals of length 40, 4000 train + 1000 test, 10 classes (generated)"),
    "shapes": (_shapes, "64×64 RGB circles, rectangles and triangles on textured backgrounds with a class per "
               "pixel, 3000 images, segmentation (generated)"),
    "labels2shapes": (_labels2shapes, "colour-coded label maps -> the textured shapes they label, 64×64, 2000 pairs, "
                      "translation (generated)"),
    "edges2shapes": (_edges2shapes, "edge maps -> the filled, textured shapes, 64×64, 2000 pairs, translation (generated)"),
    # time series (forecasting), the CSVs statsmodels ships; loaded with data.window / data.horizon (data/series.py)
    "sunspots": (lambda: _series("sunspots"), "yearly sunspot numbers 1700-2008, 309 steps, forecasting (statsmodels)"),
    "sunspots_monthly": (lambda: _series("sunspots_monthly"), "monthly sunspot numbers 1749-2009, 3126 steps, "
                         "forecasting (statsmodels)"),
    "co2": (lambda: _series("co2"), "weekly CO2 at Mauna Loa 1958-2001, 2284 steps with gaps, forecasting (statsmodels)"),
    "elnino": (lambda: _series("elnino"), "monthly El Niño sea surface temperature 1950-2010, 732 steps, forecasting "
               "(statsmodels)"),
    # text: which language is this word? (data/words.py)
    "words": (_words, "which language is this word? 8 languages' frequent words, about 30,000, text (wordfreq)"),
    # audio: "zero" .. "nine" from 120 synthetic voices, split by voice (data/spoken_digits.py)
    "spoken_digits": (lambda: _spoken(noisy=False), "\"zero\"..\"nine\" spoken by 120 eSpeak NG voices, 2400 clips "
                      "of 1 s at 8 kHz, split by voice, audio (generated)"),
    "spoken_digits_noisy": (lambda: _spoken(noisy=True), "spoken_digits with white noise at 5-20 dB SNR, audio "
                            "(generated)"),
}


def _spoken(*, noisy: bool) -> Dataset:
    from idealfit.data.spoken_digits import load_spoken_digits

    return load_spoken_digits(noisy=noisy)


def _series(name: str) -> Dataset:
    from idealfit.config import DataConfig
    from idealfit.data.series import embedded_series

    d = DataConfig()
    return embedded_series(name, window=d.window, horizon=d.horizon, season=d.season)
