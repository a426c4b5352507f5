"""namx models -> streaming ONNX graphs (spec §9, the ONNX binding).

    proto = export(model)              # one graph for every width: inputs audio, width, state.*
    proto = export(model, width="8")   # a fixed-width graph with pruned weights: audio, state.*

Both return an onnx.ModelProto that passes onnx.checker (full check) and strict shape inference,
with metadata_props describing it (METADATA below) and carrying the initial state. Both start
and reset themselves: a call that feeds no state starts from the initial state (graph.py).
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import onnx

from namx import SPEC_VERSION, __version__
from namx.outputs import atomic_output, check_output_path
from namx.errors import NamxError
from namx.metadata import copied
from namx.model import Model
from namx.stats import macs_per_sample, num_weights, prewarm_samples, receptive_field
from namx.widths import select

from .builder import STATE_IN, STATE_OUT
from .graph import AUDIO_IN, AUDIO_OUT, IR_VERSION, LEVEL_STATE, OPSET, WIDTH_IN, dynamic_model, fixed_model, \
    to_proto, width_values

# metadata_props keys (spec §9.4), all strings
METADATA = {
    "namx.spec_version": "A2 spec version the graph implements",
    "namx.version": "namx version that wrote the file",
    "namx.graph": "'dynamic' (all widths; has the width input) or 'fixed' (one width)",
    "namx.widths": "width labels offered, narrowest first, comma-separated",
    "namx.width_values": "the int64 to feed as `width` for each label, same order",
    "namx.weights": "per width label, the weights that width uses (as `namx info`)",
    "namx.macs_per_sample": "per width label, multiply-adds per sample (as `namx info`)",
    "namx.width": "fixed graphs: the label of their width",
    "namx.sample_rate": "sample rate in Hz the model expects",
    "namx.receptive_field": "per width, input samples that affect one output ('unbounded' for an LSTM)",
    "namx.prewarm_samples": "per width, zeros run to reach the initial state (spec §7.1)",
    "namx.state_inputs": "state input names in order, comma-separated",
    "namx.state_outputs": "matching state output names, same order",
    "namx.state_shapes": "shape of each state in the initial state, e.g. 1x9x1195, comma-separated",
    "namx.state_max_shapes": "per state, the largest size of each dimension over the graph's levels",
    "namx.level_state_shapes": "per level of the graph, the state shapes while it runs; levels separated by ;",
    "namx.initial_state": "the initial state: every state in order, little-endian float32, base64",
    "nam.architecture": "the .nam file's architecture",
    "nam.version": "the .nam file's version",
    "nam.metadata": "the .nam file's metadata object as JSON (name, loudness, levels, ...)",
    "nam.name": "metadata.name, when present",
    "nam.loudness": "metadata.loudness (dB), when present",
    "nam.input_level_dbu": "metadata.input_level_dbu, when present",
    "nam.output_level_dbu": "metadata.output_level_dbu, when present",
    "nam.gain": "metadata.gain, when present",
}


def export(model: Model, width=None) -> onnx.ModelProto:
    if model.in_channels != 1 or model.out_channels != 1:
        raise NamxError(f"{model.source}: model has {model.in_channels} input and {model.out_channels} output "
                        "channels; the ONNX binding streams mono (1 in, 1 out) models only")
    levels = model.widths()
    if width is None:
        built = dynamic_model(model)
        chosen = levels
    else:
        level = select(model, width)
        built = fixed_model(model, level)
        chosen = [level]
    graph, start, per_level = built.model, built.start(), built.level_shapes()
    states = list(start)

    def shapes(items):
        return ",".join("x".join(map(str, s)) for s in items)
    meta = {
        "namx.spec_version": SPEC_VERSION, "namx.version": __version__,
        "namx.graph": "dynamic" if width is None else "fixed",
        "namx.widths": ",".join(lv.label for lv in levels),
        "namx.width_values": ",".join(map(str, width_values(levels))),
        "namx.weights": ",".join(str(num_weights(model.at(lv))) for lv in levels),
        "namx.macs_per_sample": ",".join(str(macs_per_sample(model.at(lv))) for lv in levels),
        "namx.sample_rate": f"{model.sample_rate:g}",
        "namx.receptive_field": ",".join(str(receptive_field(model.at(lv)) or "unbounded") for lv in chosen),
        "namx.prewarm_samples": ",".join(str(prewarm_samples(model.at(lv))) for lv in chosen),
        "namx.state_inputs": ",".join(STATE_IN + n for n in states),
        "namx.state_outputs": ",".join(STATE_OUT + n for n in states),
        "namx.state_shapes": shapes(start[n].shape for n in states),
        "namx.state_max_shapes": shapes(np.max(per_level, axis=0).tolist()),
        "namx.level_state_shapes": ";".join(shapes(lv) for lv in per_level),
        "namx.initial_state": base64.b64encode(
            b"".join(np.ascontiguousarray(start[n], "<f4").tobytes() for n in states)).decode("ascii"),
        "nam.architecture": model.architecture, "nam.version": model.version,
        "nam.metadata": json.dumps(model.metadata, sort_keys=True),
    }
    if width is not None:
        meta["namx.width"] = chosen[0].label
    meta.update({f"nam.{key}": repr(value) for key, value in copied(model.metadata).items()})
    if isinstance(model.metadata.get("name"), str):
        meta["nam.name"] = model.metadata["name"]
    graph.metadata_props.update(meta)
    proto = to_proto(graph)
    onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    return proto


def initial_state(proto_or_meta) -> dict[str, np.ndarray]:
    """Decode a graph's initial state: {state input name: array}. Accepts a ModelProto or its metadata."""
    meta = proto_or_meta if isinstance(proto_or_meta, dict) else {p.key: p.value for p in proto_or_meta.metadata_props}
    names = meta["namx.state_inputs"].split(",") if meta["namx.state_inputs"] else []
    shapes = [tuple(int(d) for d in s.split("x")) for s in meta["namx.state_shapes"].split(",")] if names else []
    flat = np.frombuffer(base64.b64decode(meta["namx.initial_state"]), "<f4")
    out, at = {}, 0
    for name, shape in zip(names, shapes):
        n = int(np.prod(shape))
        out[name] = flat[at:at + n].reshape(shape).copy()
        at += n
    return out


def convert(model: Model, *, output, width, block_size, signatures, c_array, force) -> list[Path]:
    """`namx convert MODEL --to onnx [--width W] [-o OUT]`."""
    for flag, given in (("--block-size", block_size is not None), ("--signatures", signatures),
                        ("--c-array", c_array)):
        if given:
            raise NamxError(f"{flag} does not apply to ONNX (ONNX graphs take any block length)")
    if width is not None:
        width = select(model, width).label
    stem = Path(model.source).stem
    out = check_output_path(output or (f"{stem}.onnx" if width is None else f"{stem}.w{width}.onnx"), force, (".onnx",))
    proto = export(model, width)
    with atomic_output(out) as tmp:
        tmp.write_bytes(proto.SerializeToString())
    return [out]
