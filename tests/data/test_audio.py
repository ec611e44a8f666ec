"""Audio: WAV reading (mono/stereo, any rate and sample format), clip length, the voice split, SpecAugment masks,
the eSpeak NG synthesis behind spoken_digits, and the kind's features."""

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from idealfit.data.audio import features, fit_length, load_audio_folder, load_clip, read_wav
from idealfit.data.augment import Augment, band_mask
from idealfit.data.base import Dataset
from idealfit.data.split import split_indices
from idealfit.errors import UserError


def _tone(freq, rate, seconds=0.5, amp=0.5):
    return amp * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)


def test_wav_formats_read_as_the_same_mono_clip(tmp_path):
    """int16 mono at 16 kHz, float32 stereo at 8 kHz and 8-bit unsigned at 8 kHz: one 8 kHz clip each, alike."""
    x16 = _tone(440, 16000)
    wavfile.write(tmp_path / "a.wav", 16000, np.round(x16 * 32767).astype(np.int16))
    x8 = _tone(440, 8000)
    wavfile.write(tmp_path / "b.wav", 8000, np.stack([x8, x8], 1).astype(np.float32))  # stereo
    wavfile.write(tmp_path / "c.wav", 8000, np.round(x8 * 127 + 128).astype(np.uint8))
    clips = [load_clip(tmp_path / f"{n}.wav", sample_rate=8000, clip_samples=6000) for n in "abc"]
    assert all(c.shape == (1, 6000) and c.dtype == np.float32 for c in clips)
    np.testing.assert_allclose(clips[1][0, :4000], x8, atol=1e-6)
    np.testing.assert_allclose(clips[0][0, 100:3900], x8[100:3900], atol=2e-3)  # resampled 16 -> 8 kHz
    np.testing.assert_allclose(clips[2][0, :4000], x8, atol=1 / 127)  # 8-bit quantization
    assert np.all(clips[1][0, 4000:] == 0)  # padded with silence to the clip length
    assert read_wav(tmp_path / "a.wav")[1] == 16000


def test_fit_length_cuts_the_end_or_pads_with_silence():
    x = torch.arange(1.0, 6.0)[None]
    assert fit_length(x, 3).tolist() == [[1.0, 2.0, 3.0]]
    assert fit_length(x, 7).tolist() == [[1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0]]


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"not a wav file at all"])
def test_a_corrupt_or_non_wav_file_is_refused_naming_it(tmp_path, content):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(content)
    with pytest.raises(UserError, match="broken.wav is not a readable WAV file") as err:
        read_wav(bad)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("content", "said"), [
    (b"RIFF\x00\x00\x00\x00WAVEjunk", "its header is truncated or has no format chunk"),  # newcomer's R8
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "its header is truncated or has no format chunk"),
    (b"RIFF", "its header is truncated or has no format chunk"), (b"", "the file is empty"),
    (b"ID3\x03\x00\x00\x00", "it has no WAV header: another format, e.g. an .mp3 renamed .wav")])
def test_a_broken_wav_is_said_plainly_without_scipy_internals(tmp_path, content, said):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(content)
    with pytest.raises(UserError) as err:
        read_wav(bad)
    assert str(err.value) == f"{bad} is not a readable WAV file ({said}); re-record or re-export it"


def test_audio_folder_one_class_per_subfolder(tmp_path):
    for cls, f in (("low", 300), ("high", 1500)):
        (tmp_path / cls).mkdir()
        for i in range(3):
            wavfile.write(tmp_path / cls / f"{i}.wav", 11025, np.round(_tone(f + 10 * i, 11025) * 3e4).astype(np.int16))
    (tmp_path / "low" / "notes.txt").write_text("ignored: not a recording")
    ds = load_audio_folder(tmp_path, sample_rate=8000, clip_seconds=0.25)
    assert ds.kind == "audio" and ds.class_names == ["high", "low"] and ds.x.shape == (6, 1, 2000)
    assert ds.y.tolist() == [0, 0, 0, 1, 1, 1]
    settings = {"sample_rate": 8000, "clip_samples": 2000, "n_fft": 256, "hop": 80, "n_mels": 20}
    spec = features(settings, ds.x)
    assert spec.shape == (6, 1, 20, 26)
    # the 1.5 kHz tones put their energy in higher mel bands than the 300 Hz ones
    assert spec[:3, 0].mean(axis=(0, 2)).argmax() > spec[3:, 0].mean(axis=(0, 2)).argmax()


