"""Error measures between an output and a reference (spec: numerics and tolerances)."""
from __future__ import annotations

import numpy as np


def esr_db(y, reference) -> float:
    """Error-to-signal ratio in dB: 10*log10(sum((y - ref)^2) / sum(ref^2)), summed in float64."""
    y, ref = np.asarray(y, np.float64).reshape(-1), np.asarray(reference, np.float64).reshape(-1)
    err = float(np.sum((y - ref) ** 2))
    return 10 * np.log10(max(err, 1e-300) / max(float(np.sum(ref ** 2)), 1e-300))


def max_abs_error(y, reference) -> float:
    return float(np.max(np.abs(np.asarray(y, np.float64).reshape(-1) - np.asarray(reference, np.float64).reshape(-1))))


def tolerance(floor_esr_db: float, floor_max_abs: float, peak: float, precision: str) -> tuple[float, float]:
    """The pass bounds (ESR dB, max abs error) of spec §8.3 for one reference output.

    `floor_*` are what an exact float64 evaluation reaches against the reference (the golden
    index's float64_esr_db / float64_max_abs); `peak` is max |reference|; `precision` is the
    runtime's class, "float32" or "float64".
    """
    esr_margin, abs_factor = {"float32": (6.0, 3.0), "float64": (1.0, 1.5)}[precision]
    return max(-120.0, floor_esr_db + esr_margin), max(1e-5 * max(1.0, peak), abs_factor * floor_max_abs)
