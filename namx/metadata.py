"""The .nam metadata every binding copies: the ONNX graph (spec §9.4), the TFLite file (§10.5),
its C arrays and the generated C engine (§14) carry these fields, each where it is a number."""
from __future__ import annotations

COPIED = ("loudness", "input_level_dbu", "output_level_dbu", "gain")


def copied(metadata: dict) -> dict[str, float]:
    """The COPIED fields of a model's metadata that are numbers, as floats (the others are left out)."""
    return {k: float(v) for k in COPIED
            if isinstance(v := metadata.get(k), (int, float)) and not isinstance(v, bool)}
