"""The world's sounds and their log-mel spectrograms.

Each object makes a short tone: its *timbre* follows the shape (a circle hums a sine, a square
buzzes a square wave, ...), its *pitch* follows the colour and its *loudness* the size. The
position is not in the sound at all: some knowledge lives in one modality only.

Waveforms are computed in float64 from constants written out as literals, for the same reason
as the images (see render.py): the stored int16 sound must come out the same on every CPU."""

import math

import numpy as np
import torch

from .attributes import COLOURS, SHAPES

SAMPLE_RATE = 8000
N_SAMPLES = 2048  # 0.256 s
N_FFT = 256
HOP = 64
N_MELS = 32
N_FRAMES = 32

# Pitch (Hz) of each colour, a major third apart (220 * 2 ** (k / 3)), so neighbours are easy to
# tell apart. Literals, not a power computed at import: a pitch one bit off on another CPU would
# shift every phase, and the square and pulse waves switch sign at exact phase thresholds.
PITCH = dict(zip(COLOURS, (220.0, 277.1826309768721, 349.2282314330039,
                           440.0, 554.3652619537442, 698.4564628660078)))
LOUDNESS = {"small": 0.25, "medium": 0.45, "large": 0.7}


def _waveform(shape: str, phase):
    """One period-1 waveform evaluated at `phase` (in cycles): the shape's timbre."""
    frac = np.mod(phase, 1.0)
    if shape == "circle":
        return np.sin(math.tau * phase)
    if shape == "square":
        return np.where(frac < 0.5, 1.0, -1.0)
    if shape == "triangle":
        return 4 * np.abs(frac - 0.5) - 1
    if shape == "star":
        return 2 * frac - 1  # sawtooth
    if shape == "cross":
        return np.where(frac < 0.2, 1.0, -0.25)  # narrow pulse
    if shape == "diamond":
        return 0.6 * np.sin(math.tau * phase) + 0.4 * np.sin(3.0 * math.tau * phase)
    raise ValueError(f"unknown shape {shape!r}; allowed values are {list(SHAPES)}")


def synthesize(shape, frequency, amplitude, noise_std, rng) -> np.ndarray:
    """Waveforms float64 `(n, N_SAMPLES)` in [-1, 1], before rounding to a stored grid.

    shape: int `(n,)` index into SHAPES; frequency (Hz), amplitude, noise_std: `(n,)`."""
    n = len(shape)
    t = np.arange(N_SAMPLES, dtype=np.float64) / SAMPLE_RATE
    phase = np.asarray(frequency, dtype=np.float64)[:, None] * t[None, :] + rng.random((n, 1))
    wave = np.empty((n, N_SAMPLES), dtype=np.float64)
    for k, name in enumerate(SHAPES):
        idx = np.flatnonzero(shape == k)
        if idx.size:
            wave[idx] = _waveform(name, phase[idx])
    # a quick attack and a gentle decay, so every tone sounds like a note
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-t / 0.4)
    wave *= envelope[None, :] * np.asarray(amplitude, dtype=np.float64)[:, None]
    wave += rng.standard_normal(wave.shape) * np.asarray(noise_std, dtype=np.float64)[:, None]
    return np.clip(wave, -1.0, 1.0, out=wave)


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE):
    """Triangular mel filters, float32 `(n_mels, n_fft // 2 + 1)` (HTK mel scale)."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None] - lower) / (centre - lower)
    falling = (upper - freqs[None]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def log_mel_spectrogram(waveforms) -> torch.Tensor:
    """Log-mel spectrograms float32 `(n, N_MELS, N_FRAMES)` of waveforms `(n, N_SAMPLES)`.

    Accepts a numpy array or a tensor; the result is a CPU tensor (or on the input's device)."""
    w = torch.as_tensor(waveforms)
    if w.ndim == 1:
        raise ValueError(
            f"expected a batch of waveforms (n, {N_SAMPLES}); got one waveform of shape "
            f"{tuple(w.shape)}: use waveform[None] to make a batch of one"
        )
    if w.ndim != 2:
        raise ValueError(f"expected waveforms of shape (n, samples), got {tuple(w.shape)}")
    if not torch.is_floating_point(w):
        raise TypeError(f"waveforms must be floating point, got {w.dtype}")
    if w.shape[1] != N_SAMPLES:
        raise ValueError(
            f"each waveform must have {N_SAMPLES} samples ({N_SAMPLES / SAMPLE_RATE:.3f} s at {SAMPLE_RATE} Hz), "
            f"got {w.shape[1]}: the spectrogram would have {1 + w.shape[1] // HOP} frames instead of {N_FRAMES}. "
            f"Cut or zero-pad the sound to {N_SAMPLES} samples first")
    w = w.float()
    spec = torch.stft(
        w, n_fft=N_FFT, hop_length=HOP, window=torch.hann_window(N_FFT, device=w.device),
        center=True, return_complex=True,
    )
    power = spec.abs() ** 2  # (n, n_fft//2+1, frames)
    mel = torch.as_tensor(mel_filterbank(), device=w.device) @ power
    return torch.log(mel + 1e-6)[..., :N_FRAMES].contiguous()
