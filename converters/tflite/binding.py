"""The namx TFLite binding's names and layouts (spec §10): one definition used by the exporter,
the runtimes, the C-array writer and the test that checks the spec's tables.

A streaming graph has inputs [audio, state...] and outputs [audio, next state...]; the states
come in the NumPy reference's order (namx/reference.py) and each next state has its state's
shape. Metadata entry METADATA ("namx", JSON) describes every streaming subgraph; each one's
initial (prewarmed) state is the metadata buffer it names, the states' float32 values
concatenated in input order (C order within a state).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .builder import S

AUDIO = "audio"
NEXT_SUFFIX = ":next"  # output tensor name = state name + this
AUDIO_OUT = AUDIO + ":out"
METADATA = "namx"
INITIAL_STATE = "namx.initial_state"  # + "." + signature key in multi-subgraph files
FORMAT = "namx-tflite-stream"
DEFAULT_BLOCK_SIZE = 64

# The "namx" metadata JSON (spec §10.5): top-level fields, then the fields of each entry of "graphs".
METADATA_FIELDS = {
    "format": f'always "{FORMAT}"',
    "spec": 'the spec and version the file follows, "A2 1.0"',
    "namx_version": "the namx version that wrote the file",
    "architecture": "the source model's architecture",
    "sample_rate": "sample rate in Hz",
    "widths": "every width label the source model offers, narrowest first",
    "metadata": "loudness, gain, input_level_dbu and output_level_dbu from the .nam metadata, where present",
    "graphs": "one entry per streaming subgraph (below)",
}
GRAPH_FIELDS = {
    "signature": "its SignatureDef key, `width_<label>`",
    "subgraph": "its subgraph index",
    "width": "the width label",
    "level": "the width level index (0 = narrowest)",
    "block_size": "N, samples per call",
    "sample_rate": "sample rate in Hz",
    "receptive_field": "input samples that affect one output sample (null: unbounded, LSTM)",
    "inputs": "input tensor names, in order",
    "outputs": "output tensor names (signature names), in order",
    "state": "each state's name and shape, in input order",
    "initial_state": "name of the metadata entry holding the initial state (null: held outside the file, §10.6)",
    "carrier": '"io": state tensors are inputs and outputs (the binding)',
}

# Tensor layouts (spec §10.3): shape as a function of the block size N, C channels, R rows.
LAYOUTS = {
    "audio (input and output)": "[1, N]",
    "convolution history": "[1, R, 1, C]",
    "LSTM h or c": "[1, H]",
}


def signature_key(label: str) -> str:
    return f"width_{label}"


def file_name(stem: str, label: str, suffix: str = ".tflite") -> str:
    """One file per width: `<stem>.w<label>.tflite` (label as `namx info` prints it)."""
    return f"{stem}.w{label}{suffix}"


def signatures_name(stem: str) -> str:
    return f"{stem}.widths.tflite"


def c_identifier(text: str) -> str:
    """A C identifier from a file stem: other characters become '_', and a leading digit gets '_'."""
    ident = re.sub(r"[^0-9A-Za-z_]", "_", text)
    return ident if re.match(r"[A-Za-z_]", ident) else f"_{ident}"


@dataclass
class StreamBinding:
    """What an app needs to run one streaming subgraph: I/O order, state shapes, initial state."""

    signature: str
    subgraph: int
    width: str
    level: int
    block_size: int
    sample_rate: float
    state_names: list[str]
    state_shapes: list[tuple[int, ...]]
    initial_state_buffer: str | None  # None: the state is not in the file (a C array's model, §10.6)
    initial_state: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    receptive_field: int | None = None
    carrier: str = "io"  # "variables": state stays in resource variables (runtime-internal models)

    @property
    def inputs(self) -> list[str]:
        return [AUDIO, *(self.state_names if self.carrier == "io" else [])]

    @property
    def outputs(self) -> list[str]:
        return self.inputs

    def to_json(self) -> dict:
        return {"signature": self.signature, "subgraph": self.subgraph, "width": self.width, "level": self.level,
                "block_size": self.block_size, "sample_rate": self.sample_rate,
                "receptive_field": self.receptive_field, "inputs": self.inputs, "outputs": self.outputs,
                "state": [{"name": n, "shape": list(s)} for n, s in zip(self.state_names, self.state_shapes)],
                "initial_state": self.initial_state_buffer, "carrier": self.carrier}

    def initial_state_bytes(self) -> bytes:
        return b"".join(np.ascontiguousarray(self.initial_state[n], np.float32).tobytes() for n in self.state_names)


def read(model_bytes: bytes) -> tuple[dict, list[StreamBinding]]:
    """The namx metadata of a .tflite written by namx: (model facts, one binding per stream subgraph)."""
    m = S.Model.GetRootAsModel(model_bytes, 0)
    entries = {}
    for i in range(m.MetadataLength()):
        md = m.Metadata(i)
        entries[md.Name().decode()] = m.Buffers(md.Buffer()).DataAsNumpy()
    if METADATA not in entries:
        raise ValueError("not a namx TFLite file (no 'namx' metadata)")
    meta = json.loads(bytes(entries[METADATA]).decode())
    bindings = []
    for b in meta["graphs"]:
        shapes = [tuple(s["shape"]) for s in b["state"]]
        held = b["initial_state"] is not None
        flat = np.frombuffer(bytes(entries[b["initial_state"]]), np.float32) if shapes and held else None
        state, at = {}, 0
        for s in b["state"] if flat is not None else []:
            size = int(np.prod(s["shape"]))
            state[s["name"]] = flat[at:at + size].reshape(s["shape"]).copy()
            at += size
        bindings.append(StreamBinding(b["signature"], b["subgraph"], b["width"], b["level"], b["block_size"],
                                      b["sample_rate"], [s["name"] for s in b["state"]], shapes,
                                      b["initial_state"], state, b["receptive_field"], b["carrier"]))
    return meta, bindings


def read_file(path: str | Path) -> tuple[dict, list[StreamBinding]]:
    return read(Path(path).read_bytes())
