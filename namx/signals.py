"""Deterministic test signals (documented seeds), computed in float64 and returned as float32.

`mix(48000)` is bit-identical to the golden corpus input `mix_2s` (SHA-256
936351f7...aa96d769): 2 s of silence, an impulse, a sweep, noise, a synthetic guitar chord, a
full-scale square wave, a DC step and very quiet noise, butted together without fades.
"""
from __future__ import annotations

import numpy as np

# E-major chord, low to high (E2 B2 E3 G#3 B3 E4), in Hz.
E_MAJOR = (82.40689, 123.47083, 164.81378, 207.65235, 246.94165, 329.62756)


def silence(n: int) -> np.ndarray:
    return np.zeros(n)


def impulse(n: int) -> np.ndarray:
    x = np.zeros(n)
    x[0] = 1.0
    return x


def sweep(n: int, sample_rate: float, f1: float = 20.0, f2: float = 20000.0, db: float = -6.0) -> np.ndarray:
    """Exponential sine sweep f1 -> f2 over n samples: A*sin(2*pi*f1*L*(exp(t/L) - 1)), L = T/ln(f2/f1)."""
    length = (n / sample_rate) / np.log(f2 / f1)
    t = np.arange(n) / sample_rate
    return 10 ** (db / 20) * np.sin(2 * np.pi * f1 * length * (np.exp(t / length) - 1))


def noise(n: int, seed: int, rms: float) -> np.ndarray:
    """White Gaussian noise: default_rng(seed).standard_normal(n) * rms."""
    return np.random.default_rng(seed).standard_normal(n) * rms


def guitar(n: int, sample_rate: float, seed: int = 2, strum_s: float = 0.012, loop_gain: float = 0.996,
           peak: float = 0.5, chord=E_MAJOR) -> np.ndarray:
    """Karplus-Strong plucks of a chord, strummed low to high, scaled to `peak`.

    String i starts at round(i*strum_s*rate) with delay N = round(rate/f); its first N samples are
    uniform(-1, 1) draws from one default_rng(seed) (strings in order), then
    y[k] = loop_gain * 0.5 * (y[k-N] + y[k-N-1]), with y[-1] = 0.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    for i, f in enumerate(chord):
        start, delay = round(i * strum_s * sample_rate), round(sample_rate / f)
        y = np.zeros(max(n - start, 0))
        y[:delay] = rng.uniform(-1, 1, min(delay, y.size))
        padded = np.concatenate([[0.0], y])  # padded[k + 1] = y[k], so padded[0] is y[-1] = 0
        for k0 in range(delay, y.size, delay):  # each chunk reads only earlier samples
            k1 = min(k0 + delay, y.size)
            padded[k0 + 1:k1 + 1] = loop_gain * 0.5 * (padded[k0 - delay + 1:k1 - delay + 1]
                                                       + padded[k0 - delay:k1 - delay])
        y = padded[1:]
        out[start:] += y
    return out / np.max(np.abs(out)) * peak


def square(n: int, sample_rate: float, freq: float = 110.0) -> np.ndarray:
    """Full-scale square: +1 while frac(freq*t) < 0.5, else -1."""
    t = np.arange(n) / sample_rate
    return np.where((freq * t) % 1.0 < 0.5, 1.0, -1.0)


def mix(sample_rate: float = 48000.0) -> np.ndarray:
    """The 2-second test mix (at 48 kHz, the golden corpus input)."""
    def n(seconds):
        return round(seconds * sample_rate)
    parts = [
        silence(n(0.1)),
        impulse(n(0.1)),
        sweep(n(0.4), sample_rate),
        noise(n(0.3), seed=1, rms=10 ** (-12 / 20)),
        guitar(n(0.6), sample_rate),
        square(n(0.2), sample_rate),
        np.full(n(0.2), 0.5),
        noise(n(0.1), seed=3, rms=1e-4),
    ]
    return np.concatenate(parts).astype(np.float32)


SIGNALS = {"mix": mix}
