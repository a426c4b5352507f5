"""Deterministic test signals (documented seeds), computed in float64 and returned as float32.

One place for every test signal namx uses:

- `mix(48000)` is bit-identical to the golden corpus input `mix_2s` (SHA-256
  936351f7...aa96d769): 2 s of silence, an impulse, a sweep, noise, a synthetic guitar chord, a
  full-scale square wave, a DC step and very quiet noise, butted together without fades.
- `program(rate, seconds)` is the conformance suite's input: the segments in PROGRAM, each
  `seconds` long, generated at `rate` (48 kHz or the model's own rate; nothing is resampled).

Every generator takes a length in samples and returns float64; nothing depends on global state.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

# Chords, low to high, in Hz: E major (E2 B2 E3 G#3 B3 E4) and A major (A2 E3 A3 C#4 E4).
E_MAJOR = (82.40689, 123.47083, 164.81378, 207.65235, 246.94165, 329.62756)
A_MAJOR = (110.0, 164.81378, 220.0, 277.18263, 329.62756)
# The open strings (E2 A2 D3 G3 B3 E4), plucked one after another in `plucks`.
OPEN_STRINGS = (82.40689, 110.0, 146.83238, 195.99772, 246.94165, 329.62756)


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


def strings(n: int, sample_rate: float, notes, seed: int, loop_gain: float = 0.996) -> np.ndarray:
    """Karplus-Strong plucked strings, summed: `notes` is a sequence of (start sample, frequency Hz).

    Each string has delay N = round(rate/f); its first N samples are uniform(-1, 1) draws from one
    default_rng(seed) (strings in order), then y[k] = loop_gain * 0.5 * (y[k-N] + y[k-N-1]),
    with y[-1] = 0. A string rings from its start to the end.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    for start, f in notes:
        delay, length = round(sample_rate / f), max(n - start, 0)
        out[start:] += karplus_strong(rng.uniform(-1, 1, min(delay, length)), delay, length, loop_gain)
    return out


def _peak(x: np.ndarray, peak: float) -> np.ndarray:
    return x / np.max(np.abs(x)) * peak


def guitar(n: int, sample_rate: float, seed: int = 2, strum_s: float = 0.012, loop_gain: float = 0.996,
           peak: float = 0.5, chord=E_MAJOR) -> np.ndarray:
    """A chord strummed low to high (string i starts at round(i*strum_s*rate)), scaled to `peak`."""
    notes = [(round(i * strum_s * sample_rate), f) for i, f in enumerate(chord)]
    return _peak(strings(n, sample_rate, notes, seed, loop_gain), peak)


