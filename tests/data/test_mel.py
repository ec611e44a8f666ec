"""data/mel.py against a numpy computation of the same formulas, written independently (loops, np.fft)."""

import math

import numpy as np
import pytest
import torch

from idealfit.data.mel import LOG_FLOOR, MelSpec, mel_filterbank, normalize_each, resample


def _np_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _np_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def _np_filterbank(n_fft, n_mels, sr, fmin, fmax):
    """HTK triangles, one bin at a time."""
    edges = _np_hz(np.linspace(_np_mel(fmin), _np_mel(fmax), n_mels + 2))
    fb = np.zeros((n_fft // 2 + 1, n_mels))
    for b in range(n_fft // 2 + 1):
        f = b * sr / n_fft
        for m in range(n_mels):
            lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
            if lo <= f <= mid:
                fb[b, m] = (f - lo) / (mid - lo)
            elif mid < f <= hi:
                fb[b, m] = (hi - f) / (hi - mid)
    return fb


def _np_log_mel(x, *, sr, n_fft, hop, n_mels):
    """Centred frames (reflect padding), periodic Hann window, |rfft|², the filterbank, log(· + floor)."""
    padded = np.pad(x, n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = [padded[t * hop: t * hop + n_fft] * window for t in range(len(x) // hop + 1)]
    power = np.abs(np.fft.rfft(np.array(frames), axis=1)) ** 2  # (T, F)
    return np.log(power @ _np_filterbank(n_fft, n_mels, sr, 0.0, sr / 2) + LOG_FLOOR).T  # (M, T)


def test_filterbank_matches_the_htk_triangles():
    ours = mel_filterbank(n_fft=256, n_mels=40, sample_rate=8000, fmin=20.0, fmax=3800.0).numpy()
    np.testing.assert_allclose(ours, _np_filterbank(256, 40, 8000, 20.0, 3800.0), atol=1e-6)


def test_log_mel_of_a_tone_matches_the_reference_and_peaks_at_its_band():
    sr, f0 = 8000, 1000.0
    x = (0.5 * np.sin(2 * np.pi * f0 * np.arange(sr) / sr)).astype(np.float64)
    spec = MelSpec(sample_rate=sr, n_fft=256, hop=80, n_mels=40)
    ours = spec(torch.from_numpy(x)[None])[0, 0].numpy()  # (40, 101)
    ref = _np_log_mel(x, sr=sr, n_fft=256, hop=80, n_mels=40)
    assert ours.shape == ref.shape == (40, 101)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    centres = _np_hz(np.linspace(0, _np_mel(sr / 2), 42))[1:-1]
    assert ours[:, 50].argmax() == np.abs(centres - f0).argmin()  # the band whose centre is nearest 1 kHz


def test_per_file_normalization_is_mean_0_std_1_per_clip_and_silence_stays_finite():
    spec = MelSpec()(torch.cat([torch.zeros(1, 8000), 0.01 * torch.randn(1, 8000), torch.randn(1, 8000)]))
    out = normalize_each(spec)
    assert torch.isfinite(out).all()
    assert out[0].abs().max() == 0  # silence: a constant spectrogram
    torch.testing.assert_close(out[1:].mean(dim=(1, 2, 3)), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[1:].std(dim=(1, 2, 3)), torch.ones(2), atol=1e-4, rtol=0)
    # loud and quiet versions of one sound look the same after normalization (well above the log floor)
    x = torch.randn(1, 8000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(normalize_each(MelSpec()(x)), normalize_each(MelSpec()(0.3 * x)), atol=1e-3, rtol=0)


@pytest.mark.parametrize(("orig", "new"), [(22050, 8000), (16000, 8000), (8000, 16000), (44100, 8000)])
def test_resample_keeps_a_tone_and_removes_what_the_new_rate_cannot_hold(orig, new):
    t = torch.arange(orig, dtype=torch.float64) / orig
    out = resample(torch.sin(2 * math.pi * 440 * t)[None], orig, new)[0]
    assert out.shape == (math.ceil(orig * new / orig),)
    ref = torch.sin(2 * math.pi * 440 * torch.arange(new, dtype=torch.float64) / new)
    assert (out[50:-50] - ref[50:-50]).abs().max() < 2e-3  # away from the zero-padded ends
    if new < orig:  # a tone above the new Nyquist frequency does not fold back into the band
        high = resample(torch.sin(2 * math.pi * (0.75 * new) * t)[None], orig, new)[0]
        assert high[50:-50].abs().max() < 0.02


def test_resample_agrees_with_scipy_polyphase_on_noise():
    from scipy.signal import resample_poly

    y = np.random.default_rng(0).standard_normal(4000)
    ours = resample(torch.from_numpy(y)[None], 16000, 8000)[0].numpy()
    ref = resample_poly(y, 1, 2)  # a different (Kaiser) window: close, not equal
    assert ours.shape == ref.shape
    assert np.corrcoef(ours[50:-50], ref[50:-50])[0, 1] > 0.99
