"""Real-time factor of namx's ONNX graphs in ONNX Runtime vs the NumPy reference, per width.

    python benchmarks/bench_onnx.py [MODEL] [--blocks 64 2048] [--seconds 2] [--repeats 5]

Single thread everywhere. RTF = audio duration / processing time (higher is faster). The baseline
is the NumPy reference in float32, measured in the same run; "x ref" columns are RTF ratios
against it. Each figure is the median of --repeats passes after one warm-up pass; the spread
(max/min - 1 over the passes) is printed so machine noise is visible.
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from namx.bundled import load_model  # noqa: E402
from namx.runtimes import open_streamer  # noqa: E402
from namx.signals import mix  # noqa: E402

RUNTIMES = [("numpy", {"precision": "float32"}), ("onnxruntime", {}), ("onnxruntime-dynamic", {})]


def measure(streamer, x, block, repeats):
    times = []
    for i in range(repeats + 1):
        streamer.reset()
        t = time.perf_counter()
        for start in range(0, x.size, block):
            streamer.process(x[start:start + block])
        if i:
            times.append(time.perf_counter() - t)
    return statistics.median(times), max(times) / min(times) - 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="example")
    ap.add_argument("--blocks", type=int, nargs="+", default=[64, 2048])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    model = load_model(args.model)
    x = np.resize(mix(model.sample_rate), int(args.seconds * model.sample_rate))
    duration = x.size / model.sample_rate
    print(f"{model.source}: {args.seconds:g} s of audio, single thread, median of {args.repeats}, "
          f"load average {os.getloadavg()[0]:.2f}")
    header = f"{'width':>6} {'block':>6}" + "".join(f" {name:>20}" for name, _ in RUNTIMES)
    print(header + "   (RTF, x ref = ratio to numpy float32, ±spread)")
    for level in model.widths():
        streamers = {name: open_streamer(name, model, level.label, **opts) for name, opts in RUNTIMES}
        for block in args.blocks:
            cells, base = [], None
            for name, _ in RUNTIMES:
                t, spread = measure(streamers[name], x, block, args.repeats)
                rtf = duration / t
                base = base or rtf
                cells.append(f"{rtf:7.1f} x{rtf / base:5.1f} ±{spread * 100:2.0f}%")
            print(f"{level.label:>6} {block:>6}" + "".join(f" {c:>20}" for c in cells))


if __name__ == "__main__":
    main()
