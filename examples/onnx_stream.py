"""Play a WAV file through a namx ONNX model with plain onnxruntime: no namx needed.

    python onnx_stream.py MODEL.onnx IN.wav OUT.wav [--width W] [--block-size N]

This is all an application needs (spec §9, the ONNX binding):
- the graph's inputs are `audio` (float32, any length >= 1), `width` (int64 scalar; all-widths
  graphs only) and one input per state tensor; its outputs are `audio_out` and the next state;
- loop: out, *state = run(audio, width, state). Fed state.level = -1, a graph starts from its
  initial state (examples/node/stream.mjs works that way); this program instead takes the initial
  state from the file's metadata, as an application that keeps its own state buffers would
  (namx.initial_state: the states in order as little-endian float32, base64; names in
  namx.state_inputs, shapes in namx.state_shapes). To reset, go back to the initial state.
"""
import argparse
import base64
import binascii
import sys

import numpy as np
import onnxruntime as ort
import soundfile as sf

SPEC_VERSIONS = {"1.0"}  # the A2 spec versions whose ONNX binding this program implements


def fail(message):
    print(f"onnx_stream: {message}", file=sys.stderr)
    sys.exit(2)


def initial_state(path, meta):
    """The initial state from the metadata, checked: {state input name: array}."""
    try:
        names = meta["namx.state_inputs"].split(",") if meta["namx.state_inputs"] else []
        shapes = [tuple(int(d) for d in s.split("x")) for s in meta["namx.state_shapes"].split(",")] if names else []
        flat = np.frombuffer(base64.b64decode(meta["namx.initial_state"], validate=True), "<f4")
    except KeyError as e:
        fail(f"{path}: metadata has no {e.args[0]}")
    except (ValueError, binascii.Error) as e:
        fail(f"{path}: malformed state metadata ({e})")
    sizes = [int(np.prod(s)) for s in shapes]
    if len(shapes) != len(names) or any(len(s) != 3 or min(s) < 0 for s in shapes) or sum(sizes) != flat.size:
        fail(f"{path}: malformed state metadata (namx.state_inputs, namx.state_shapes and "
             f"namx.initial_state disagree)")
    ends = np.cumsum(sizes)
    return {n: flat[e - k:e].reshape(s) for n, s, k, e in zip(names, shapes, sizes, ends)}


def load(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # one real-time audio thread
    try:
        session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        fail(f"{path}: not a loadable ONNX model ({str(e).splitlines()[0]})")
    meta = session.get_modelmeta().custom_metadata_map
    version = meta.get("namx.spec_version")
    if version not in SPEC_VERSIONS:
        known = ", ".join(sorted(SPEC_VERSIONS))
        fail(f"{path}: namx.spec_version {version!r} is not one this program knows ({known})")
    return session, meta, initial_state(path, meta)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--width", type=int, help="for all-widths graphs: a value from namx.width_values")
    ap.add_argument("--block-size", type=int, default=64)
    args = ap.parse_args()
    if args.block_size < 1:
        fail(f"--block-size must be at least 1 (got {args.block_size})")

    session, meta, state = load(args.model)
    x, rate = sf.read(args.input, dtype="float32")
    if x.ndim != 1:
        fail(f"{args.input}: needs mono audio")
    if rate != float(meta["namx.sample_rate"]):
        fail(f"{args.input}: is {rate} Hz but the model runs at {meta['namx.sample_rate']} Hz")
    feeds = {}
    if "width" in {i.name for i in session.get_inputs()}:
        values = [int(v) for v in meta["namx.width_values"].split(",")]
        width = values[-1] if args.width is None else args.width
        if width not in values:
            fail(f"width {width} is not offered; this model offers {meta['namx.width_values']}")
        feeds["width"] = np.array(width, np.int64)
    outputs = [o.name for o in session.get_outputs()]  # audio_out, then the next state in input order
    y = np.empty_like(x)
    for start in range(0, len(x), args.block_size):
        block = x[start:start + args.block_size]
        out, *next_state = session.run(outputs, {"audio": block, **feeds, **state})
        y[start:start + len(block)] = out
        state = dict(zip(state, next_state))
    sf.write(args.output, y, int(rate), subtype="FLOAT")


if __name__ == "__main__":
    main()
