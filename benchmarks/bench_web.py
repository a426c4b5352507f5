"""Real-time factor of a namx ONNX model in headless Chromium (onnxruntime-web, wasm, one thread).

    python benchmarks/bench_web.py [MODEL] [--blocks 128 1024] [--seconds 4] [--repeats 3]

The browser example's scriptable mode (examples/web, ?autorun=1) streams the test mix through
the model in blocks of each size, on the page's main thread with the same code the AudioWorklet
runs; RTF = audio duration / processing time (higher is faster). Each width runs in the
all-widths graph and in its fixed-width graph; the baseline is ONNX Runtime in Python (the
fixed-width graph, one thread) measured in the same run, and "x" is RTF / baseline.
Needs node, Chromium and `npm ci --ignore-scripts` in examples/web.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import soundfile as sf

from namx.bundled import load_model
from namx.converters.onnx import export
from namx.runtimes import open_streamer
from namx.signals import mix

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples" / "web" / "tools"))
from harness import missing, run_pages, serve  # noqa: E402


def ort_rtf(model, label, x, block, repeats):
    s = open_streamer("onnxruntime", model, label)
    times = []
    for _ in range(repeats + 1):
        s.reset()
        t = time.perf_counter()
        for start in range(0, x.size, block):
            s.process(x[start:start + block])
        times.append(time.perf_counter() - t)
    return x.size / model.sample_rate / statistics.median(times[1:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="slim8")
    ap.add_argument("--blocks", type=int, nargs="+", default=[128, 1024])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    why = missing()
    if why:
        sys.exit(f"bench_web: {why}")
    model = load_model(args.model)
    x = np.resize(mix(model.sample_rate), int(args.seconds * model.sample_rate)).astype(np.float32)
    labels = [lv.label for lv in model.widths()]
    print(f"{model.source}: {args.seconds:g} s of audio, median of {args.repeats}, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'width':>6} {'block':>6} {'ORT (Python)':>13} {'web, fixed':>16} {'web, all-widths':>16}")
    with tempfile.TemporaryDirectory() as folder, serve(Path(folder)) as base:
        root = Path(folder)
        sf.write(root / "x.wav", x, int(model.sample_rate), subtype="FLOAT")
        onnx.save(export(model), root / "all.onnx")
        for label in labels:
            onnx.save(export(model, label), root / f"w{label}.onnx")
            for block in args.blocks:
                base_rtf = ort_rtf(model, label, x, block, args.repeats)
                runs = [{"model": f"../{graph}", "input": "../x.wav", "width": label, "block": block}
                        for graph in (f"w{label}.onnx", "all.onnx") for _ in range(args.repeats)]
                results = run_pages(base, runs)
                if any(r["error"] for r in results):
                    sys.exit(f"bench_web: {next(r['error'] for r in results if r['error'])}")
                fixed = statistics.median(r["rtf"] for r in results[:args.repeats])
                every = statistics.median(r["rtf"] for r in results[args.repeats:])
                print(f"{label:>6} {block:>6} {base_rtf:12.1f}x {fixed:7.1f}x x{fixed / base_rtf:5.2f} "
                      f"{every:7.1f}x x{every / base_rtf:5.2f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
