"""Tests for cmkt_lib.sound: synthesis puts each pitch where it belongs, the mel filterbank
follows the HTK mel formula, and log-mel spectrograms have their documented shape."""

import math

import numpy as np
import pytest
import torch

from cmkt_lib.attributes import COLOURS, SHAPES
from cmkt_lib.sound import (
    HOP, N_FFT, N_FRAMES, N_MELS, N_SAMPLES, PITCH, SAMPLE_RATE, log_mel_spectrogram, mel_filterbank,
    synthesize,
)


def htk_mel(f):
    """The published HTK mel scale (O'Shaughnessy 1987; HTK Book): 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def htk_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def tone(frequency, shape="circle", amplitude=0.7, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return synthesize(np.array([SHAPES.index(shape)]), np.array([frequency]), np.array([amplitude]),
                      np.array([noise]), rng)


def test_the_htk_formula_is_the_published_one():
    assert htk_mel(1000.0) == pytest.approx(1000.0, abs=0.1)   # the scale is anchored at 1 kHz = 1000 mel
    assert htk_mel(700.0) == pytest.approx(2595.0 * math.log10(2.0))
    assert htk_hz(htk_mel(440.0)) == pytest.approx(440.0)


@pytest.mark.parametrize("colour", COLOURS)
def test_a_pure_tone_peaks_at_its_frequency_bin(colour):
    frequency = PITCH[colour]
    wave = tone(frequency)[0]
    assert wave.shape == (N_SAMPLES,) and np.abs(wave).max() <= 1.0
    spectrum = np.abs(np.fft.rfft(wave))
    resolution = SAMPLE_RATE / N_SAMPLES                                 # 3.9 Hz per bin
    assert abs(spectrum.argmax() * resolution - frequency) <= resolution
    # a sine has no harmonics: nothing above a tenth of the peak at twice the frequency
    assert spectrum[int(round(2 * frequency / resolution))] < 0.1 * spectrum.max()


def test_each_colour_lights_the_mel_band_of_its_pitch():
    fb = mel_filterbank()
    centres = htk_hz(np.linspace(0.0, htk_mel(SAMPLE_RATE / 2), N_MELS + 2))[1:-1]
    peaks = []
    for colour in COLOURS:
        spec = log_mel_spectrogram(tone(PITCH[colour]))[0]               # (mel, frames)
        band = int(spec.mean(dim=1).argmax())
        peaks.append(band)
        # the loudest band is one of the two filters whose centres bracket the pitch
        assert abs(centres[band] - PITCH[colour]) <= np.diff(centres)[max(band - 1, 0):band + 1].max()
        assert fb[band, int(round(PITCH[colour] * N_FFT / SAMPLE_RATE))] > 0
    assert peaks == sorted(peaks) and len(set(peaks)) == len(COLOURS)   # higher pitch, higher band


def test_mel_filter_centres_follow_the_htk_formula():
    fb = mel_filterbank()
    assert fb.shape == (N_MELS, N_FFT // 2 + 1) and fb.dtype == np.float32
    edges = htk_hz(np.linspace(0.0, htk_mel(SAMPLE_RATE / 2), N_MELS + 2))
    freqs = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    bin_width = freqs[1]
    for m in range(N_MELS):
        lower, centre, upper = edges[m], edges[m + 1], edges[m + 2]
        # each filter is the triangle lower -> centre -> upper, evaluated on the FFT bins
        want = np.clip(np.minimum((freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre)), 0, None)
        np.testing.assert_allclose(fb[m], want, atol=1e-6)
        if fb[m].max() > 0:
            assert abs(freqs[fb[m].argmax()] - centre) <= bin_width
    # centres equally spaced in mel, from 0 to the Nyquist frequency (4 kHz)
    assert np.allclose(np.diff(htk_mel(edges)), htk_mel(SAMPLE_RATE / 2) / (N_MELS + 1))
    # neighbouring triangles share edges: between the first and the last centre they sum to 1
    inside = (freqs >= edges[1]) & (freqs <= edges[-2])
    np.testing.assert_allclose(fb[:, inside].sum(axis=0), 1.0, atol=1e-5)


def test_log_mel_shape_and_device():
    waves = np.stack([tone(PITCH[c], shape=s, seed=i)[0] for i, (c, s) in enumerate(zip(COLOURS, SHAPES))])
    spec = log_mel_spectrogram(waves)
    assert spec.shape == (len(COLOURS), N_MELS, N_FRAMES) and spec.dtype == torch.float32
    assert torch.isfinite(spec).all()
    assert torch.equal(log_mel_spectrogram(torch.as_tensor(waves)), spec)
    assert 1 + N_SAMPLES // HOP >= N_FRAMES                             # the frames kept are real ones


def test_log_mel_refuses_the_wrong_length():
    short = np.zeros((2, 1000))
    with pytest.raises(ValueError, match=r"2048 samples \(0\.256 s at 8000 Hz\), got 1000.*16 frames instead of 32"):
        log_mel_spectrogram(short)
    with pytest.raises(ValueError, match=r"got 4096"):
        log_mel_spectrogram(np.zeros((1, 4096)))
    with pytest.raises(ValueError, match=r"waveform\[None\]"):
        log_mel_spectrogram(np.zeros(N_SAMPLES))
    with pytest.raises(TypeError, match="floating point"):
        log_mel_spectrogram(np.zeros((1, N_SAMPLES), dtype=np.int16))
