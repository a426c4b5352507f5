"""Real-time factor of the NumPy reference, per width and block size (single process).

    python benchmarks/bench_reference.py [MODEL] [--blocks 64 2048] [--seconds 2] [--repeats 3]

RTF = audio duration / processing time (higher is faster; 1 = real time). The baseline is the
float64 reference measured in the same run; the ratio column is float32 RTF / float64 RTF.
Times are the median of repeats after one warm-up pass.
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from namx.bundled import load_model  # noqa: E402
from namx.runtimes.numpy_ref import NumpyStreamer  # noqa: E402
from namx.signals import mix  # noqa: E402


def rtf(model, width, precision, block, x, repeats):
    s = NumpyStreamer(model, width, precision=precision)
    times = []
    for i in range(repeats + 1):
        s.reset()
        t = time.perf_counter()
        for start in range(0, x.size, block):
            s.process(x[start:start + block])
        if i:  # the first pass is a warm-up
            times.append(time.perf_counter() - t)
    return x.size / model.sample_rate / statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="example")
    ap.add_argument("--blocks", type=int, nargs="+", default=[64, 2048])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    model = load_model(args.model)
    x = np.resize(mix(model.sample_rate), int(args.seconds * model.sample_rate))
    print(f"{model.source}: NumPy reference, {args.seconds:g} s of audio, median of {args.repeats}")
    print(f"{'width':>6} {'block':>6} {'RTF float64':>12} {'RTF float32':>12} {'f32/f64':>8}")
    for level in model.widths():
        for block in args.blocks:
            r64 = rtf(model, level.label, "float64", block, x, args.repeats)
            r32 = rtf(model, level.label, "float32", block, x, args.repeats)
            print(f"{level.label:>6} {block:>6} {r64:>12.2f} {r32:>12.2f} {r32 / r64:>8.2f}")


if __name__ == "__main__":
    main()
