"""Audio: WAV files read, resampled, cut or padded to one clip length; log-mel spectrogram features.

    files       a folder with one sub-folder of .wav files per class (mono or stereo: averaged to mono;
                8/16/32-bit integer or float; any sample rate), read with scipy.io.wavfile
    rate        resampled to data.sample_rate (default 8000 Hz) by windowed-sinc interpolation (data/mel.py)
    length      cut to data.clip_seconds (default 1 s; the start is kept) or padded with silence at the end
    features    log-mel power (data/mel.MelSpec: 32 ms frames every 10 ms, data.n_mels bands on the HTK mel
                scale), then per-file normalization (each spectrogram to mean 0, std 1): (1, mels, frames),
                which the cnn family reads as a one-channel image and the rnn family as frames time steps.
                Nothing is fitted, so preprocess.json ("audio") records only these settings.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from idealfit.data.audio_frames import FRAME_SECONDS, HOP_SECONDS, check_clip, frame_samples  # noqa: F401 - re-exported
from idealfit.data.base import Dataset
from idealfit.data.mel import MelSpec, normalize_each, resample
from idealfit.errors import UnreadableFile, UserError

AUDIO_SUFFIXES = {".wav", ".wave"}
def read_wav(path: Path, *, folder: bool = False) -> tuple[np.ndarray, int]:
    """(L,) float32 mono samples in [-1, 1] and the file's sample rate; a corrupt or non-WAV file is refused
    (`folder`: the file is part of a training folder, so the error offers data.skip_unreadable)."""
    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # unknown chunks (LIST, cue) are fine
            rate, data = wavfile.read(path)
    except Exception as err:  # noqa: BLE001 - scipy's parser fails in many ways on a broken file (ValueError,
        # EOFError, even UnboundLocalError on a truncated header); each means the file, not our code, is wrong
        skip = ", or remove it (or set data.skip_unreadable=true to skip such files)" if folder else ""
        raise UnreadableFile(f"{path} is not a readable WAV file ({str(err).strip() or type(err).__name__}); "
                             f"re-record or re-export it{skip}", path=path) from None
    if data.ndim == 2:  # (L, channels): stereo and more are averaged to mono
        data = data.astype(np.float64).mean(axis=1) if data.dtype.kind == "f" else data.mean(axis=1).astype(data.dtype)
    if data.dtype == np.uint8:  # 8-bit WAV is unsigned, centred at 128
        x = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype.kind == "i":
        x = data.astype(np.float32) / float(np.iinfo(data.dtype).max)
    else:
        x = data.astype(np.float32)
    if x.size == 0:
        skip = " (or set data.skip_unreadable=true to skip such files)" if folder else ""
        raise UnreadableFile(f"{path} holds no samples; remove it{skip}", path=path)
    return x, int(rate)


def fit_length(x: torch.Tensor, length: int) -> torch.Tensor:
    """(B, L) -> (B, length): the first `length` samples, padded with zeros (silence) at the end."""
    return x[:, :length] if x.shape[1] >= length else torch.nn.functional.pad(x, (0, length - x.shape[1]))


def load_clip(path: Path, *, sample_rate: int, clip_samples: int, folder: bool = False) -> np.ndarray:
    """One WAV file as (1, clip_samples) float32 at `sample_rate` (`folder`: as read_wav)."""
    x, rate = read_wav(path, folder=folder)
    wave = resample(torch.from_numpy(x)[None], rate, sample_rate)
    return fit_length(wave, clip_samples).numpy()


def scan_audio_folder(path: Path) -> tuple[list[Path], list[str]]:
    """(wav files, their class = sub-folder name), sorted; [] when `path` has no sub-folders of .wav files."""
    files = sorted(p for p in path.glob("*/*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    return files, [p.parent.name for p in files]


def is_audio_folder(path: Path) -> bool:
    return path.is_dir() and bool(scan_audio_folder(path)[0])


def wavs_in(folder: Path) -> list[Path]:
    """Every .wav under `folder`, recursively, sorted by its path inside `folder`; hidden folders are not
    entered (predict's and explain's inputs, as images_in for images)."""
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
             and not any(d.startswith(".") for d in p.relative_to(folder).parts[:-1])]
    return sorted(found, key=lambda q: q.relative_to(folder).as_posix())


def load_audio_folder(path: Path, *, sample_rate: int, clip_seconds: float, skip_unreadable: bool = False) -> Dataset:
    """A classification Dataset of kind audio: x (N, 1, clip samples) float32 waveforms, one class per sub-folder.

    A corrupt WAV file stops loading with one line naming it, unless `skip_unreadable` (then it is left out and
    listed in meta["unreadable_files"], which `idealfit train` prints).
    """
    from idealfit.data.base import encode_labels
    from idealfit.data.files import fingerprint
    from idealfit.data.images import _readable

    files, labels = scan_audio_folder(path)
    every = list(files)  # the fingerprint covers the folder as it is, the unreadable files too (evaluate rescans it)
    clip = round(sample_rate * clip_seconds)
    read = lambda p: load_clip(p, sample_rate=sample_rate, clip_samples=clip, folder=True)  # noqa: E731
    files, kept, clips, bad = _readable(files, np.arange(len(files)), read, skip=skip_unreadable)
    labels = [labels[i] for i in kept]
    if not files:
        raise UserError(f"{path} has no readable WAV files; check the files or unset data.skip_unreadable")
    if len(set(labels)) < 2:
        raise UserError(f"{path} has WAV files of {len(set(labels))} class; put each class's files in its own "
                        "sub-folder (at least two)")
    y, names = encode_labels(np.array(labels))
    return Dataset(path.name, np.stack(clips), y, "classification", "audio", class_names=names,
                   paths=None, meta={"source": str(path), "sample_rate": sample_rate, "clip_seconds": clip_seconds,
                                     "files": [p.relative_to(path).as_posix() for p in files],
                                     "unreadable_files": [p.relative_to(path).as_posix() for p in bad],
                                     "fingerprint": fingerprint(path, every)})


def conform(ds: Dataset, *, sample_rate: int, clip_seconds: float) -> Dataset:
    """An embedded audio dataset at the run's rate and clip length (user folders are read that way already)."""
    rate, clip = ds.meta["sample_rate"], round(sample_rate * clip_seconds)
    if rate == sample_rate and ds.x.shape[-1] == clip:
        return ds
    x = fit_length(resample(torch.from_numpy(ds.x[:, 0]), rate, sample_rate), clip)
    ds.x = x[:, None].numpy()
    ds.meta = {**ds.meta, "sample_rate": sample_rate, "clip_seconds": clip_seconds}
    return ds


