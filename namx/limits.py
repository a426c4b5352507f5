"""Resource limits: how big a model namx reads and how long a block it runs in one piece.

A hostile or broken input must end in a one-line error, not in exhausted memory or a run that
never ends. These limits are namx's own choice, not the spec's (spec §3.11 lets a reader set
them); each default is far above any real NAM model (the largest in the shared corpus has 48,854
weights, a receptive field of 6,347 samples, a 1.5 MB file, 2.5e9 work per second of audio and 2.7e8
for a prewarm, so the work limits are 20 times that), and each can be raised where a user
legitimately needs more: with an environment variable, or in Python with a Limits object

    namx.load("huge.nam", limits=Limits(weights=2**26))
    namx.load("huge.nam", limits=dataclasses.replace(limits.current(), weights=2**26))

The nesting of models inside each other (condition_dsp, container submodels) has its own fixed
limit, loader.MAX_NESTING, stated in the spec.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields

from .errors import NamxError


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 64 * 2**20     # size of a .nam file
    weights: int = 2**23             # floats one model needs (a grouped convolution counted dense,
                                     # as namx's runtimes expand it)
    receptive_field: int = 2**20     # samples: the receptive field and the prewarm length (§7.1)
    state: int = 2**24               # floats of state a runtime keeps between blocks, per width
    block_size: int = 2**16          # samples per call of a compiled model; runtimes split longer blocks
    work_per_second: int = 5 * 10**10  # work (stats.work_per_sample) per second of audio, per width
    prewarm_work: int = 6 * 10**9    # work of one prewarm (§7.1), per width
    widths: int = 2**10              # width levels one file offers
    audio_samples: int = 2**32       # samples in one input audio file, read from its header

    def exceeded(self, name: str, what: str) -> str:
        """The message for a value over the limit `name`: `what` says what it is (`the file has 9 bytes`)."""
        return f"{what}, more than namx's limit of {getattr(self, name)} (set {ENV[name]} to allow more)"


def check_block_size(value, name: str = "block_size") -> int:
    """A block length a user asked for: a whole number from 1 to the block_size limit."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NamxError(f"{name} must be a whole number >= 1 (got {value!r})")
    limits = current()
    if value > limits.block_size:
        raise NamxError(limits.exceeded("block_size", f"{name} is {value} samples"))
    return value


def count(n: int) -> str:
    """A count for a message: exact, or to 3 digits when it is absurdly large."""
    return str(n) if n < 10**12 else f"{float(n):.3g}"


ENV = {f.name: f"NAMX_MAX_{f.name.upper()}" for f in fields(Limits)}


def current() -> Limits:
    """The default limits, with any set through NAMX_MAX_* environment variables."""
    values = {}
    for name, var in ENV.items():
        text = os.environ.get(var)
        if text is None or not text.strip():
            continue
        try:
            values[name] = int(text)
        except ValueError:
            values[name] = 0
        if values[name] < 1:
            raise NamxError(f"{var} must be a whole number >= 1 (got {text!r})")
    return Limits(**values)
