"""Models that ship inside the package, usable by name wherever a MODEL path is expected.

`A2.nam` is NeuralAmpModelerCore's example A2 model (sdatkinson/NeuralAmpModelerCore,
example_models/A2.nam at commit daae2d0b, MIT licence: see A2.LICENSE): a SlimmableContainer
with a 3-channel and an 8-channel WaveNet.

`slim8.nam` is namx's own slimmable example: an A2-style channel-sliced WaveNet offering every
width from 1 to 8 channels, trained by tools/train_slim8.py (the Slimmable NAM paper's method)
on synthetic guitar DI through A2's 8-channel model (see the README for its width table).
"""
from __future__ import annotations

from pathlib import Path

from ..loader import load
from ..model import Model

EXAMPLE = "example"
HERE = Path(__file__).parent
BUNDLED = {"example": "A2.nam", "A2": "A2.nam", "slim8": "slim8.nam"}


def path(name: str) -> Path:
    return HERE / BUNDLED[name]


def shorten(text: str) -> str:
    """`text` with each bundled model's installed path replaced by its name (`A2`, `slim8`):
    messages name what the user typed, not a site-packages path. (`Model.source` stays the
    path: the conformance suite and converters read the file through it.)"""
    for name in dict.fromkeys(n for n in BUNDLED if n != EXAMPLE):
        text = text.replace(str(path(name)), name)
    return text


def load_model(spec, limits=None) -> Model:
    """Load a .nam file, or a bundled model by name when no such file exists (this is `namx.load`)."""
    if isinstance(spec, str) and spec in BUNDLED and not Path(spec).exists():
        return load(path(spec), limits)
    return load(spec, limits)
