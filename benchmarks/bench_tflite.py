"""Real-time factor of the TFLite runtimes (LiteRT, TFLM) per width and block size, single thread.

    python benchmarks/bench_tflite.py [MODEL] [--blocks 64 2048] [--seconds 2] [--repeats 5]

RTF = audio duration / processing time (higher is faster; 1 = real time), median of repeats after
one warm-up pass, each runtime streaming the same signal in blocks of the given size (the block
size its models are exported at). The baseline is the NumPy reference (float64) measured in the
same run; `x` columns are RTF / baseline. ONNX Runtime is included when a runtime named
"onnxruntime" is registered. LiteRT runs XNNPACK (its default); TFLM runs its reference kernels.
`--clock cpu` times with this process's CPU time instead of wall-clock time: on a machine that
other jobs load, it leaves out the time the process waited for a core (not cache contention).
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from namx.bundled import load_model  # noqa: E402
from namx.runtimes import RUNTIMES, open_streamer  # noqa: E402
from namx.signals import mix  # noqa: E402


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def rtf(model, width, runtime, block, x, repeats, clock, **options):
    s = open_streamer(runtime, model, width, **options)
    times = []
    for i in range(repeats + 1):
        s.reset()
        t = clock()
        for start in range(0, x.size, block):
            s.process(x[start:start + block])
        if i:  # the first pass is a warm-up (and builds the models)
            times.append(clock() - t)
    return x.size / model.sample_rate / statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="example")
    ap.add_argument("--blocks", type=int, nargs="+", default=[64, 2048])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-tflm", action="store_true", help="skip TFLM (slow: reference kernels)")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="wall-clock (default) or CPU time")
    args = ap.parse_args()
    model = load_model(args.model)
    x = np.resize(mix(model.sample_rate), int(args.seconds * model.sample_rate))
    columns = [("litert", "litert", {"num_threads": 1})]
    if not args.no_tflm:
        columns.append(("tflm", "tflm", {}))
    if "onnxruntime" in RUNTIMES:
        columns.append(("onnxruntime", "onnxruntime", {}))
    clock = CLOCKS[args.clock]
    print(f"{model.source}: {args.seconds:g} s of audio, median of {args.repeats}, {args.clock} clock, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    head = f"{'width':>6} {'block':>6} {'numpy':>8}" + "".join(f" {name:>12} {'x':>6}" for name, _, _ in columns)
    print(head)
    for level in model.widths():
        for block in args.blocks:
            base = rtf(model, level.label, "numpy", block, x, args.repeats, clock)
            row = f"{level.label:>6} {block:>6} {base:>8.2f}"
            for _, runtime, options in columns:
                r = rtf(model, level.label, runtime, block, x, args.repeats, clock, **options)
                row += f" {r:>12.2f} {r / base:>6.2f}"
            print(row, flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
