"""The log-mel frame in samples, and the check that a clip holds one: torch-free, so `config_validate` can
refuse a too-short data.clip_seconds without importing torch (which data/audio.py needs; ~1 s that a
config with a mistake, or `idealfit tune` before its first trial, need not pay, issue 12).
"""

from __future__ import annotations

import math

import numpy as np

from idealfit.errors import UserError

FRAME_SECONDS, HOP_SECONDS = 0.032, 0.010  # STFT frame and hop, scaled to the sample rate


def frame_samples(rate: int) -> int:
    """n_fft, the STFT frame in samples: FRAME_SECONDS rounded to a power of two (256 at 8 kHz, 512 at 16 kHz)."""
    return 1 << round(np.log2(FRAME_SECONDS * rate))


def check_clip(sample_rate: int, clip_seconds: float) -> None:
    """A clip too short for one centred STFT frame is refused before any work: the reflect padding of
    n_fft // 2 samples each side needs more samples than it pads (torch.stft would raise mid-run)."""
    n_fft, samples = frame_samples(sample_rate), round(sample_rate * clip_seconds)
    need = n_fft // 2 + 1
    if samples < need:
        raise UserError(f"data.clip_seconds={clip_seconds:g} gives {samples} samples at {sample_rate} Hz; the "
                        f"log-mel frames need at least {need} (half the {n_fft}-sample frame, plus one): use at "
                        f"least data.clip_seconds={math.ceil(need / sample_rate * 1000) / 1000:g}")
