"""The registry shape every backend (ONNX, TFLite, torch, generated C) shares.

Each backend has two tables: ARCHITECTURES, keyed by the IR type of a model's net (the types of
namx.model.Net), and ACTIVATIONS, keyed by activation name (namx.activations.ACTIVATIONS).
tests/test_backend_matrix.py checks that every table has every key, so a new architecture or
activation fails a test until each backend has its entry. An architecture a backend deliberately
does not handle has an `Unsupported` entry that says why.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import NamxError


@dataclass(frozen=True)
class Unsupported:
    """An ARCHITECTURES entry for what a backend does not handle; looking it up is a NamxError."""

    why: str


# Containers reach no backend as such: namx.widths' `model.at(width)` picks the submodel first.
ONE_WIDTH_AT_A_TIME = Unsupported("a SlimmableContainer runs one width at a time (model.at(width))")


def architecture(table: dict, model):
    """`table`'s entry for the IR type of model.net; a NamxError naming the file where it is Unsupported."""
    entry = table[type(model.net)]
    if isinstance(entry, Unsupported):
        raise NamxError(f"{model.source}: {entry.why}")
    return entry