def test_the_voice_split_keeps_every_voice_in_one_split():
    voices = np.repeat([f"v{i}" for i in range(20)], 10)
    ds = Dataset("voices", np.zeros((200, 1, 8)), np.tile(np.arange(10), 20), "classification", "audio",
                 class_names=[str(i) for i in range(10)], groups=voices)
    for seed in (0, 1):
        ind = split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=seed)
        seen = [set(voices[ind[s]]) for s in ("train", "val", "test")]
        assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
        assert sum(len(ind[s]) for s in ("train", "val", "test")) == 200  # every clip in one split
        assert [len(v) for v in seen] == [14, 3, 3]
    other = split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=1)
    assert set(voices[ind["test"]]) == set(voices[other["test"]])  # the same seed, the same voices
    assert set(voices[split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=0)["test"]]) != \
        set(voices[other["test"]])


def test_band_masks_zero_contiguous_bands_per_sample():
    x = torch.ones(64, 1, 40, 101)
    g = torch.Generator().manual_seed(0)
    f = band_mask(x, axis=-2, width=8, count=1, generator=g)
    zeroed = (f[:, 0, :, 0] == 0)  # (B, mels): masked bands, the same in every frame
    assert torch.equal(f[:, 0], f[:, 0, :, :1].expand(-1, -1, 101))
    widths = zeroed.sum(1)
    assert widths.max() <= 8 and widths.min() >= 0 and len(set(widths.tolist())) > 3  # drawn per sample
    for row in zeroed:  # one contiguous band
        idx = torch.nonzero(row).flatten()
        assert idx.numel() == 0 or (idx.max() - idx.min() + 1) == idx.numel()
    t = band_mask(x, axis=-1, width=10, count=2, generator=g)
    assert (t[:, 0, 0, :] == 0).sum(1).max() <= 20 and torch.equal(t[:, 0], t[:, 0, :1].expand(-1, 40, -1))
    assert torch.equal(band_mask(x, axis=-1, width=0, count=3), x)
    aug = Augment(["freq_mask", {"name": "time_mask", "width": 5}], generator=torch.Generator().manual_seed(0))
    assert (aug(x) == 0).any() and aug.get_config()[1] == {"name": "time_mask", "width": 5, "count": 1}
    with pytest.raises(UserError, match="width must be a whole number"):
        Augment([{"name": "freq_mask", "width": -1}])


def test_espeak_synthesizes_each_digit_in_each_voice():
    pytest.importorskip("espeakng_loader")
    from idealfit.data.spoken_digits import DIGITS, SAMPLE_RATE, build_spoken_digits

    clips, y, voices = build_spoken_digits(accents=("en", "de"), variants=("m1", "f2"), takes=1)
    assert clips.shape == (40, SAMPLE_RATE) and clips.dtype == np.int16
    assert y.tolist() == list(range(10)) * 4 and sorted(set(voices)) == ["de+f2", "de+m1", "en+f2", "en+m1"]
    loud = (np.abs(clips.astype(np.float32)) > 1000).sum(1)  # (N,) samples of speech
    assert loud.min() > 0.05 * SAMPLE_RATE  # every clip holds a spoken word, not silence
    # seeded speeds, pitches and starts; eSpeak NG's own noise (aspiration) differs between builds, so a rebuild is
    # close, not equal (the cached .npz is what fixes the dataset): the same word lengths within a few percent
    again = build_spoken_digits(accents=("en", "de"), variants=("m1", "f2"), takes=1)[0]
    length = [(np.abs(c.astype(np.float32)) > 1000).sum(1) for c in (clips, again)]
    np.testing.assert_allclose(length[0], length[1], rtol=0.1)
    # the female variant is higher-pitched than the male one, same words: more energy above 300 Hz
    spec = np.abs(np.fft.rfft(clips.astype(np.float64), axis=1))
    assert spec[voices == "en+f2", 300:].sum() / spec[voices == "en+f2"].sum() > \
        spec[voices == "en+m1", 300:].sum() / spec[voices == "en+m1"].sum()
    assert len(DIGITS) == 10


