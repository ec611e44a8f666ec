"""Text: tokenization, the vocabulary (fitted on the training split only), padded ids, the CSV text column."""

import numpy as np
import pytest

from idealfit.config import DataConfig
from idealfit.data.base import Dataset
from idealfit.data.prepare import prepare, transform_inputs
from idealfit.data.text import PAD_ID, UNK_ID, Vocabulary, looks_like_text
from idealfit.errors import UserError


def _texts(*items):
    x = np.empty(len(items), dtype=object)
    x[:] = list(items)
    return x


def _dataset():
    x = _texts("abc", "abd", "ab", "zzz", "ba", "q", "aq", "bb", "xyz")
    return Dataset("t", x, np.array([0, 1, 0, 1, 0, 1, 0, 1, 0]), "classification", "text", class_names=["a", "b"])


IDX = {"train": np.array([0, 1, 2, 4, 7]), "val": np.array([5, 6]), "test": np.array([3, 8])}


def test_vocabulary_comes_from_the_training_split_only():
    prep = prepare(_dataset(), dict(IDX), cfg=DataConfig())
    itos = prep.state["text"]["itos"]
    # training texts abc abd ab ba bb: b x6, a x4, c x1, d x1 (ties alphabetically), after <pad> and <unk>
    assert itos == ["<pad>", "<unk>", "b", "a", "c", "d"]
    assert not {"z", "q", "x", "y"} & set(itos)  # only in validation and test
    # test: "zzz" and "xyz" are all unknown; padded to the split's longest text
    assert prep.x["test"].tolist() == [[UNK_ID] * 3, [UNK_ID] * 3]
    assert prep.x["val"].tolist() == [[UNK_ID, PAD_ID], [3, UNK_ID]]  # "q", "aq"
    assert prep.x["train"].dtype == np.int64 and prep.state["input_shape"] == [3]
    assert prep.state["norm"] == {"vocab_size": 6, "pad_id": PAD_ID}
    # a saved run applies the same vocabulary to new text
    assert transform_inputs(prep.state, _texts("bad", "ABC!")).tolist() == [[2, 3, 5, 0], [3, 2, 4, UNK_ID]]


def test_min_freq_max_vocab_and_max_length_are_applied():
    prep = prepare(_dataset(), dict(IDX), cfg=DataConfig(min_freq=2))
    assert prep.state["text"]["itos"] == ["<pad>", "<unk>", "b", "a"]
    prep = prepare(_dataset(), dict(IDX), cfg=DataConfig(max_vocab=1))
    assert prep.state["text"]["itos"] == ["<pad>", "<unk>", "b"]
    prep = prepare(_dataset(), dict(IDX), cfg=DataConfig(max_length=2))
    assert prep.x["train"].shape == (5, 2) and prep.x["train"][0].tolist() == [3, 2]  # "abc" cut to "ab"


def test_word_tokens_split_words_and_punctuation():
    v = Vocabulary(tokens="word").fit(["The cat, the dog.", "a cat"])
    assert v.itos_[2:] == ["cat", "the", ",", ".", "a", "dog"]
    assert v.encode(["the bird!"]).tolist() == [[3, UNK_ID, UNK_ID]]
    assert Vocabulary(tokens="char").fit(["ab"]).tokenize("A b") == ["a", " ", "b"]


def test_vocabulary_round_trips_through_json():
    import json

    v = Vocabulary(tokens="word", min_freq=1, max_size=3).fit(["x y z z"])
    w = Vocabulary.from_dict(json.loads(json.dumps(v.to_dict())))
    assert w.itos_ == v.itos_ and w.encode(["z q x"]).tolist() == v.encode(["z q x"]).tolist()


def test_a_missing_cell_is_an_empty_text_a_row_of_padding():
    prep = prepare(_dataset(), dict(IDX), cfg=DataConfig())
    got = transform_inputs(prep.state, _texts("ab", float("nan"), None, ""))
    assert got.tolist() == [[3, 2], [PAD_ID, PAD_ID], [PAD_ID, PAD_ID], [PAD_ID, PAD_ID]]


def test_text_options_on_other_data_are_refused():
    from idealfit.data.embedded import load_digits_data
    from idealfit.data.split import split_indices

    ds = load_digits_data()
    idx = split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=0)
    with pytest.raises(UserError, match="data.tokens works on text"):
        prepare(ds, idx, cfg=DataConfig(tokens="word"))


def test_free_text_is_told_from_categories():
    assert looks_like_text(_texts(*(f"a sentence of several words, number {i}" for i in range(10))))
    assert not looks_like_text(_texts(*(["red", "green", "blue"] * 4)))  # categories: short and repeated
    assert not looks_like_text(np.arange(10.0))


def test_words_dataset_has_eight_languages_and_no_shared_word(tmp_path, monkeypatch):
    from idealfit.data.embedded import EMBEDDED
    from idealfit.data.words import LANGUAGES

    monkeypatch.setenv("IDEALFIT_CACHE", str(tmp_path))
    ds = EMBEDDED["words"][0]()
    assert ds.kind == "text" and ds.num_classes == len(LANGUAGES) == 8
    words = ds.x.tolist()
    assert len(set(words)) == len(words)  # a word of several languages was removed from all of them
    assert all(w == w.lower() and w.isalpha() for w in words)
    counts = np.bincount(ds.y)
    assert counts.min() > 2000 and counts.max() < 5000  # a few thousand per language
    assert list(tmp_path.glob("words-*.npz"))  # cached, and read back the same
    again = EMBEDDED["words"][0]()
    assert again.x.tolist() == words and np.array_equal(again.y, ds.y)


def test_embed_dim_is_refused_where_no_text_is_read():
    from idealfit.config import resolve
    from idealfit.config_checks import check_run_options
    from idealfit.tasks import get_task

    signal = Dataset("s", np.zeros((10, 1, 5), np.float32), np.arange(10) % 2, "classification", "signal",
                     class_names=["0", "1"])
    cfg = resolve(overrides={"model.name": "rnn", "model.embed_dim": "8"})
    with pytest.raises(UserError, match="model.embed_dim sizes the token embedding of text runs"):
        check_run_options(cfg, signal, task=get_task("classification"))
    check_run_options(cfg, _dataset(), task=get_task("classification"))  # text: no error


def test_text_baselines_are_majority_and_a_char_ngram_naive_bayes():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    from idealfit.baselines import best_baseline, fit_baselines

    rng = np.random.default_rng(0)
    words = [["".join(rng.choice(list(letters), size=rng.integers(3, 8))) for _ in range(60)]
             for letters in ("aeiou", "aeklmn", "uvwxyz")]
    x, y = _texts(*sum(words, [])), np.repeat(np.arange(3), 60)
    ds = Dataset("w", x, y, "classification", "text", class_names=["a", "b", "c"])
    idx = {"train": np.arange(0, 180, 2), "val": np.arange(1, 180, 4), "test": np.arange(3, 180, 4)}
    b = fit_baselines(prepare(ds, idx, cfg=DataConfig()), seed=0)
    assert set(b) == {"majority", "naive_bayes"}
    vec = CountVectorizer(analyzer="char_wb", ngram_range=(1, 3))
    nb = MultinomialNB().fit(vec.fit_transform(x[idx["train"]]), y[idx["train"]])
    for s in ("train", "val", "test"):
        want = float((nb.predict(vec.transform(x[idx[s]])) == y[idx[s]]).mean())
        assert b["naive_bayes"][s]["accuracy"] == pytest.approx(want)
    assert best_baseline(b, "accuracy", higher_better=True, task="classification")[0] == "naive_bayes"
