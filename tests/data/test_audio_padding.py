"""Short clips padded with silence: the padding is left out of each file's normalization (padded frames 0), a
clip's features do not depend on how much padding it got, the GRU stops at the last real frame, time masks stay
on real frames, and data.clip_seconds is chosen from a folder's clip lengths when not set."""

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from idealfit.config import ModelConfig
from idealfit.data.audio import choose_clip_seconds, features, few_clips_batch, fit_length, load_audio_folder
from idealfit.data.augment import band_mask
from idealfit.data.mel import normalize_each
from idealfit.models.rnn import build_rnn

SETTINGS = {"sample_rate": 8000, "clip_samples": 8000, "n_fft": 256, "hop": 80, "n_mels": 20, "padding": "masked"}


def _padded(x: np.ndarray, samples: int) -> np.ndarray:
    return fit_length(torch.from_numpy(x.astype(np.float32))[None], samples).numpy()[None]  # (1, 1, samples)


def test_padded_frames_are_zero_and_a_clip_does_not_depend_on_its_padding():
    rng = np.random.default_rng(0)
    clip = (0.5 * np.sin(2 * np.pi * 700 * np.arange(3000) / 8000) + 0.01 * rng.standard_normal(3000))
    real = 3000 // 80 + 1  # frames centred inside the 0.375 s clip: 38
    alone = features(SETTINGS, _padded(clip, 3000), np.array([3000]))[0, 0]  # no padding at all
    for total in (3010, 8000, 16000):  # 10 samples, 0.6 s and 1.6 s of silence after it
        f = features(SETTINGS, _padded(clip, total), np.array([3000]))[0, 0]  # (mels, frames)
        assert np.all(f[:, real:] == 0)
        np.testing.assert_allclose(f[:, :real], alone, atol=1e-5)
        assert abs(f[:, :real].mean()) < 1e-5 and abs(f[:, :real].std(ddof=1) - 1) < 1e-4
    # without the lengths (a run from before this, or an unpadded array) the padding swamps the statistics
    plain = features({k: v for k, v in SETTINGS.items() if k != "padding"}, _padded(clip, 8000), np.array([3000]))
    assert plain[0, 0, :, real + 2:].std() < 1e-3 and plain[0, 0, :, real + 2:].mean() < -0.5  # a flat -0.76


def test_normalization_over_the_real_frames_matches_a_hand_computation():
    spec = torch.randn(2, 1, 5, 12, dtype=torch.float64)
    out = normalize_each(spec, torch.tensor([7, 12]))
    real = spec[0, 0, :, :7]
    np.testing.assert_allclose(out[0, 0, :, :7], (real - real.mean()) / real.std(), atol=1e-12)
    assert torch.all(out[0, 0, :, 7:] == 0)
    np.testing.assert_allclose(out[1], normalize_each(spec[1:])[0], atol=1e-12)  # all real: as before


def test_a_tone_and_noise_no_longer_look_alike_once_padded():
    """The newcomer's check (pad_check.py): 0.7 s of a tone and of noise, padded to 1 s, correlated 0.94."""
    rng = np.random.default_rng(1)
    n = 5600
    tone = 0.6 * np.sin(2 * np.pi * 900 * np.arange(n) / 8000)
    noise = 0.3 * rng.standard_normal(n)
    f = features(SETTINGS, np.concatenate([_padded(tone, 8000), _padded(noise, 8000)]), np.array([n, n]))
    assert np.corrcoef(f[0].ravel(), f[1].ravel())[0, 1] < 0.5


def test_the_gru_stops_at_a_clips_last_real_frame():
    torch.manual_seed(0)
    net = torch.nn.Sequential(*build_rnn((1, 20, 60), 3, ModelConfig(hidden=[])))
    net.eval()
    x = torch.randn(2, 1, 20, 60)
    x[0, :, :, 25:] = 0  # clip 0 is 25 frames long, then padding
    with torch.no_grad():
        both = net(x)
        short = net(x[:1, :, :, :25])
        np.testing.assert_allclose(both[0], short[0], atol=1e-5)
        np.testing.assert_allclose(both[1], net(x[1:])[0], atol=1e-5)
        net[1].zero_padded = False  # reading the padding changes the answer: the test can fail
        assert (net(x)[0] - short[0]).abs().max() > 1e-3


def test_time_masks_fall_on_real_frames_only():
    x = torch.randn(64, 1, 8, 50)
    x[:, :, :, 10:] = 0  # 10 real frames, 40 padded
    out = band_mask(x, axis=-1, width=6, count=1, generator=torch.Generator().manual_seed(0))
    masked = (out[:, 0, 0, :10] == 0).sum(1)  # frames masked among the real ones
    assert masked.float().mean() > 2  # U{0..6}: 3 on average; drawn in the padding they would mostly miss
    full = torch.randn(64, 1, 8, 50)  # unpadded clips: the same draws as before (full length)
    a = band_mask(full, axis=-1, width=6, generator=torch.Generator().manual_seed(3))
    assert ((a == 0).all(dim=2).sum(-1) <= 6).all()


def test_few_clips_get_a_batch_size_that_makes_several_steps():
    assert few_clips_batch(51, 64) == 16 and few_clips_batch(100, 64) == 25  # 1 and 2 steps at 64: 4 now
    assert few_clips_batch(1680, 64) == 64 and few_clips_batch(200, 64) == 64  # 4 steps or more: unchanged
    assert few_clips_batch(10, 64) == 16 and few_clips_batch(10, 8) == 8  # never below 16, never above the set one


def test_the_clip_length_is_chosen_from_the_folder(tmp_path):
    rng = np.random.default_rng(0)
    seconds = {"tone": [0.2, 0.3, 0.35, 0.4], "noise": [0.25, 0.3, 0.45, 2.0]}
    for cls, lengths in seconds.items():
        (tmp_path / cls).mkdir()
        for i, s in enumerate(lengths):
            wavfile.write(tmp_path / cls / f"{i}.wav", 16000, (0.3 * rng.standard_normal(int(16000 * s))).astype(np.float32))
    ds = load_audio_folder(tmp_path, sample_rate=8000, clip_seconds=None)
    assert ds.meta["clip_seconds"] == 2.0 and ds.x.shape == (8, 1, 16000)  # 8 clips: the 95% quantile is the longest
    assert sorted(ds.lengths.tolist()) == sorted(round(8000 * s) for v in seconds.values() for s in v)
    assert "data.clip_seconds=2" in ds.meta["notes"][0] and "7 padded" in ds.meta["notes"][0]
    fixed = load_audio_folder(tmp_path, sample_rate=8000, clip_seconds=0.3)
    assert fixed.x.shape == (8, 1, 2400) and fixed.lengths.max() == 2400 and fixed.meta["notes"] == []
    lengths = np.array([800] * 96 + [80000] * 4)  # a few clips far longer: not every clip padded to them
    s, note = choose_clip_seconds(lengths, 8000)
    assert s == 0.1 and "4 cut, 0 padded" in note
    assert choose_clip_seconds(np.array([10, 20]), 8000)[0] == pytest.approx(0.017)  # the shortest check_clip takes