def test_noise_is_added_at_the_drawn_signal_to_noise_ratio():
    from idealfit.data.spoken_digits import SNR_DB, add_noise

    x = np.sin(np.arange(8000) * 0.1)[None, None].repeat(50, 0).astype(np.float32)  # (50, 1, 8000)
    noisy = add_noise(x, seed=0)
    snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2, axis=-1) / np.mean((noisy - x).astype(np.float64) ** 2, axis=-1))
    assert snr.min() > SNR_DB[0] - 0.5 and snr.max() < SNR_DB[1] + 0.5 and snr.std() > 2  # drawn per clip
    assert np.array_equal(add_noise(x, seed=0), noisy)


def test_accuracy_per_voice_group_is_counted_per_group_worst_first():
    from idealfit.data.spoken_digits import voice_group
    from idealfit.report.audio import group_accuracy

    groups = [voice_group(v) for v in ["en+m1", "en+f2", "de+m1", "de+m1", "fr+klatt"]]
    assert groups == ["en", "en", "de", "de", "fr"]
    rows = group_accuracy(np.array(groups), [1, 2, 3, 4, 5], [1, 0, 3, 4, 0])
    assert rows == [("fr", 1, 0.0), ("en", 2, 0.5), ("de", 2, 1.0)]


def test_an_embedded_clip_set_is_conformed_to_the_run_rate_and_length():
    from idealfit.data.audio import conform

    x = _tone(440, 8000, seconds=1.0).astype(np.float32)[None, None].repeat(3, 0)  # (3, 1, 8000) at 8 kHz
    ds = Dataset("tones", x, np.arange(3), "classification", "audio", class_names=["a", "b", "c"],
                 meta={"sample_rate": 8000, "clip_seconds": 1.0})
    same = conform(ds, sample_rate=8000, clip_seconds=1.0)
    assert same.x is x
    up = conform(ds, sample_rate=16000, clip_seconds=0.5)
    assert up.x.shape == (3, 1, 8000) and up.meta["sample_rate"] == 16000 and up.meta["clip_seconds"] == 0.5
    np.testing.assert_allclose(up.x[0, 0, 100:7900], _tone(440, 16000, seconds=0.5)[100:7900], atol=2e-3)
    assert up.lengths.tolist() == [8000] * 3  # cut: every sample real
    ds = Dataset("tones", x, np.arange(3), "classification", "audio", class_names=["a", "b", "c"],
                 meta={"sample_rate": 8000, "clip_seconds": 1.0})
    assert conform(ds, sample_rate=8000, clip_seconds=None).x is x  # unset: the dataset's own length
    longer = conform(ds, sample_rate=8000, clip_seconds=2.0)  # padded: the real second recorded
    assert longer.x.shape == (3, 1, 16000) and longer.lengths.tolist() == [8000] * 3


def test_features_name_the_shape_they_take_and_the_shortest_clip():
    settings = {"sample_rate": 8000, "clip_samples": 129, "n_fft": 256, "hop": 80, "n_mels": 20}
    with pytest.raises(UserError, match=r"waveforms of shape \(N, 1, samples\); got \(2, 129\)"):
        features(settings, np.zeros((2, 129), np.float32))
    assert features(settings, np.ones((2, 1, 129), np.float32)).shape == (2, 1, 20, 2)  # 129 = 256 // 2 + 1: enough
    whole = features({"kind": "audio", "audio": settings}, np.ones((2, 1, 129), np.float32))  # a run's whole state
    np.testing.assert_array_equal(whole, features(settings, np.ones((2, 1, 129), np.float32)))
    with pytest.raises(UserError, match="gives 128 samples at 8000 Hz; the log-mel frames need at least 129"):
        features(settings, np.ones((2, 1, 128), np.float32))
