"""Audio: WAV files read, resampled, cut or padded to one clip length; log-mel spectrogram features.

    files       a folder with one sub-folder of .wav files per class (mono or stereo: averaged to mono;
                8/16/32-bit integer or float; any sample rate), read with scipy.io.wavfile
    rate        resampled to data.sample_rate (default 8000 Hz) by windowed-sinc interpolation (data/mel.py)
    length      cut to data.clip_seconds (the start is kept) or padded with silence at the end; unset, a
                folder's clip length is the 95th percentile of its clips' lengths (choose_clip_seconds),
                an embedded dataset's its own (1 s). Each clip's real length is kept (Dataset.lengths).
    features    log-mel power (data/mel.MelSpec: 32 ms frames every 10 ms, data.n_mels bands on the HTK mel
                scale), then per-file normalization (each spectrogram to mean 0, std 1) over the clip's real
                frames only, its padded frames set to 0: (1, mels, frames), which the cnn family reads as a
                one-channel image and the rnn family as frames time steps (it stops at the last real frame:
                models/rnn.py). The frames up to a clip's end are computed as if the clip ended the file
                (mel.reflect_tail), so a clip's features do not depend on how much padding it got.
                Nothing is fitted, so preprocess.json ("audio") records only these settings.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from idealfit.data.audio_frames import FRAME_SECONDS, HOP_SECONDS, check_clip, frame_samples  # noqa: F401 - re-exported
from idealfit.data.base import Dataset, plural
from idealfit.data.mel import MelSpec, normalize_each, reflect_tail, resample
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
        raise UnreadableFile(f"{path} is not a readable WAV file ({_wav_problem(path, err)}); "
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


def _wav_problem(path: Path, err: Exception) -> str:
    """What is wrong with a file scipy's WAV reader failed on, in the user's words: scipy's own message where it
    describes the file (an unknown format code), never its internals (an UnboundLocalError about a variable)."""
    text = str(err).strip()
    if Path(path).stat().st_size == 0:
        return "the file is empty"
    if isinstance(err, ValueError) and "not understood" in text:  # the first 4 bytes are not RIFF/RIFX/RF64
        return "it has no WAV header: another format, e.g. an .mp3 renamed .wav"
    if type(err) is ValueError and text and "variable" not in text:
        return text
    return "its header is truncated or has no format chunk"


def fit_length(x: torch.Tensor, length: int) -> torch.Tensor:
    """(B, L) -> (B, length): the first `length` samples, padded with zeros (silence) at the end."""
    return x[:, :length] if x.shape[1] >= length else torch.nn.functional.pad(x, (0, length - x.shape[1]))


def read_clip(path: Path, *, sample_rate: int, folder: bool = False) -> np.ndarray:
    """One WAV file as (samples,) float32 at `sample_rate`, its whole length (`folder`: as read_wav)."""
    x, rate = read_wav(path, folder=folder)
    return resample(torch.from_numpy(x)[None], rate, sample_rate)[0].numpy()


def load_clip(path: Path, *, sample_rate: int, clip_samples: int, folder: bool = False) -> np.ndarray:
    """One WAV file as (1, clip_samples) float32 at `sample_rate` (`folder`: as read_wav)."""
    wave = torch.from_numpy(read_clip(path, sample_rate=sample_rate, folder=folder))[None]
    return fit_length(wave, clip_samples).numpy()


CLIP_QUANTILE = 0.95  # of a folder's clip lengths, when data.clip_seconds is not set


def choose_clip_seconds(lengths: np.ndarray, sample_rate: int) -> tuple[float, str]:
    """data.clip_seconds for a folder whose clips have `lengths` samples at `sample_rate`, and the line that
    says why: the 95th percentile of the lengths (one of them), rounded up to 10 ms, so at most about one clip
    in 20 is cut while one unusually long recording does not make every batch mostly padding; at least the
    shortest clip check_clip accepts, at most config_validate's 10 s at 48 kHz."""
    q = float(np.quantile(lengths, CLIP_QUANTILE, method="higher")) / sample_rate
    need = (frame_samples(sample_rate) // 2 + 1) / sample_rate
    seconds = min(max(math.ceil(round(q * 100, 6)) / 100, math.ceil(need * 1000) / 1000), 10 * 48000 / sample_rate)
    clip = round(seconds * sample_rate)
    cut, padded = int((lengths > clip).sum()), int((lengths < clip).sum())
    return seconds, (f"data.clip_seconds={seconds:g} (not set: the {CLIP_QUANTILE:.0%} quantile of the {len(lengths)} "
                     f"clips' lengths, {lengths.min() / sample_rate:.2f}-{lengths.max() / sample_rate:.2f} s): {cut} "
                     f"cut, {padded} padded with silence that the features leave out; set data.clip_seconds to choose")


# Recordings in formats scipy cannot read: a folder of them is taken for audio (and refused with "convert to
# .wav"), not for an image folder that has "0 images"
OTHER_AUDIO_SUFFIXES = {".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma", ".aif", ".aiff", ".amr"}


def _class_folders(path: Path) -> list[Path]:
    from idealfit.data.images import _visible

    return sorted(p for p in path.iterdir() if p.is_dir() and _visible(p))


def audio_files_in(folder: Path) -> tuple[list[Path], list[Path]]:
    """(WAV files, other visible files) directly in `folder`, each sorted by name."""
    from idealfit.data.images import _visible

    files = sorted(p for p in folder.iterdir() if p.is_file() and _visible(p))
    return [p for p in files if p.suffix.lower() in AUDIO_SUFFIXES], [p for p in files if p.suffix.lower()
                                                                       not in AUDIO_SUFFIXES]


def scan_audio_folder(path: Path) -> tuple[list[Path], list[str]]:
    """(wav files, their class = sub-folder name), sorted; [] when `path` has no sub-folders of .wav files."""
    files = [w for c in _class_folders(path) for w in audio_files_in(c)[0]]
    return files, [p.parent.name for p in files]


def is_audio_folder(path: Path) -> bool:
    """Class folders holding WAV files, or recordings in other formats and no image (an image folder with a
    stray .mp3 stays an image folder)."""
    from idealfit.data.images import is_image_file

    if not path.is_dir():
        return False
    files = [p for c in _class_folders(path) for p in c.iterdir() if p.is_file()]
    if any(p.suffix.lower() in AUDIO_SUFFIXES for p in files):
        return True
    return any(p.suffix.lower() in OTHER_AUDIO_SUFFIXES for p in files) and not any(map(is_image_file, files))


def scan_class_folders(path: Path) -> tuple[list[Path], list[str], list[Path]]:
    """(wav files, their classes, skipped non-WAV files) of a training folder; a class folder without a WAV
    file is refused by name, as an image folder refuses a class without images."""
    from idealfit.data.images import _visible

    files, skipped = [], [p for p in path.iterdir() if p.is_file() and _visible(p)  # beside the class folders
                          and p.suffix.lower() not in AUDIO_SUFFIXES]  # (a WAV there is listed as in no class)
    for c in _class_folders(path):
        wavs, other = audio_files_in(c)
        if not wavs:
            kinds = sorted({p.suffix.lower() or p.name for p in other})
            holds = f"only {len(other)} other file{'s' * (len(other) != 1)} ({', '.join(kinds[:4])})" if other else \
                "nothing"
            raise UserError(f"class folder {c} holds no WAV files (.wav, .wave) but {holds}; convert its recordings "
                            "to .wav or remove the folder")
        files += wavs
        skipped += other
    return files, [p.parent.name for p in files], sorted(skipped, key=lambda q: q.relative_to(path).as_posix())


def wavs_in(folder: Path) -> tuple[list[Path], list[Path]]:
    """(every .wav under `folder`, every other visible file), recursively, each sorted by its path inside `folder`;
    hidden folders are not entered (predict's and explain's inputs, as images_in for images)."""
    from idealfit.data.images import _visible

    found = sorted((p for p in folder.rglob("*") if p.is_file() and _visible(p)
                    and not any(d.startswith(".") for d in p.relative_to(folder).parts[:-1])),
                   key=lambda q: q.relative_to(folder).as_posix())
    return [p for p in found if p.suffix.lower() in AUDIO_SUFFIXES], [p for p in found if p.suffix.lower()
                                                                       not in AUDIO_SUFFIXES]


def few_clips_batch(n_train: int, batch_size: int) -> int:
    """The batch size for `n_train` training clips when train.batch_size is not set: unchanged when it gives 4
    or more steps an epoch, else max(16, n_train / 4). Measured on the newcomer's 51-clip folder (README,
    "Measured"): batch 16 (4 steps) against 64 (1 step), seeds 0-2: test 100/100/100% against 100/90.9/100%,
    new clips 6,5,5 of 6 against 5,5,5; the best epoch came earlier. spoken_digits (1680 clips) keeps 64."""
    if math.ceil(n_train / batch_size) >= 4:
        return batch_size
    return min(batch_size, max(16, math.ceil(n_train / 4)))


def load_audio_folder(path: Path, *, sample_rate: int, clip_seconds: float | None,
                      skip_unreadable: bool = False) -> Dataset:
    """A classification Dataset of kind audio: x (N, 1, clip samples) float32 waveforms, one class per sub-folder,
    `lengths` (N,) the real samples of each (the rest is silence padding). `clip_seconds` None: chosen from the
    clips' lengths (choose_clip_seconds), said in meta["notes"], which `idealfit train` prints.

    A corrupt WAV file stops loading with one line naming it, unless `skip_unreadable` (then it is left out and
    listed in meta["unreadable_files"], which `idealfit train` prints).
    """
    from idealfit.data.base import encode_labels
    from idealfit.data.files import fingerprint
    from idealfit.data.images import _readable

    files, labels, skipped = scan_class_folders(path)
    every = list(files)  # the fingerprint covers the folder as it is, the unreadable files too (evaluate rescans it)
    read = lambda p: read_clip(p, sample_rate=sample_rate, folder=True)  # noqa: E731
    files, kept, clips, bad = _readable(files, np.arange(len(files)), read, skip=skip_unreadable)
    labels = [labels[i] for i in kept]
    if not files:
        raise UserError(f"{path} has no readable WAV files; check the files or unset data.skip_unreadable")
    if len(set(labels)) < 2:
        raise UserError(f"{path} has WAV files of {len(set(labels))} class; put each class's files in its own "
                        "sub-folder (at least two)")
    y, names = encode_labels(np.array(labels))
    full = np.array([len(c) for c in clips], np.int64)
    notes = []
    if clip_seconds is None:
        clip_seconds, note = choose_clip_seconds(full, sample_rate)
        notes.append(note)
    clip = round(sample_rate * clip_seconds)
    x = np.zeros((len(clips), 1, clip), np.float32)  # silence padding at the end
    for i, c in enumerate(clips):
        x[i, 0, : min(len(c), clip)] = c[:clip]
    return Dataset(path.name, x, y, "classification", "audio", class_names=names,
                   paths=None, lengths=np.minimum(full, clip),
                   meta={"source": str(path), "sample_rate": sample_rate, "clip_seconds": clip_seconds, "notes": notes,
                                     "files": [p.relative_to(path).as_posix() for p in files],
                                     "unreadable_files": [p.relative_to(path).as_posix() for p in bad],
                                     "skipped_files": [p.relative_to(path).as_posix() for p in skipped],
                                     "loose_images": sorted(p.name for p in audio_files_in(path)[0]),  # in no class
                                     "fingerprint": fingerprint(path, every)})


def conform(ds: Dataset, *, sample_rate: int, clip_seconds: float | None) -> Dataset:
    """An embedded audio dataset at the run's rate and clip length (user folders are read that way already);
    `clip_seconds` None: the dataset's own. Clips made longer record their real length (`lengths`)."""
    clip_seconds = ds.meta["clip_seconds"] if clip_seconds is None else clip_seconds
    rate, clip = ds.meta["sample_rate"], round(sample_rate * clip_seconds)
    if rate == sample_rate and ds.x.shape[-1] == clip:
        return ds
    wave = resample(torch.from_numpy(ds.x[:, 0]), rate, sample_rate)
    real = np.full(len(ds.x), wave.shape[-1], np.int64) if ds.lengths is None else \
        np.ceil(ds.lengths * sample_rate / rate).astype(np.int64)
    ds.x = fit_length(wave, clip)[:, None].numpy()
    ds.lengths = np.minimum(real, clip)
    ds.meta = {**ds.meta, "sample_rate": sample_rate, "clip_seconds": clip_seconds}
    return ds


# --- the data kind ------------------------------------------------------------------------------------------------


def mel_spec(settings: dict[str, Any]) -> MelSpec:
    return MelSpec(sample_rate=settings["sample_rate"], n_fft=settings["n_fft"], hop=settings["hop"],
                   n_mels=settings["n_mels"])


def features(settings: dict[str, Any], waves: np.ndarray, lengths: np.ndarray | None = None, *,
             batch: int = 512) -> np.ndarray:
    """(N, 1, L) waveforms -> (N, 1, mels, frames) normalized log-mel spectrograms, float32.

    `settings`: a run's state["audio"] (the whole preprocess.json state is taken too, for its "audio").
    `lengths`: (N,) real samples of each waveform, the rest silence padding (None: all real): normalized over
    the real frames, the padded frames 0. Runs from before this ("padding" not in settings) normalize over
    every frame, as they were trained."""
    settings = settings.get("audio", settings)
    spec = mel_spec(settings)
    waves = np.asarray(waves, dtype=np.float32)
    if waves.ndim != 3 or waves.shape[1] != 1:
        raise UserError(f"audio features take waveforms of shape (N, 1, samples); got {waves.shape}: "
                        "add the channel axis with waves[:, None]")
    check_clip(spec.sample_rate, waves.shape[-1] / spec.sample_rate)
    if lengths is None or settings.get("padding") != "masked":
        out = [normalize_each(spec(torch.from_numpy(waves[i:i + batch, 0]))).numpy() for i in range(0, len(waves), batch)]
    else:
        lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.long)
        out = [_masked(spec, torch.from_numpy(waves[i:i + batch, 0]), lengths[i:i + batch]).numpy()
               for i in range(0, len(waves), batch)]
    if not out:
        return np.zeros((0, 1, spec.n_mels, spec.frames(waves.shape[-1])), np.float32)
    return np.concatenate(out)


