"""What ONNX Runtime charges for an `If`: the floor under namx's self-starting and all-widths graphs.

    python benchmarks/bench_onnx_if.py [--tensors 24] [--ops 120] [--depths 0 1 2 3 4] [--rounds 40]

namx's graphs put each level's network inside `If`s (spec §9.3): a fixed graph one (start/reset),
an all-widths graph of n levels 1 + ceil(log2 n) nested ones. Two synthetic graphs measure what
that costs in the installed onnxruntime (CPU, one thread, IOBinding), against the same graph with
no `If` (depth 0), measured in the same run:
- "states": --tensors state tensors [1, 2, L] pass through d nested `If`s (the innermost adds 1 to
  each): the cost of carrying state in and out of a branch;
- "ops": a chain of --ops small ops (Add on [1, 2, 64]), each with its own constant as a network's
  layers have their weights, inside d nested `If`s (constants in the innermost branch): the cost of
  running a network deeper inside control flow.
The defaults are slim8's at width 1 (24 state tensors, ~120 ops after ONNX Runtime's fusions).
Graphs take turns round by round; each figure is a median over the rounds (thread CPU time).
"per level" is (time at depth d - time at depth 0) / d; the last column divides it by the
tensors or ops.
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

LENGTHS = [5, 15, 35, 85, 185, 385, 785, 1585]  # state lengths of a dilated stack (kernel 6)


def _nest(depth: int, body, outputs, shapes, tag="b"):
    """(nodes, initializers) writing `outputs`: body(outputs, prefix) inside `depth` nested Ifs; the
    body's constants live in the innermost branch, as namx keeps a level's weights."""
    if depth == 0:
        return body(outputs, tag)

    def branch(side):
        names = [f"{tag}{side}.{o}" for o in outputs]
        nodes, consts = _nest(depth - 1, body, names, shapes, tag + side)
        return helper.make_graph(nodes, tag + side, [],
                                 [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in zip(names, shapes)],
                                 consts)

    return [helper.make_node("If", ["go"], outputs, then_branch=branch("t"), else_branch=branch("e"))], []


def states_graph(depth: int, n: int):
    shapes = [[1, 2, LENGTHS[i % len(LENGTHS)]] for i in range(n)]

    def body(outs, _):
        return [helper.make_node("Add", [f"state{i}", "one"], [out]) for i, out in enumerate(outs)], []

    outs = [f"next{i}" for i in range(n)]
    return _model(*_nest(depth, body, outs, shapes), [f"state{i}" for i in range(n)], outs, shapes)


def ops_graph(depth: int, k: int):
    """A chain of k Adds, each with its own constant (a network's weights)."""
    shape = [1, 2, 64]

    def body(outs, prefix):
        nodes, consts, prev = [], [], "state0"
        for j in range(k):
            consts.append(numpy_helper.from_array(np.full((1, 2, 1), j, np.float32), f"{prefix}.w{j}"))
            nodes.append(helper.make_node("Add", [prev, f"{prefix}.w{j}"], [f"{prefix}.c{j}"]))
            prev = f"{prefix}.c{j}"
        return nodes + [helper.make_node("Identity", [prev], outs)], consts

    return _model(*_nest(depth, body, ["next0"], [shape]), ["state0"], ["next0"], [shape])


def _model(nodes, consts, inputs, outputs, shapes):
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "bench", [vi("go", TensorProto.BOOL, [])] +
                              [vi(n, TensorProto.FLOAT, s) for n, s in zip(inputs, shapes)],
                              [vi(n, TensorProto.FLOAT, s) for n, s in zip(outputs, shapes)],
                              [numpy_helper.from_array(np.float32(1.0), "one"), *consts])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, inputs, outputs, shapes


def runner(built):
    model, inputs, outputs, shapes = built
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    io, keep = session.io_binding(), [np.array(True)]
    io.bind_cpu_input("go", keep[0])
    for name_in, name_out, shape in zip(inputs, outputs, shapes):
        a, b = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
        keep += [a, b]
        io.bind_cpu_input(name_in, a)
        io.bind_ortvalue_output(name_out, ort.OrtValue.ortvalue_from_numpy(b))
    return lambda: session.run_with_iobinding(io), keep


def paired(runners: dict, rounds: int, calls: int) -> dict:
    """Per runner, µs per call in each round; the runners take turns within each round."""
    for run, _ in runners.values():
        for _ in range(calls):
            run()
    times = {name: [] for name in runners}
    for _ in range(rounds):
        for name, (run, _) in runners.items():
            t = time.thread_time()
            for _ in range(calls):
                run()
            times[name].append((time.thread_time() - t) / calls * 1e6)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tensors", type=int, default=24)
    ap.add_argument("--ops", type=int, default=120)
    ap.add_argument("--depths", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    depths = sorted(set([0, *args.depths]))
    print(f"onnxruntime {ort.__version__}, one thread, {args.rounds} rounds of {args.calls} calls, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'graph':>22} {'depth':>6} {'µs/call':>9} {'per level µs':>13} {'per unit ns':>12}")
    for label, build, units in ((f"states ({args.tensors} tensors)", states_graph, args.tensors),
                                (f"ops ({args.ops} ops)", ops_graph, args.ops)):
        times = paired({d: runner(build(d, units)) for d in depths}, args.rounds, args.calls)
        base = times[0]
        for d in depths:
            t = statistics.median(times[d])
            if d == 0:
                print(f"{label:>22} {d:>6} {t:9.1f}")
                continue
            level = statistics.median((x - y) / d for x, y in zip(times[d], base))
            print(f"{label:>22} {d:>6} {t:9.1f} {level:13.2f} {level / units * 1e3:12.0f}")
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