# --- the data kind ------------------------------------------------------------------------------------------------


def mel_spec(settings: dict[str, Any]) -> MelSpec:
    return MelSpec(sample_rate=settings["sample_rate"], n_fft=settings["n_fft"], hop=settings["hop"],
                   n_mels=settings["n_mels"])


def features(settings: dict[str, Any], waves: np.ndarray, *, batch: int = 512) -> np.ndarray:
    """(N, 1, L) waveforms -> (N, 1, mels, frames) normalized log-mel spectrograms, float32.

    `settings`: a run's state["audio"] (the whole preprocess.json state is taken too, for its "audio")."""
    settings = settings.get("audio", settings)
    spec = mel_spec(settings)
    waves = np.asarray(waves, dtype=np.float32)
    if waves.ndim != 3 or waves.shape[1] != 1:
        raise UserError(f"audio features take waveforms of shape (N, 1, samples); got {waves.shape}: "
                        "add the channel axis with waves[:, None]")
    check_clip(spec.sample_rate, waves.shape[-1] / spec.sample_rate)
    out = [normalize_each(spec(torch.from_numpy(waves[i:i + batch, 0]))).numpy() for i in range(0, len(waves), batch)]
    if not out:
        return np.zeros((0, 1, spec.n_mels, spec.frames(waves.shape[-1])), np.float32)
    return np.concatenate(out)


def fit_audio(ds: Dataset, indices: dict, cfg, state: dict[str, Any]) -> tuple[dict, dict]:
    """Log-mel features of every split; the settings (nothing fitted) recorded as state["audio"]."""
    rate = int(ds.meta["sample_rate"])
    n_fft = frame_samples(rate)
    settings = {"sample_rate": rate, "clip_samples": int(ds.x.shape[-1]), "n_fft": n_fft,
                "hop": round(HOP_SECONDS * rate), "n_mels": cfg.n_mels}
    if settings["n_mels"] > n_fft // 2:
        raise UserError(f"data.n_mels={cfg.n_mels} is more bands than the {n_fft // 2 + 1} frequencies of a "
                        f"{n_fft}-sample frame at {rate} Hz; use at most {n_fft // 4}")
    state["audio"] = settings
    x = {s: features(settings, ds.x[indices[s]]) for s in ("train", "val", "test")}
    state["input_shape"] = list(x["train"].shape[1:])
    state["norm"] = None  # normalized per file here
    return x, indices


def transform_audio(state: dict[str, Any], x: np.ndarray, names: list[str] | None = None) -> np.ndarray:
    """(N, 1, clip samples) waveforms at the run's rate -> the model's (N, 1, mels, frames) features."""
    want = (1, state["audio"]["clip_samples"])
    if tuple(np.shape(x)[1:]) != want:
        raise UserError(f"audio inputs must be waveforms of shape {want}; got {tuple(np.shape(x)[1:])}")
    return features(state["audio"], x)


def read_audio_files(state: dict[str, Any], paths: list[Path]) -> np.ndarray:
    """WAV files at the run's sample rate and clip length, then its features: predict's inputs."""
    a = state["audio"]
    waves = np.stack([load_clip(p, sample_rate=a["sample_rate"], clip_samples=a["clip_samples"]) for p in paths])
    return transform_audio(state, waves)