def _masked(spec: MelSpec, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, L) waveforms real for their first `lengths` samples -> (B, 1, mels, frames) normalized over the real
    frames, padded frames 0. Half a frame of zeros more lets every clip's end be reflected (mel.reflect_tail)
    even when its padding is shorter than that; the extra frames are dropped."""
    half = spec.n_fft // 2
    frames = spec.frames(wave.shape[-1])
    wave = reflect_tail(torch.nn.functional.pad(wave, (0, half)), lengths, half)
    real = torch.clamp(lengths // spec.hop + 1, max=frames)  # frames centred inside the clip
    return normalize_each(spec(wave)[..., :frames], real)


def fit_audio(ds: Dataset, indices: dict, cfg, state: dict[str, Any]) -> tuple[dict, dict]:
    """Log-mel features of every split; the settings (nothing fitted) recorded as state["audio"]."""
    rate = int(ds.meta["sample_rate"])
    n_fft = frame_samples(rate)
    settings = {"sample_rate": rate, "clip_samples": int(ds.x.shape[-1]), "n_fft": n_fft,
                "hop": round(HOP_SECONDS * rate), "n_mels": cfg.n_mels,
                "padding": "masked"}  # left out of each file's normalization, set to 0 (features)
    if settings["n_mels"] > n_fft // 2:
        raise UserError(f"data.n_mels={cfg.n_mels} is more bands than the {n_fft // 2 + 1} frequencies of a "
                        f"{n_fft}-sample frame at {rate} Hz; use at most {n_fft // 4}")
    state["audio"] = settings
    lengths = (lambda idx: None) if ds.lengths is None else (lambda idx: ds.lengths[idx])  # noqa: E731
    x = {s: features(settings, ds.x[indices[s]], lengths(indices[s])) for s in ("train", "val", "test")}
    state["input_shape"] = list(x["train"].shape[1:])
    state["norm"] = None  # normalized per file here
    return x, indices


def transform_audio(state: dict[str, Any], x: np.ndarray, names: list[str] | None = None, *,
                    lengths: np.ndarray | None = None) -> np.ndarray:
    """(N, 1, clip samples) waveforms at the run's rate -> the model's (N, 1, mels, frames) features
    (`lengths`: as `features`)."""
    want = (1, state["audio"]["clip_samples"])
    if tuple(np.shape(x)[1:]) != want:
        raise UserError(f"audio inputs must be waveforms of shape {want}; got {tuple(np.shape(x)[1:])}")
    return features(state["audio"], x, lengths)


def read_audio_files(state: dict[str, Any], paths: list[Path]) -> np.ndarray:
    """WAV files at the run's sample rate and clip length, then its features: predict's inputs."""
    a, clip = state["audio"], state["audio"]["clip_samples"]
    clips = [read_clip(p, sample_rate=a["sample_rate"]) for p in paths]
    import sys

    for note in length_notes([len(c) for c in clips], [p.name for p in paths], clip=clip, rate=a["sample_rate"]):
        print(note, file=sys.stderr)  # on stderr: stdout holds the predictions
    waves = np.stack([fit_length(torch.from_numpy(c)[None], clip).numpy() for c in clips])
    return features(state["audio"], waves, np.array([min(len(c), clip) for c in clips], np.int64))


SHORT = 0.25  # a clip under this share of the run's length is mostly padding: said


def length_notes(lengths: list[int], names: list[str], *, clip: int, rate: int) -> list[str]:
    """Notes for predict's WAV files that the run's fixed clip length changes: those longer than it (only their
    first clip_samples are heard, as training cut its longest clips) and those much shorter (padded with
    silence). `lengths` in samples at the run's `rate`."""
    from idealfit.data.input_notes import _examples  # the 3 examples and "..." of predict's other notes

    def secs(n: int) -> str:
        return f"{n / rate:.3g} s"

    long = [f"{n} ({secs(k)})" for n, k in zip(names, lengths, strict=True) if k > clip]
    short = [f"{n} ({secs(k)})" for n, k in zip(names, lengths, strict=True) if k < SHORT * clip]
    notes = []
    if long:
        notes.append(f"{plural(len(long), 'WAV file')} longer than the run's {secs(clip)} clips, cut to "
                     f"their first {secs(clip)} (as training cut its longest clips): {_examples(long)}; cut a long "
                     "recording into clips of that length to hear all of it")
    if short:
        notes.append(f"{plural(len(short), 'WAV file')} under a quarter of the run's {secs(clip)} "
                     f"clips, padded with silence: {_examples(short)}")
    return notes
