"""What the ONNX graphs' self-starting and all-widths machinery costs, per width and block size.

    python benchmarks/bench_onnx_reset.py [MODEL] [--widths 3 8] [--blocks 64 256 2048]
        [--rounds 60] [--samples 2048]

Three graphs stream the same audio at one width, in ONNX Runtime with one thread, through the
runtime's IOBinding runner (state in buffers allocated once):
- "fixed": the fixed-width graph namx writes (it starts and resets itself through `state.level`,
  spec §9.3: an `If` whose branches continue the incoming state or start from the initial one);
- "no reset": the same graph without that mechanism (it always continues the state fed in), the
  cost the mechanism is measured against;
- "all widths": the all-widths graph, fed this width.
Each ratio comes from its own pair of graphs taking turns: each round streams --samples samples
through both, the one that goes first alternating (whichever runs after another graph finds the
caches holding that graph's weights), and the ratio is the median over the rounds of the two times
in the same round, so a load that changes slowly (other jobs on the machine) cancels. Only the two
graphs compared take part: a third one interleaved (the all-widths graph, with every level's
weights) adds cache misses to whichever runs after it. Times are this thread's CPU time. "fixed/no reset" is
the mechanism's cost (1.05 = 5 %), "all/fixed" the all-widths graph's time over the fixed graph's.
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from namx.bundled import load_model  # noqa: E402
from namx.converters.onnx import export  # noqa: E402
from namx.converters.onnx.graph import fixed_model, to_proto  # noqa: E402
from namx.runtimes.onnx_runtime import GraphRunner  # noqa: E402
from namx.signals import mix  # noqa: E402


def without_reset(model, level, proto):
    """The fixed graph of `level` without the start/reset mechanism, with `proto`'s metadata."""
    bare = to_proto(fixed_model(model, level, reset=False).model, check=False)
    bare.metadata_props.extend(proto.metadata_props)
    return bare


def paired(a, b, chunks, rounds: int) -> tuple[list, list]:
    """The times of runners a and b per round; they take turns, the first alternating."""
    for r in (a, b):  # warm up: the first calls plan memory
        r.reset()
        for c in chunks:
            r.process(c)
    times = {a: [], b: []}
    for i in range(rounds):
        for r in ((a, b) if i % 2 == 0 else (b, a)):
            t = time.thread_time()
            for c in chunks:
                r.process(c)
            times[r].append(time.thread_time() - t)
    return times[a], times[b]


def ratio(a: list, b: list) -> float:
    return statistics.median(x / y for x, y in zip(a, b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="slim8")
    ap.add_argument("--widths", nargs="+", help="width labels (default: every width)")
    ap.add_argument("--blocks", type=int, nargs="+", default=[64, 256, 2048])
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--samples", type=int, default=2048, help="samples per graph per round")
    args = ap.parse_args()
    model = load_model(args.model)
    signal = mix(model.sample_rate).astype(np.float32)
    dynamic = GraphRunner(export(model))
    print(f"{model.source}: {args.rounds} rounds of {args.samples} samples per graph, thread CPU time, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'width':>6} {'block':>6} {'fixed µs/call':>14} {'fixed/no reset':>15} {'all/fixed':>10}")
    for level in model.widths():
        if args.widths and level.label not in args.widths:
            continue
        proto = export(model, level.label)
        dynamic.select(level.index)
        fixed, bare = GraphRunner(proto), GraphRunner(without_reset(model, level, proto))
        for block in args.blocks:
            n = max(1, args.samples // block)
            chunks = [np.ascontiguousarray(signal[i * block:(i + 1) * block]) for i in range(n)]
            with_reset, without = paired(fixed, bare, chunks, args.rounds)
            every_width, fixed_alone = paired(dynamic, fixed, chunks, args.rounds)
            per_call = statistics.median(with_reset + fixed_alone) / n * 1e6
            print(f"{level.label:>6} {block:>6} {per_call:14.1f} {ratio(with_reset, without):15.3f} "
                  f"{ratio(every_width, fixed_alone):10.3f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