def plucks(n: int, sample_rate: float, seed: int = 4, peak: float = 0.5) -> np.ndarray:
    """Single notes: the open strings plucked one after another (string i at i*n/6), ringing on."""
    notes = [(i * n // len(OPEN_STRINGS), f) for i, f in enumerate(OPEN_STRINGS)]
    return _peak(strings(n, sample_rate, notes, seed), peak)


def chords(n: int, sample_rate: float, seed: int = 2, peak: float = 0.5, strum_s: float = 0.012) -> np.ndarray:
    """An E major chord, then from n/2 an A major chord, each strummed low to high; scaled to `peak`."""
    notes = [(round(i * strum_s * sample_rate), f) for i, f in enumerate(E_MAJOR)]
    notes += [(n // 2 + round(i * strum_s * sample_rate), f) for i, f in enumerate(A_MAJOR)]
    return _peak(strings(n, sample_rate, [(s, f) for s, f in notes if s < n], seed), peak)


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
    return _peak(out, peak)


def square(n: int, sample_rate: float, freq: float = 110.0) -> np.ndarray:
    """Full-scale square: +1 while frac(freq*t) < 0.5, else -1."""
    t = np.arange(n) / sample_rate
    return np.where((freq * t) % 1.0 < 0.5, 1.0, -1.0)


def clipped_sine(n: int, sample_rate: float, freq: float = 110.0, drive: float = 4.0) -> np.ndarray:
    """Full-scale clipping: clip(drive*sin(2*pi*freq*t), -1, 1)."""
    t = np.arange(n) / sample_rate
    return np.clip(drive * np.sin(2 * np.pi * freq * t), -1.0, 1.0)


def dc_step(n: int, level: float = 0.5) -> np.ndarray:
    """0, then +level from n/4, -level from n/2, and 0 again from 3n/4."""
    x = np.zeros(n)
    x[n // 4:n // 2], x[n // 2:3 * n // 4] = level, -level
    return x


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


# ---- the conformance program --------------------------------------------------------------------

@dataclass(frozen=True)
class SegmentKind:
    name: str
    description: str
    make: Callable[[int, float], np.ndarray]  # (samples, sample_rate) -> float64 samples


# The conformance program, in order. Silence comes first so that a runtime that does not start
# from the prewarmed initial state (spec §7.1) shows it at once.
PROGRAM = (
    SegmentKind("silence", "zeros", lambda n, sr: silence(n)),
    SegmentKind("impulse", "a unit impulse at the first sample, then zeros", lambda n, sr: impulse(n)),
    SegmentKind("sweep", "exponential sine sweep 20 Hz to min(20 kHz, 0.45*rate) at -6 dBFS",
                lambda n, sr: sweep(n, sr, f2=min(20000.0, 0.45 * sr))),
    SegmentKind("noise", "white Gaussian noise, -12 dBFS RMS, seed 1", lambda n, sr: noise(n, 1, 10 ** (-12 / 20))),
    SegmentKind("plucks", "guitar DI: the six open strings plucked in turn (Karplus-Strong, seed 4), peak 0.5",
                lambda n, sr: plucks(n, sr, seed=4)),
    SegmentKind("chords", "guitar DI: E major then A major, strummed (Karplus-Strong, seed 2), peak 0.5",
                lambda n, sr: chords(n, sr, seed=2)),
    SegmentKind("clipping", "full-scale clipping: clip(4*sin(2*pi*110*t), -1, 1)", lambda n, sr: clipped_sine(n, sr)),
    SegmentKind("dc_step", "DC steps: 0, +0.5, -0.5, 0 (quarters)", lambda n, sr: dc_step(n)),
    SegmentKind("quiet", "very quiet: the chords at peak 1e-4 (-80 dBFS), seed 5",
                lambda n, sr: chords(n, sr, seed=5, peak=1e-4)),
    SegmentKind("loud", "very loud: the chords at peak 4 (+12 dBFS; float samples are not clamped), seed 6",
                lambda n, sr: chords(n, sr, seed=6, peak=4.0)),
)
PROGRAM_SECONDS = 0.1  # default length of each segment (the program: 1 s)


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    start: int
    stop: int


def program(sample_rate: float = 48000.0, seconds: float = PROGRAM_SECONDS) -> tuple[np.ndarray, list[Segment]]:
    """The conformance input (float32) and where each segment of PROGRAM lies in it."""
    n = max(1, round(seconds * sample_rate))
    parts, segments = [], []
    for i, kind in enumerate(PROGRAM):
        parts.append(kind.make(n, sample_rate))
        segments.append(Segment(kind.name, kind.description, i * n, (i + 1) * n))
    return np.concatenate(parts).astype(np.float32), segments


def sha256(x: np.ndarray) -> str:
    """SHA-256 of the samples as little-endian float32 (how signals are identified in reports)."""
    return hashlib.sha256(np.ascontiguousarray(x, "<f4").tobytes()).hexdigest()


def _segment_signal(kind: SegmentKind):
    def make(sample_rate: float = 48000.0) -> np.ndarray:
        return kind.make(round(PROGRAM_SECONDS * sample_rate), sample_rate).astype(np.float32)
    return make


# `namx signal NAME`: name -> f(sample_rate) -> float32 samples
SIGNALS = {"mix": mix, "program": lambda sample_rate=48000.0: program(sample_rate)[0],
           # 4 s of guitar DI: the browser example's bundled clip (examples/web/di.wav)
           "di": lambda sample_rate=48000.0: guitar_di(round(4 * sample_rate), sample_rate, seed=7).astype(np.float32),
           **{kind.name: _segment_signal(kind) for kind in PROGRAM}}
