"""An external runtime for the conformance tests: plain onnxruntime on namx's all-widths ONNX graph.

    python conform_runner.py GRAPH.onnx IN OUT WIDTH BLOCK|BLOCKS [SCHEDULE] [--raw] [--offset X] [--exit N] [--sleep S]
                             [--child PIDFILE] [--stdout-mb N] [--output-bytes N]

It follows the external-command contract (conformance/README.md) without importing namx: it
starts from the initial state in the graph's metadata, plays IN (WAV, or raw float32 with --raw)
in blocks of BLOCK samples or the lengths listed in the file BLOCKS, changes width where SCHEDULE says, and writes OUT.
--offset, --exit and --sleep break it on purpose (the tests check that the suite notices); so do
--child (leave a sleeping child behind, its pid in PIDFILE), --stdout-mb (flood stdout) and
--output-bytes (write that many bytes, a sparse file, as the output).
"""
import argparse
import base64
import sys
import time

import numpy as np
import onnxruntime as ort
import soundfile as sf


def main():
    ap = argparse.ArgumentParser()
    for name in ("graph", "input", "output", "width", "blocks"):
        ap.add_argument(name)
    ap.add_argument("schedule", nargs="?")
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--offset", type=float, default=0.0)
    ap.add_argument("--exit", type=int, default=0)
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--child")
    ap.add_argument("--stdout-mb", type=int, default=0)
    ap.add_argument("--output-bytes", type=int)
    a = ap.parse_args()
    if a.child:
        import subprocess
        child = subprocess.Popen(["sleep", "120"])
        with open(a.child, "w") as f:
            f.write(str(child.pid))
    for _ in range(a.stdout_mb):
        sys.stdout.buffer.write(b"x" * 2**20)
    if a.output_bytes is not None:
        with open(a.output, "wb") as f:
            f.truncate(a.output_bytes)
        return 0
    if a.exit:
        print("runner: failing on purpose", file=sys.stderr)
        return a.exit
    time.sleep(a.sleep)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(a.graph, opts, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    names = meta["namx.state_inputs"].split(",")
    shapes = [tuple(int(d) for d in s.split("x")) for s in meta["namx.state_shapes"].split(",")]
    flat, at, state = np.frombuffer(base64.b64decode(meta["namx.initial_state"]), "<f4"), 0, {}
    for name, shape in zip(names, shapes):
        state[name] = flat[at:at + int(np.prod(shape))].reshape(shape)
        at += int(np.prod(shape))
    value = dict(zip(meta["namx.widths"].split(","), (int(v) for v in meta["namx.width_values"].split(","))))
    changes = {}
    if a.schedule:
        for line in open(a.schedule):
            sample, label = line.split()
            changes[int(sample)] = label
    width = a.width

    x = np.fromfile(a.input, "<f4") if a.raw else sf.read(a.input, dtype="float32")[0]
    if a.blocks.isdigit():  # {block}: a fixed size
        size = int(a.blocks)
        lengths = [min(size, x.size - k) for k in range(0, x.size, size)]
    else:  # {blocks}: a file of lengths
        lengths = [int(v) for v in open(a.blocks).read().split()]
    outputs = [o.name for o in session.get_outputs()]
    y, start = np.empty_like(x), 0
    for n in lengths:
        width = changes.get(start, width)
        out, *nxt = session.run(outputs, {"audio": x[start:start + n], "width": np.array(value[width], np.int64),
                                          **state})
        y[start:start + n] = out + a.offset
        state = dict(zip(names, nxt))
        start += n
    if a.raw:
        y.astype("<f4").tofile(a.output)
    else:
        sf.write(a.output, y, int(float(meta["namx.sample_rate"])), subtype="FLOAT")
    return 0


if __name__ == "__main__":
    sys.exit(main())
