"""A WAV folder of clips much shorter than data.clip_seconds (the newcomer's tone / chirp / noise folder, in
small): the silence padding is not learned from, so the classes are learned, and predict agrees on clips of
other lengths and sample rates."""

import csv
import json

import numpy as np
import pytest
from scipy.io import wavfile
from scipy.signal import chirp

from idealfit.cli import main

RATES = (8000, 16000, 22050)


def _sound(cls: str, rate: int, seconds: float, rng) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    if cls == "tone":
        y = np.sin(2 * np.pi * rng.uniform(300, 1500) * t)
    elif cls == "chirp":
        y = chirp(t, f0=rng.uniform(100, 400), t1=seconds, f1=rng.uniform(1500, 3500))
    else:
        y = rng.normal(0, 0.5, t.size)
    return (0.6 * y + 0.02 * rng.normal(size=t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("short")
    rng = np.random.default_rng(0)
    for cls in ("tone", "chirp", "noise"):
        (root / "wavs" / cls).mkdir(parents=True)
        for i in range(14):
            rate = RATES[i % 3]
            wavfile.write(root / "wavs" / cls / f"{i}.wav", rate, _sound(cls, rate, rng.uniform(0.15, 0.35), rng))
    out = root / "run"
    # clip_seconds 1: every clip is 65-85% silence padding, as the newcomer's 0.3-0.7 s clips in 1 s
    assert main(["train", "--data", str(root / "wavs"), "--epochs", "12", "--out", str(out), "--no-progress",
                 "--set", "data.clip_seconds=1", "--set", "data.n_mels=20", "--set", "train.threads=1",
                 "--set", "train.batch_size=8", "--set", "train.seed=0"]) == 0
    return root, out


def test_short_padded_clips_of_distinct_classes_are_learned(short_run):
    _, out = short_run
    metrics = json.loads((out / "summary.json").read_text())["metrics"]
    assert metrics["val"]["accuracy"] >= 0.8 and metrics["test"]["accuracy"] >= 0.8
    assert json.loads((out / "preprocess.json").read_text())["audio"]["padding"] == "masked"


def test_predict_agrees_on_clips_of_other_lengths_and_rates(short_run, capsys):
    root, out = short_run
    new = root / "new"
    new.mkdir()
    rng = np.random.default_rng(5)
    for cls in ("tone", "chirp", "noise"):
        sound = _sound(cls, 44100, 0.3, rng)  # one sound, written at two rates
        wavfile.write(new / f"{cls}_44100.wav", 44100, sound)
        wavfile.write(new / f"{cls}_8000.wav", 8000, _resampled(sound, 44100, 8000))
        wavfile.write(new / f"{cls}_long.wav", 16000, _sound(cls, 16000, 1.4, rng))  # longer than the clip: cut
    capsys.readouterr()
    assert main(["predict", str(out), str(new)]) == 0
    rows = list(csv.reader(capsys.readouterr().out.strip().splitlines()))
    got = {r[0].split("/")[-1]: r for r in rows[1:]}
    for cls in ("tone", "chirp", "noise"):  # the same sound at 44.1 and 8 kHz: the same answer
        a, b = got[f"{cls}_44100.wav"], got[f"{cls}_8000.wav"]
        assert a[1] == b[1]
        np.testing.assert_allclose(np.array(a[2:], float), np.array(b[2:], float), atol=0.05)
    right = sum(r[1] == name.split("_")[0] for name, r in got.items())
    assert right >= 7, rows  # 0.3 s and 1.4 s clips (cut to the run's 1 s) alike: their padding is not read


def _resampled(x: np.ndarray, rate: int, new: int) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(x, new, rate).astype(np.float32)
