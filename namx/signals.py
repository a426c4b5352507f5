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
        length = max(n - start, 0)
        out[start:] += karplus_strong(rng.uniform(-1, 1, min(delay, length)), delay, length, loop_gain)
    return out / np.max(np.abs(out)) * peak


def karplus_strong(excitation: np.ndarray, delay: int, n: int, loop_gain: float) -> np.ndarray:
    """n samples of a plucked string: y[:delay] = excitation, then
    y[k] = loop_gain * 0.5 * (y[k-delay] + y[k-delay-1]) with y[-1] = 0."""
    y = np.zeros(n)
    y[:delay] = excitation[:n]
    padded = np.concatenate([[0.0], y])  # padded[k + 1] = y[k], so padded[0] is y[-1] = 0
    for k0 in range(delay, n, delay):  # each chunk reads only earlier samples
        k1 = min(k0 + delay, n)
        padded[k0 + 1:k1 + 1] = loop_gain * 0.5 * (padded[k0 - delay + 1:k1 - delay + 1]
                                                   + padded[k0 - delay:k1 - delay])
    return padded[1:]


# Chord shapes as semitones above the root (guitar voicings, low string first).
CHORD_SHAPES = ((0, 7, 12, 16, 19, 24), (0, 7, 12, 15, 19, 24), (0, 7, 12), (0, 4, 7, 12))


def guitar_di(n: int, sample_rate: float, seed: int = 0, peak: float = 0.8) -> np.ndarray:
    """A longer synthetic guitar DI performance: single notes, strummed chords and palm mutes.

    Events follow each other 0.12-0.8 s apart (an occasional 1-2 s rest). Each is, with
    probabilities 0.45/0.35/0.2, a single note (MIDI 40-76, E2-E5), a chord (root MIDI 40-57,
    a shape from CHORD_SHAPES, strummed 6-25 ms per string, down or up) or a palm-muted note
    (loop gain 0.90-0.96 instead of 0.990-0.998). Velocities span 30 dB; each string is a
    Karplus-Strong pluck whose uniform(-1, 1) excitation passes a one-pole low-pass (pole 0-0.7:
    pick brightness) and rings for 0.4-2.5 s. All draws come from one default_rng(seed), in this
    order; the sum is scaled to `peak`.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    t = round(rng.uniform(0.02, 0.2) * sample_rate)
    while t < n:
        kind = rng.choice(3, p=(0.45, 0.35, 0.2))
        velocity = 10 ** (rng.uniform(-30, 0) / 20)
        if kind == 1:
            root = int(rng.integers(40, 58))
            notes = [root + s for s in CHORD_SHAPES[int(rng.integers(len(CHORD_SHAPES)))]]
            if rng.random() < 0.3:
                notes = notes[::-1]  # up-strum
            strum = rng.uniform(0.006, 0.025)
        else:
            notes, strum = [int(rng.integers(40, 77))], 0.0
        loop_gain = rng.uniform(0.90, 0.96) if kind == 2 else rng.uniform(0.990, 0.998)
        ring = rng.uniform(0.4, 2.5) if kind != 2 else rng.uniform(0.1, 0.3)
        for i, note in enumerate(notes):
            start = t + round(i * strum * sample_rate)
            length = min(n - start, round(ring * sample_rate))
            if length <= 0:
                break
            delay = round(sample_rate / (440.0 * 2 ** ((note - 69) / 12)))
            pole = rng.uniform(0.0, 0.7)
            excitation = rng.uniform(-1, 1, delay)
            for k in range(1, delay):  # one-pole low-pass: brightness of the pick
                excitation[k] = (1 - pole) * excitation[k] + pole * excitation[k - 1]
            out[start:start + length] += velocity * karplus_strong(excitation, delay, length, loop_gain)
        gap = rng.uniform(1.0, 2.0) if rng.random() < 0.08 else rng.uniform(0.12, 0.8)
        t += round(gap * sample_rate)
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
