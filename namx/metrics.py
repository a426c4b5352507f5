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
