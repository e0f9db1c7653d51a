"""Audio front end of the CREMA-D benchmark: WAV file → log spectrogram, as OGM-GE computes it.

OGM-GE (Peng et al. 2022) loads each clip at 22.05 kHz, tiles it to 3 s, clips it to [-1, 1] and
takes ``log(|STFT| + 1e-7)`` with ``n_fft=512``, ``hop_length=353`` (librosa defaults otherwise:
Hann window, centred frames, zero padding), giving a ``[257, 188]`` image. Here librosa is
replaced by ``scipy.signal.resample_poly`` and ``torch.stft``; the log-mel variant projects the
power spectrum on an HTK mel filter bank first.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from omib_st.errors import OmibError


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate of a WAV file."""
    path = Path(path)
    try:
        try:
            import soundfile

            samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        except ImportError:  # the `bench` extra is not installed: PCM WAV via scipy
            samples, rate = _read_with_scipy(path)
    except Exception as err:  # any decoder failure means a bad file
        raise OmibError(
            f"audio file {path} cannot be read ({type(err).__name__}: {err})",
            "expected a PCM WAV file such as the CREMA-D AudioWAV/<clip>.wav",
        ) from None
    if samples.shape[0] == 0:
        raise OmibError(f"audio file {path} has no samples", "expected a non-empty PCM WAV file")
    return samples.mean(axis=1).astype(np.float32), int(rate)


def _read_with_scipy(path: Path) -> tuple[np.ndarray, int]:
    from scipy.io import wavfile

    rate, samples = wavfile.read(path)
    samples = samples.reshape(len(samples), -1)
    if np.issubdtype(samples.dtype, np.integer):
        info = np.iinfo(samples.dtype)
        samples = (samples.astype(np.float32) - (info.max + info.min + 1) / 2) / (info.max + 1)
    return samples.astype(np.float32), rate


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular HTK mel filters ``[n_mels, n_fft // 2 + 1]`` from 0 Hz to Nyquist."""

    def mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    def hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(0.0, mel(np.array(sample_rate / 2)), n_mels + 2))
    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - freqs) / np.maximum(upper - centre, 1e-9)
    return np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32)


def spectrogram(
    samples: np.ndarray,
    rate: int,
    *,
    sample_rate: int = 22050,
    duration: float = 3.0,
    n_fft: int = 512,
    hop_length: int = 353,
    n_mels: int | None = None,
) -> np.ndarray:
    """Log-magnitude STFT ``[n_fft // 2 + 1, T]`` (or log-mel ``[n_mels, T]``) of a clip.

    The clip is resampled to ``sample_rate``, repeated (tiled) or cut to exactly ``duration``
    seconds and clipped to [-1, 1]; ``T = 1 + round(sample_rate * duration) // hop_length``.
    """
    if rate != sample_rate:
        from scipy.signal import resample_poly

        ratio = Fraction(sample_rate, rate).limit_denominator(1000)
        samples = resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)
    length = round(sample_rate * duration)
    samples = np.clip(np.tile(samples, -(-length // len(samples)))[:length], -1.0, 1.0)
    stft = torch.stft(
        torch.from_numpy(samples),
        n_fft,
        hop_length,
        window=torch.hann_window(n_fft),
        center=True,
        pad_mode="constant",
        return_complex=True,
    ).abs()
    if n_mels is None:
        return torch.log(stft + 1e-7).numpy()
    filters = torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels))
    return torch.log(filters @ stft.pow(2) + 1e-7).numpy()
