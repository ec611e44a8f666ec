"""The embedded dataset `spoken_digits`: "zero" ... "nine" spoken by 120 synthetic voices.

Synthesized offline with eSpeak NG (data/espeak.py; the espeakng-loader wheel bundles the library and its
voice data): each voice is an accent (an English voice, or another language's voice reading the English
words) with a voice variant (male, female, croaky, Klatt formant synthesis ...); each voice says each digit
TAKES times at a random speed (120-240 words per minute) and pitch (20-80). The silence around each word is
trimmed and the word placed at a random start inside a 1 s clip at 8 kHz (the Free Spoken Digit recordings'
rate). Seeded (speeds, pitches, starts), built once (~25 s) and cached as .npz in IDEALFIT_CACHE (int16, ~40 MB),
like mnist1d and words. eSpeak NG adds its own random noise (aspiration), so a rebuild on another machine is
close to, not bit-equal with, this one; the cache is what keeps one machine's dataset fixed.

`Dataset.groups` holds each clip's voice, so train, validation and test are split **by voice**
(data/split.split_indices): the test score says whether the model understands a voice it never heard.
`spoken_digits_noisy` is the same clips with white noise at a signal-to-noise ratio drawn per clip from
5-20 dB (seeded, added at load).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch

from idealfit.data.base import Dataset

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "de", "fr", "es", "it",
           "nl", "pt")  # the voice groups of the report's accuracy per voice group
VARIANTS = ("m1", "m2", "m3", "m4", "m7", "f1", "f2", "f3", "f4", "klatt")
TAKES = 2  # clips per voice and digit
SAMPLE_RATE, CLIP = 8000, 8000
RATES, PITCHES = (120, 240), (20, 80)
SNR_DB = (5.0, 20.0)  # spoken_digits_noisy
SEED = 0


def _trim(x: np.ndarray, *, floor: float = 0.02) -> np.ndarray:
    """The samples between the first and last one louder than `floor` of the peak."""
    loud = np.flatnonzero(np.abs(x) > floor * max(float(np.abs(x).max()), 1e-9))
    return x[loud[0]: loud[-1] + 1] if loud.size else x


def build_spoken_digits(*, accents=ACCENTS, variants=VARIANTS, takes: int = TAKES,
                        seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clips (N, CLIP) int16 at SAMPLE_RATE, digit ids (N,) int64, voice names (N,) str), in voice order."""
    from idealfit.data.espeak import speaker
    from idealfit.data.mel import resample

    spk, rng = speaker(), np.random.default_rng(seed)
    raws, ys, voices = [], [], []
    for accent in accents:
        for variant in variants:
            voice = f"{accent}+{variant}"
            for _ in range(takes):
                for d, word in enumerate(DIGITS):
                    raws.append(spk.say(word, voice=voice, rate=int(rng.integers(*RATES, endpoint=True)),
                                        pitch=int(rng.integers(*PITCHES, endpoint=True))))
                    ys.append(d)
                    voices.append(voice)
    clips = []
    for i in range(0, len(raws), 64):  # resampled 64 at a time, padded with silence (trimmed again below)
        chunk = raws[i:i + 64]
        batch = np.zeros((len(chunk), max(len(r) for r in chunk)), np.float32)
        for j, r in enumerate(chunk):
            batch[j, : len(r)] = r / 32768.0
        for wave in resample(torch.from_numpy(batch), spk.sample_rate, SAMPLE_RATE).numpy():
            wave = _trim(wave)[:CLIP]
            start = int(rng.integers(0, CLIP - len(wave) + 1))
            clip = np.zeros(CLIP, np.float32)
            clip[start: start + len(wave)] = wave
            clips.append(np.clip(np.round(clip * 32767), -32768, 32767).astype(np.int16))
    return np.stack(clips), np.array(ys, np.int64), np.array(voices, dtype=str)


def add_noise(x: np.ndarray, *, seed: int = SEED) -> np.ndarray:
    """(N, 1, L) clips plus white noise at an SNR drawn per clip from SNR_DB (signal power over noise power)."""
    rng = np.random.default_rng(seed + 1)
    snr = rng.uniform(*SNR_DB, size=(len(x), 1, 1))
    power = np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True)
    noise = rng.standard_normal(x.shape) * np.sqrt(power / 10 ** (snr / 10))
    return (x + noise).astype(np.float32)


def load_spoken_digits(*, noisy: bool = False) -> Dataset:
    """x (N, 1, 8000) float32 waveforms at 8 kHz, y the digit, groups the voice (split by voice)."""
    from importlib.metadata import version

    from idealfit.data.embedded import _cache_dir
    from idealfit.run_files import atomic_write, npz_bytes

    spec = {"digits": DIGITS, "accents": ACCENTS, "variants": VARIANTS, "takes": TAKES, "rate": SAMPLE_RATE,
            "clip": CLIP, "rates": RATES, "pitches": PITCHES, "seed": SEED, "espeak": version("espeakng-loader")}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    path = _cache_dir() / f"spoken_digits-{key}.npz"
    try:
        with np.load(path) as f:
            clips, y, voices = f["clips"], f["y"], f["voices"]
    except (OSError, KeyError, ValueError):
        clips, y, voices = build_spoken_digits()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, npz_bytes(clips=clips, y=y, voices=voices))  # no half-written cache
    x = (clips.astype(np.float32) / 32768.0)[:, None]
    if noisy:
        x = add_noise(x)
    return Dataset("spoken_digits_noisy" if noisy else "spoken_digits", x, y, "classification", "audio",
                   class_names=list(DIGITS), groups=voices.astype(object),
                   meta={"embedded": "eSpeak NG", "sample_rate": SAMPLE_RATE, "clip_seconds": CLIP / SAMPLE_RATE,
                         "group_by": "voice", "noise_snr_db": list(SNR_DB) if noisy else None})


def voice_group(voice: str) -> str:
    """A voice's group for the report: its accent ("de+f2" -> "de")."""
    return str(voice).split("+", 1)[0]
