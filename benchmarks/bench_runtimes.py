"""Real-time factor of every namx runtime, per width and block size, single thread.

    python benchmarks/bench_runtimes.py [MODEL] [--runtimes numpy-float32 onnxruntime litert ...]
        [--blocks 64 2048] [--widths 3 8] [--seconds 2] [--repeats 5] [--clock wall|cpu]

RTF = audio duration / processing time (higher is faster; 1 = real time). Each runtime streams the
same signal (namx.signals.mix) in blocks of the given size, from a reset, and each figure is the
median of --repeats passes after one warm-up pass (which also builds the runtime's models). The
runtimes take turns pass by pass, so a load that changes during the run affects them alike.
The baseline is the NumPy reference in float64, measured in the same run; "x" is RTF / baseline.
"±" is the spread of the passes (max/min - 1): large spreads mean a busy machine.
When both ONNX forms are measured, the last column is the all-widths graph's time over the
fixed graph's at the same width ("dyn/fix"; 1.0 = as fast): the median over the passes of the
two times in the same pass.
`--clock cpu` uses this process's CPU time: on a machine other jobs load it leaves out time spent
waiting for a core (not cache contention). Default columns: every registered runtime; TFLM
(reference kernels) is slow, so `--runtimes` can leave it out. `c` is the generated C engine built
with -O2 (portable); `c-v3` builds it with -O3 -march=x86-64-v3 -ffp-contract=fast.
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
OPTIONS = {"numpy-float32": ("numpy", {"precision": "float32"}), "litert": ("litert", {"num_threads": 1}),
           # the generated C engine: "c" is the portable -O2 build, "c-v3" the AVX2/FMA one
           "c-v3": ("c", {"cflags": ["-O3", "-march=x86-64-v3", "-ffp-contract=fast"]})}


def measure(streamers: dict, x, block, repeats, clock) -> dict:
    """Per streamer, the seconds of each pass streaming x (after a warm-up pass); the streamers
    take turns pass by pass."""
    times = {name: [] for name in streamers}
    for i in range(repeats + 1):
        for name, streamer in streamers.items():
            streamer.reset()
            t = clock()
            for start in range(0, x.size, block):
                streamer.process(x[start:start + block])
            if i:
                times[name].append(clock() - t)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="example")
    ap.add_argument("--runtimes", nargs="+", default=["numpy-float32", *(r for r in RUNTIMES if r != "numpy")],
                    help=f"columns (numpy float64 is always the baseline): numpy-float32, {', '.join(RUNTIMES)}")
    ap.add_argument("--blocks", type=int, nargs="+", default=[64, 2048])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    ap.add_argument("--widths", nargs="+", help="width labels to measure (default: every width)")
    args = ap.parse_args()
    model = load_model(args.model)
    x = np.resize(mix(model.sample_rate), int(args.seconds * model.sample_rate))
    duration, clock = x.size / model.sample_rate, CLOCKS[args.clock]
    columns = [("numpy", ("numpy", {}))] + [(name, OPTIONS.get(name, (name, {}))) for name in args.runtimes]
    print(f"{model.source}: {args.seconds:g} s of audio, median of {args.repeats}, {args.clock} clock, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    names = [name for name, _ in columns]
    both = {"onnxruntime", "onnxruntime-dynamic"} <= set(names)
    print(f"{'width':>6} {'block':>6}" + "".join(f" {name:>21}" for name in names) + (" dyn/fix" if both else ""))
    for level in model.widths():
        if args.widths and level.label not in args.widths:
            continue
        streamers = {name: open_streamer(rt, model, level.label, **opts) for name, (rt, opts) in columns}
        for block in args.blocks:
            cells, base = [], None
            passes = measure(streamers, x, block, args.repeats, clock)
            for name, _ in columns:
                times = passes[name]
                rtf = duration / statistics.median(times)
                base = base or rtf
                cells.append(f"{rtf:6.1f} x{rtf / base:5.1f} ±{(max(times) / min(times) - 1) * 100:3.0f}%")
            ratio = ""
            if both:
                ratios = [d / f for d, f in zip(passes["onnxruntime-dynamic"], passes["onnxruntime"])]
                ratio = f" {statistics.median(ratios):7.2f}"
            print(f"{level.label:>6} {block:>6}" + "".join(f" {c:>21}" for c in cells) + ratio, flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
