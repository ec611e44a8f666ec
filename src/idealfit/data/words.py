"""The embedded dataset `words`: which language is this word?

Built offline from the word-frequency lists that the `wordfreq` package ships inside itself (no download):
the TOP_N most frequent words of each of 8 languages, lowercased, letters only and at least 2 of them;
a word in the lists of several languages is removed from all of them (it has no single answer). Shuffled
with a fixed seed and cached as .npz in IDEALFIT_CACHE, like mnist1d. This is the exercise the PyTorch
char-RNN tutorial suggests ("any word -> language"), with a number attached: a character 1-3-gram naive
Bayes reached 83.6% on a comparable 8-language task, and every text run trains one as its baseline.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from idealfit.data.base import Dataset

LANGUAGES = ("de", "en", "es", "fr", "it", "nl", "pt", "sv")  # class ids in this order
NAMES = {"de": "German", "en": "English", "es": "Spanish", "fr": "French", "it": "Italian", "nl": "Dutch",
         "pt": "Portuguese", "sv": "Swedish"}
TOP_N = 5000  # words taken per language, before the shared ones are removed (about 4,000 are left of each)
SEED = 0


def build_words(top_n: int = TOP_N, *, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """(words (N,) str, language ids (N,) int64), shuffled with `seed`."""
    from wordfreq import top_n_list

    lists = {lang: [w for w in dict.fromkeys(x.lower() for x in top_n_list(lang, top_n))
                    if w.isalpha() and len(w) >= 2] for lang in LANGUAGES}
    seen: dict[str, int] = {}
    for words in lists.values():
        for w in words:
            seen[w] = seen.get(w, 0) + 1
    words, ids = [], []
    for i, lang in enumerate(LANGUAGES):
        kept = [w for w in lists[lang] if seen[w] == 1]
        words += kept
        ids += [i] * len(kept)
    order = np.random.default_rng(seed).permutation(len(words))
    return np.array(words, dtype=str)[order], np.array(ids, np.int64)[order]


def load_words_data() -> Dataset:
    """8 languages' frequent words (x: (N,) object array of str), one class per language."""
    from importlib.metadata import version

    from idealfit.data.embedded import _cache_dir
    from idealfit.run_files import atomic_write, npz_bytes

    spec = {"top_n": TOP_N, "seed": SEED, "languages": LANGUAGES, "wordfreq": version("wordfreq")}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    path = _cache_dir() / f"words-{key}.npz"
    try:
        with np.load(path) as f:
            words, y = f["words"], f["y"]
    except (OSError, KeyError, ValueError):
        words, y = build_words()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, npz_bytes(words=words, y=y))  # no half-written cache
    x = np.empty(len(words), dtype=object)
    x[:] = words.tolist()
    return Dataset("words", x, y, "classification", "text", class_names=[NAMES[c] for c in LANGUAGES],
                   columns=["word"], meta={"embedded": "wordfreq", "text_column": "word"})
