"""Log-mel spectrograms and resampling in plain PyTorch.

torchaudio does not import beside the CPU torch build pinned here, so these are the few lines it would
have given; tests/data/test_mel.py checks them against a numpy computation of the same formulas.

    resample     band-limited (windowed-sinc) interpolation, the polyphase rule torchaudio's
                 `resample` and Julius Smith's resampling notes use: out[n] = Σ_k x[k] · h(n/r - k) with
                 h(t) = c · sinc(c · t) · hann(t), c = min(1, r) (r = new rate / old rate), 6 zero
                 crossings each side; downsampling lowers the cut-off to the new Nyquist frequency, so it
                 does not alias. One conv1d per phase (gcd-reduced rates), no Python loop over samples.
    power STFT   torch.stft with a periodic Hann window, centred frames (reflect padding), |X|².
    mel scale    HTK: mel(f) = 2595 · log10(1 + f / 700). n_mels triangles between fmin and fmax, their
                 corners at equally spaced mels, peak 1 at each centre, no area normalisation (torchaudio's
                 `melscale_fbanks(norm=None, mel_scale="htk")`, librosa's `mel(htk=True, norm=None)`).
    log          log(mel power + 1e-6): the floor keeps silence finite (about -13.8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LOG_FLOOR = 1e-6
ZERO_CROSSINGS = 6  # of the resampling kernel, each side


def hz_to_mel(f: torch.Tensor) -> torch.Tensor:
    """HTK mel scale: 2595 · log10(1 + f / 700)."""
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def mel_to_hz(m: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(*, n_fft: int, n_mels: int, sample_rate: int, fmin: float = 0.0,
                   fmax: float | None = None) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) float64 triangular filters on the HTK mel scale (weights of each FFT bin)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)  # (F,) bin centres
    lo_mel, hi_mel = hz_to_mel(torch.tensor([float(fmin), float(fmax)], dtype=torch.float64)).tolist()
    corners = mel_to_hz(torch.linspace(lo_mel, hi_mel, n_mels + 2, dtype=torch.float64))  # (M + 2,) in Hz
    lo, mid, hi = corners[:-2], corners[1:-1], corners[2:]  # (M,) each
    up = (freqs[:, None] - lo) / (mid - lo)  # (F, M) rising edge
    down = (hi - freqs[:, None]) / (hi - mid)  # falling edge
    return torch.clamp(torch.minimum(up, down), min=0.0)  # float64; cast to the waveforms' dtype by the caller


@dataclass(frozen=True)
class MelSpec:
    """The log-mel features of a run (recorded in preprocess.json under "audio").

    Args:
        sample_rate: Hz of the waveforms (default 8000, the Free Spoken Digit recordings' rate).
        n_fft: samples per frame (default 256: 32 ms at 8 kHz).
        hop: samples between frames (default 80: 10 ms at 8 kHz).
        n_mels: mel bands (default 40).
        fmin, fmax: the band edges in Hz (default 0 and sample_rate / 2).

    Example:
        >>> MelSpec()(torch.zeros(2, 8000)).shape  # 1 s at 8 kHz -> (B, 1, mels, frames)
        torch.Size([2, 1, 40, 101])
    """

    sample_rate: int = 8000
    n_fft: int = 256
    hop: int = 80
    n_mels: int = 40
    fmin: float = 0.0
    fmax: float | None = None

    def frames(self, samples: int) -> int:
        return samples // self.hop + 1  # centred frames

    def power(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, L) waveforms -> (B, n_fft // 2 + 1, frames) power spectrogram |STFT|²."""
        window = torch.hann_window(self.n_fft, dtype=wave.dtype, device=wave.device)
        spec = torch.stft(wave, self.n_fft, hop_length=self.hop, window=window, center=True, pad_mode="reflect",
                          return_complex=True)
        return spec.real ** 2 + spec.imag ** 2

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, L) waveforms -> (B, 1, n_mels, frames) log-mel power."""
        fb = mel_filterbank(n_fft=self.n_fft, n_mels=self.n_mels, sample_rate=self.sample_rate, fmin=self.fmin,
                            fmax=self.fmax).to(wave.device, wave.dtype)
        mel = torch.einsum("bft,fm->bmt", self.power(wave), fb)  # (B, M, T)
        return torch.log(mel + LOG_FLOOR)[:, None]


def normalize_each(spec: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
    """Per-file normalization: each (1, M, T) spectrogram to mean 0 and standard deviation 1 (a loud and a
    quiet recording of the same word then look alike); a constant one (silence) becomes all zeros.

    `frames`: (B,) real frames of each spectrogram (the rest is silence padding), or None (all real). The mean
    and std are taken over the real frames only and the padded frames set to 0, the normalized mean: padding
    neither shifts a file's statistics nor looks like signal (speech toolkits' utterance-level CMVN over the
    real frames; zero-padded frames would sit at log(1e-6) = -13.8 and swamp a short clip's statistics).
    """
    if frames is None:
        mean = spec.mean(dim=(1, 2, 3), keepdim=True)
        std = spec.std(dim=(1, 2, 3), keepdim=True)
        return torch.where(std > 1e-3, (spec - mean) / std.clamp(min=1e-3), torch.zeros((), dtype=spec.dtype))
    real = (torch.arange(spec.shape[-1], device=spec.device)[None, :] < frames[:, None].to(spec.device))  # (B, T)
    real = real[:, None, None, :].to(spec.dtype)  # (B, 1, 1, T)
    n = real.sum(dim=(1, 2, 3), keepdim=True) * spec.shape[2]  # values per file: real frames x mels
    mean = (spec * real).sum(dim=(1, 2, 3), keepdim=True) / n
    var = (((spec - mean) * real) ** 2).sum(dim=(1, 2, 3), keepdim=True) / (n - 1).clamp(min=1)  # as torch.std
    std = var.sqrt()
    out = torch.where(std > 1e-3, (spec - mean) / std.clamp(min=1e-3), torch.zeros((), dtype=spec.dtype))
    return out * real


def reflect_tail(wave: torch.Tensor, lengths: torch.Tensor, width: int) -> torch.Tensor:
    """(B, L) waveforms, real for their first lengths[b] samples and zero after -> the same with the `width`
    samples after each end replaced by the end's reflection (x[n-2], x[n-3], ...), as torch.stft's centred
    frames pad a clip that ends there. So the spectrogram frames up to a clip's end are those of the clip
    alone, whatever padding it got (none, 0.1 s or 10 s): the features do not depend on the clip length.
    """
    b, total = wave.shape
    k = torch.arange(width, device=wave.device)[None, :]  # (1, W)
    n = lengths.to(wave.device).long()[:, None]  # (B, 1)
    dst = n + k  # (B, W) padded positions after each end
    src = (n - 2 - k).clamp(min=0)  # their reflections (a clip shorter than `width` repeats its first sample)
    src = torch.minimum(src, (n - 1).clamp(min=0))
    inside = dst < total  # (B, W): only where there is padding to overwrite
    out = wave.clone()
    rows = torch.arange(b, device=wave.device)[:, None].expand_as(dst)
    out[rows[inside], dst[inside]] = wave[rows[inside], src[inside]]
    return out


def resample(wave: torch.Tensor, orig: int, new: int) -> torch.Tensor:
    """(B, L) waveforms at `orig` Hz -> (B, ceil(L · new / orig)) at `new` Hz, by windowed-sinc interpolation.

    Output n sits at input position p = n · orig / new: out[n] = Σ_k x[floor(p) + k] · h(k - frac(p)), one
    gather of the (n_out, 2 · width + 1) input windows and a weighted sum, a kernel row per phase (gcd-reduced
    rates), in chunks of the batch to bound memory.
    """
    if orig == new:
        return wave
    g = math.gcd(orig, new)
    up, down = new // g, orig // g
    cutoff = min(1.0, new / orig)  # of the input's Nyquist frequency
    width = math.ceil(ZERO_CROSSINGS / cutoff)  # kernel half-width, in input samples
    k = torch.arange(-width, width + 1)  # (K,) input offsets
    frac = (torch.arange(up) * down % up).double() / up  # (up,) fractional position of each phase
    t = k[None, :].double() - frac[:, None]  # (up, K) distance input sample - output point
    window = torch.where(t.abs() <= width, torch.cos(t * math.pi / (2 * width)) ** 2, torch.zeros((), dtype=t.dtype))
    kernel = (cutoff * torch.sinc(cutoff * t) * window).to(wave.dtype).to(wave.device)  # (up, K): Hann-windowed sinc
    n = torch.arange(math.ceil(wave.shape[-1] * up / down), device=wave.device)  # (n_out,)
    idx = (n * down // up)[:, None] + k.to(wave.device)[None, :] + width  # (n_out, K) into the padded input
    weights = kernel[n % up]  # (n_out, K)
    x = F.pad(wave, (width, width + 1))  # zeros beyond both ends
    step = max(1, 2**24 // max(1, idx.numel()))  # samples per chunk: ~16M gathered values at a time
    return torch.cat([(x[i:i + step, idx] * weights).sum(-1) for i in range(0, wave.shape[0], step)])
