"""The generated C engine timed in C (no Python in the loop), per build, against the core's FMA peak.

    taskset -c 1 python benchmarks/bench_c.py [MODEL[:WIDTH] ...] [--block 64] [--seconds 4]

For each model/width and each build (BUILDS: a portable -O2 and -O3 -march=x86-64-v3), a small C
harness streams a signal through `process()` in blocks of --block samples and reports the real-time
factor (audio seconds / processing seconds, median of 5 passes). "MAC/s" counts the weight
multiply-adds per sample (namx.stats.macs_per_sample); "of peak" divides it by the multiply-adds per
second that a register-only loop of 8-float multiply-adds reaches in the same build on this core
(FMA with AVX2 in the v3 build; separate SSE2 multiplies and adds in the -O2 build). --history-check also times two WaveNets alike but for 1024x longer dilations
and prints the ratio of their per-call costs (ring buffers: it should stay near 1).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from namx import load
from namx.bundled import load_model
from namx.converters.c.build import compiler
from namx.converters.c.generate import generate
from namx.stats import macs_per_sample, receptive_field

BUILDS = {"-O2": ["-O2"], "-O3 -march=x86-64-v3 -ffp-contract=fast": ["-O3", "-march=x86-64-v3", "-ffp-contract=fast"]}
SHARED = Path(os.environ.get("NAMX_SHARED", Path(__file__).resolve().parents[2] / "shared"))
A1_NANO = str(SHARED / "models" / "generated" / "a1_nano.nam")  # the corpus's A1 nano (NAMX_SHARED)

HARNESS = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "engine.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char **argv)
{
    const size_t block = (size_t)atol(argv[1]), total = (size_t)atol(argv[2]);
    static float x[65536], y[65536];
    namx_engine_state *s = malloc(sizeof *s);
    double best[5];
    size_t i, r;
    for (i = 0; i < block; i++) x[i] = 0.3f * (float)((i * 7919u) % 1000u) / 1000.0f - 0.15f;
    namx_engine_init(s);
    for (r = 0; r < 6; r++) {
        double t = now();
        for (i = 0; i + block <= total; i += block) namx_engine_process(s, x, y, block);
        t = now() - t;
        if (r) best[r - 1] = t;
    }
    for (r = 0; r < 5; r++) printf("%.9f\n", best[r]);
    return y[0] == 12345.0f;
}
"""

PEAK = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <string.h>
#include <time.h>
typedef float vf __attribute__((vector_size(32)));
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(void)
{
    /* 12 independent chains of 8-float multiply-adds, all in registers: enough to hide latency */
    vf a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, m, c, sum;
    float out[8];
    long it;
    double t;
    memset(&a0, 0, sizeof a0);
    a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = a10 = a11 = a0;
    m = a0 + 0.999f;
    c = a0 + 1e-6f;
    t = now();
    for (it = 0; it < 20000000; it++) {
        a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c; a4 = a4 * m + c; a5 = a5 * m + c;
        a6 = a6 * m + c; a7 = a7 * m + c; a8 = a8 * m + c; a9 = a9 * m + c; a10 = a10 * m + c; a11 = a11 * m + c;
    }
    t = now() - t;
    sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    memcpy(out, &sum, sizeof out);
    printf("%.9f %f\n", 20000000.0 * 12 * 8 / t, out[0]);
    return 0;
}
"""


def build(folder: Path, sources: dict, flags: list[str], name: str) -> Path:
    for n, text in sources.items():
        (folder / n).write_text(text)
    exe = folder / name
    cfiles = [str(folder / n) for n in sources if n.endswith(".c")]
    subprocess.run([*compiler().split(), "-std=c99", *flags, *cfiles, "-o", str(exe), "-lm"],
                   check=True)
    return exe


def time_engine(model, level, flags, block, samples, folder) -> float:
    """Median seconds per sample."""
    h, c, _ = generate(model.at(level), "namx_engine", "engine.h", level.label, level.index)
    exe = build(folder, {"engine.h": h, "engine.c": c, "harness.c": HARNESS}, flags, "bench")
    out = subprocess.run([str(exe), str(block), str(samples)], capture_output=True, text=True, check=True).stdout
    return statistics.median(float(v) for v in out.split()) / (samples // block * block)


def history_models() -> list:
    """Two 8-channel WaveNets alike but for their dilations (1..8 and 1024..8192): same arithmetic,
    histories 1024 times longer."""
    import json

    import numpy as np

    from namx import loads
    from namx.loader import weights_needed
    out = []
    for scale in (1, 1024):
        layers = {"input_size": 1, "condition_size": 1, "channels": 8, "kernel_size": 3, "activation": "Tanh",
                  "dilations": [scale * d for d in (1, 2, 4, 8)],
                  "head": {"out_channels": 1, "kernel_size": 1, "bias": True}}
        obj = {"version": "0.7.0", "architecture": "WaveNet", "sample_rate": 48000,
               "config": {"layers": [layers], "head": None, "head_scale": 0.5}, "weights": []}
        obj["weights"] = (0.3 * np.random.default_rng(0).standard_normal(weights_needed(obj))).tolist()
        out.append(loads(json.dumps(obj), f"dilations x{scale}"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=["example:8", "example:3", A1_NANO, "slim8:1"])
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--history-check", action="store_true")
    args = ap.parse_args()
    print(f"block {args.block}, {args.seconds:g} s of audio per pass, median of 5; compiler {compiler()} "
          f"(-std=c99 + build flags); load average {os.getloadavg()[0]:.2f}; "
          f"CPU affinity {sorted(os.sched_getaffinity(0))}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        peaks = {}
        for label, flags in BUILDS.items():
            exe = build(folder, {"peak.c": PEAK}, flags, "peak")
            peaks[label] = float(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()[0])
        print("FMA peak (multiply-adds/s, register-only loop): "
              + ", ".join(f"{k}: {v / 1e9:.1f} G" for k, v in peaks.items()))
        print(f"{'model':>24} {'width':>6} {'MAC/sample':>10}" + "".join(f" {k:>34}" for k in BUILDS))
        for spec in args.models:
            name, _, width = spec.partition(":")
            model = load(name) if os.path.exists(name) else load_model(name)
            level = next(lv for lv in model.widths() if lv.label == width) if width else model.widths()[-1]
            macs = macs_per_sample(model.at(level))
            samples = int(args.seconds * model.sample_rate)
            cells = []
            for label, flags in BUILDS.items():
                t = time_engine(model, level, flags, args.block, samples, folder)
                rtf = 1 / (t * model.sample_rate)
                cells.append(f"{rtf:7.1f}x RT {macs / t / 1e9:5.2f} GMAC/s {100 * macs / t / peaks[label]:4.1f}%")
            print(f"{Path(name).stem:>24} {level.label:>6} {macs:>10}" + "".join(f" {c:>34}" for c in cells),
                  flush=True)
        if args.history_check:
            short, long = history_models()
            flags = list(BUILDS.values())[-1]
            times = [time_engine(m, m.widths()[0], flags, args.block, int(args.seconds * 48000), folder)
                     for m in (short, long)]
            print(f"history check ({list(BUILDS)[-1]}): per-call cost with 1024x longer histories "
                  f"(receptive field {receptive_field(short)} -> {receptive_field(long)}): "
                  f"{times[1] / times[0]:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
