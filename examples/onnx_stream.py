"""Play a WAV file through a namx ONNX model with plain onnxruntime: no namx needed.

    python onnx_stream.py MODEL.onnx IN.wav OUT.wav [--width W] [--block-size N]

This is all an application needs (spec §9, the ONNX binding):
- the graph's inputs are `audio` (float32, any length), `width` (int64 scalar; all-widths graphs
  only) and one input per state tensor; its outputs are `audio_out` and the next state;
- the initial state is in the file's metadata (namx.initial_state: the states in order as
  little-endian float32, base64; names in namx.state_inputs, shapes in namx.state_shapes);
- loop: out, *state = run(audio, width, state). To reset, go back to the initial state.
"""
import argparse
import base64
import sys

import numpy as np
import onnxruntime as ort
import soundfile as sf


def load(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # one real-time audio thread
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    names = meta["namx.state_inputs"].split(",") if meta["namx.state_inputs"] else []
    shapes = [tuple(int(d) for d in s.split("x")) for s in meta["namx.state_shapes"].split(",")] if names else []
    flat = np.frombuffer(base64.b64decode(meta["namx.initial_state"]), "<f4")
    initial, at = {}, 0
    for name, shape in zip(names, shapes):
        n = int(np.prod(shape))
        initial[name] = flat[at:at + n].reshape(shape)
        at += n
    return session, meta, initial


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--width", type=int, help="for all-widths graphs: a value from namx.width_values")
    ap.add_argument("--block-size", type=int, default=64)
    args = ap.parse_args()

    session, meta, state = load(args.model)
    x, rate = sf.read(args.input, dtype="float32")
    if x.ndim != 1:
        sys.exit(f"{args.input}: needs mono audio")
    if rate != float(meta["namx.sample_rate"]):
        sys.exit(f"{args.input}: is {rate} Hz but the model runs at {meta['namx.sample_rate']} Hz")
    feeds = {}
    if "width" in {i.name for i in session.get_inputs()}:
        values = [int(v) for v in meta["namx.width_values"].split(",")]
        width = values[-1] if args.width is None else args.width
        if width not in values:
            sys.exit(f"width {width} is not offered; this model offers {meta['namx.width_values']}")
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
