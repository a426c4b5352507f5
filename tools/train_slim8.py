"""Train namx's bundled slimmable example, slim8.nam, and publish its width/accuracy/speed table.

    pip install -e ".[torch]" matplotlib
    python tools/train_slim8.py --write            # train (65 min on one shared core here), evaluate,
                                                   # write slim8.nam, the results, plot and README table
    python tools/train_slim8.py --evaluate         # re-evaluate the shipped namx/bundled/slim8.nam; print
    python tools/train_slim8.py --evaluate --write # ... and rewrite the results, plot and README table

Without --write nothing in the checkout changes: the table is printed.

The student is an A2-style channel-sliced WaveNet: the 8-channel A2 layer pattern (23 layers,
kernels 6x14, 15, 15, 6x7; dilations 1..239; LeakyReLU 0.01; layer1x1 on) offering every width
from 1 to 8 channels. Channel slicing requires a head kernel of 1 (the core's rule), so the
student's head is 1 tap where A2's is 16: receptive field 6332 samples instead of 6347.

The teacher is the bundled A2 (namx/bundled/A2.nam, MIT) at width 8, run in the NumPy
reference. Training audio is made here, deterministically: 75 s of synthetic guitar DI
(namx.signals.guitar_di, seed 1) plus 10 s of test-like material (noise bursts, sweeps, square
waves, DC steps and silence at random levels, seed 2). Training follows the Slimmable NAM paper
(arXiv 2511.07470): every mini-batch draws a width uniformly from 1..8 and backpropagates into
the full weights (namx.torch.train). From step 3000 on, every 500 steps and at the end, the
module is scored on a validation DI (5 s, seed 4: neither trained on nor published) by its mean
ESR over widths, and the best checkpoint whose validation ESR falls with width is kept (model
selection on validation data, as the NAM trainer keeps its best checkpoint).
Seeded, single-threaded: a rerun reproduces the shipped file.

Evaluation (the README table): ESR per width against the teacher on two held-out signals, the
2-second test mix (namx.signals.mix(), the golden input) and 10 s of guitar DI with seed 3, both
computed in the NumPy reference (float64) from the prewarmed state; and the NumPy reference's
real-time factor per width (audio duration / processing time, higher is faster; float32, blocks
of 4096, one thread, median of 5 runs of the mix).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: a single-threaded, reproducible run
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import namx  # noqa: E402
from namx import bundled, signals, writer  # noqa: E402
from namx.metrics import esr_db  # noqa: E402
from namx.runtimes.numpy_ref import ModelRunner  # noqa: E402
from namx.stats import macs_per_sample, num_weights, receptive_field  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "namx" / "bundled" / "slim8.nam"
RESULTS = ROOT / "tools" / "slim8_results.json"
PLOT = ROOT / "tools" / "slim8.png"
RATE = 48000
SEED = 0
TRAIN = dict(steps=6000, batch_size=4, segment=16384, lr=4e-3, lr_final=1e-4, seed=SEED,
             validate_every=500, validate_from=3000)
TABLE_START, TABLE_END = "<!-- slim8-table -->", "<!-- /slim8-table -->"
VALIDATION_SECONDS = 5  # guitar DI with seed 4: neither trained on nor in the published table


def student_config(teacher: namx.Model) -> dict:
    """The teacher's .nam object made channel-sliced (widths 1..8) with a 1-tap head; no weights yet."""
    obj = writer.to_json(teacher)
    array = obj["config"]["layers"][0]
    array["head"] = {"out_channels": 1, "kernel_size": 1, "bias": True}
    array["slimmable"] = {"method": "slice_channels_uniform",
                          "kwargs": {"allowed_channels": list(range(1, array["channels"] + 1))}}
    obj["weights"] = []
    obj["metadata"] = {
        "name": "namx slim8",
        "modeled_by": "namx tools/train_slim8.py (student of NeuralAmpModelerCore example_models/A2.nam, 8 ch)",
        "gear_type": "amp",
        "tone_type": "crunch",
        "loudness": teacher.metadata.get("loudness"),
        "input_level_dbu": teacher.metadata.get("input_level_dbu"),
    }
    return obj


def test_like(n: int, seed: int) -> np.ndarray:
    """Noise bursts, sweeps, squares, DC steps and silence at random levels (0.2-1 s each)."""
    rng = np.random.default_rng(seed)
    parts, total = [], 0
    while total < n:
        length = round(rng.uniform(0.2, 1.0) * RATE)
        kind = rng.integers(5)
        level = 10 ** (rng.uniform(-40, -2) / 20)
        if kind == 0:
            part = signals.noise(length, int(rng.integers(1 << 30)), level)
        elif kind == 1:
            part = signals.sweep(length, RATE, db=20 * np.log10(level))
        elif kind == 2:
            part = level * signals.square(length, RATE, freq=rng.uniform(40, 1000))
        elif kind == 3:
            part = np.full(length, level * rng.choice([-1, 1]))
        else:
            part = signals.silence(length)
        parts.append(part)
        total += length
    return np.concatenate(parts)[:n]


def teacher_output(teacher: namx.Model, x: np.ndarray) -> np.ndarray:
    runner = ModelRunner(teacher)
    runner.reset()
    return np.concatenate([runner.process(x[i:i + 65536]) for i in range(0, x.size, 65536)])


def train(teacher: namx.Model) -> tuple[namx.Model, dict]:
    import torch

    import namx.torch
    from namx.loader import from_json, weights_needed
    from namx.torch.train import init_weights, train as train_loop

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x = np.concatenate([signals.guitar_di(75 * RATE, RATE, seed=1), test_like(10 * RATE, seed=2)])
    t0 = time.perf_counter()
    y = teacher_output(teacher, x)
    print(f"teacher output for {x.size / RATE:.0f} s of audio: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    obj = student_config(teacher)
    # zeros to be replaced by init_weights; the last weight is head_scale, a constant (not trained)
    obj["weights"] = [0.0] * (weights_needed(obj) - 1) + [obj["config"]["head_scale"]]
    module = namx.torch.from_model(init_weights(from_json(obj, "slim8.nam"), seed=SEED))
    x_val = signals.guitar_di(VALIDATION_SECONDS * RATE, RATE, seed=4)
    y_val = torch.from_numpy(teacher_output(teacher, x_val))
    x_val = torch.from_numpy(x_val.astype(np.float32))
    levels = module.widths()

    def validate(m):
        """Mean ESR over widths; a checkpoint whose ESR does not fall with width scores worse than any other."""
        esr = [float(10 * torch.log10(((m(x_val, width=lv).double() - y_val) ** 2).sum() / (y_val ** 2).sum()))
               for lv in levels]
        monotone = all(b <= a for a, b in zip(esr, esr[1:]))
        print("validation ESR (dB) per width: " + " ".join(f"{e:.2f}" for e in esr), file=sys.stderr)
        return float(np.mean(esr)) + (0.0 if monotone else 1000.0)

    t0 = time.perf_counter()
    history = train_loop(module, x.astype(np.float32), y.astype(np.float32), validate=validate, **TRAIN)
    seconds = time.perf_counter() - t0
    losses = [loss for _, loss in history]
    info = {"train_seconds": round(seconds), "train_steps": len(history),
            "final_loss_mean_last_200": float(np.mean(losses[-200:])), "torch": torch.__version__}
    return namx.torch.to_model(module), info


def held_out() -> dict[str, np.ndarray]:
    """The evaluation signals (never trained on): the golden test mix and 10 s of DI, seed 3."""
    return {"mix": signals.mix(RATE).astype(np.float64),
            "di": signals.guitar_di(10 * RATE, RATE, seed=3).astype(np.float32).astype(np.float64)}


def esr_table(student: namx.Model, teacher: namx.Model) -> list[dict]:
    """Per width: size, cost and ESR (dB, 2 decimals) against the teacher on each held-out signal."""
    signals_ = held_out()
    reference = {name: teacher_output(teacher, x) for name, x in signals_.items()}
    rows = []
    for level in student.widths():
        plain = student.at(level)
        row = {"width": level.label, "weights": num_weights(plain), "macs_per_sample": macs_per_sample(plain),
               "receptive_field": receptive_field(plain)}
        for name, x in signals_.items():
            row[f"esr_db_{name}"] = round(esr_db(teacher_output(plain, x), reference[name]), 2)
        rows.append(row)
    return rows


def evaluate(student: namx.Model, teacher: namx.Model) -> list[dict]:
    rows = esr_table(student, teacher)
    mix = held_out()["mix"]
    for row in rows:
        row["rtf"] = round(real_time_factor(student.at(row["width"]), mix), 1)
    teacher_row = {"width": "teacher", "weights": num_weights(teacher), "macs_per_sample": macs_per_sample(teacher),
                   "receptive_field": receptive_field(teacher), "rtf": round(real_time_factor(teacher, mix), 1)}
    return rows + [teacher_row]


def real_time_factor(model: namx.Model, x: np.ndarray, block: int = 4096, repeats: int = 5) -> float:
    """Audio duration / processing time of the NumPy reference (float32, higher is faster), median of
    `repeats` (the convention of benchmarks/ and of NAM's own speed reports)."""
    x = x.astype(np.float32)
    times = []
    for _ in range(repeats):
        runner = ModelRunner(model, np.float32)
        runner.reset()
        t0 = time.perf_counter()
        for i in range(0, x.size, block):
            runner.process(x[i:i + block])
        times.append(time.perf_counter() - t0)
    return (x.size / RATE) / statistics.median(times)


def markdown(rows: list[dict]) -> str:
    lines = ["| width | weights | MACs/sample | ESR vs teacher, test mix | ESR vs teacher, held-out DI | RTF (NumPy ref.) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        if r["width"] == "teacher":
            lines.append(f"| A2 teacher (8 ch) | {r['weights']} | {r['macs_per_sample']} | — | — | {r['rtf']:.1f}x |")
        else:
            lines.append(f"| {r['width']} | {r['weights']} | {r['macs_per_sample']} | {r['esr_db_mix']:.1f} dB "
                         f"| {r['esr_db_di']:.1f} dB | {r['rtf']:.1f}x |")
    return "\n".join(lines)


def publish(rows: list[dict]) -> None:
    """Put the table into the README, between its slim8-table markers."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    readme.write_text(text[:start] + "\n" + markdown(rows) + "\n" + text[end:])


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    widths = [int(r["width"]) for r in rows if r["width"] != "teacher"]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for key, label, style in (("esr_db_mix", "ESR vs teacher: test mix", "o-"),
                              ("esr_db_di", "ESR vs teacher: held-out DI", "s-")):
        ax.plot(widths, [r[key] for r in rows if r["width"] != "teacher"], style, label=label)
    ax.set_xlabel("width (channels)")
    ax.set_ylabel("ESR (dB, lower is better)")
    ax.grid(alpha=0.3)
    rtf = ax.twinx()
    rtf.bar(widths, [r["rtf"] for r in rows if r["width"] != "teacher"], alpha=0.2, color="gray",
            label="RTF (NumPy reference)")
    rtf.set_ylabel("real-time factor (higher is faster)")
    lines = ax.get_legend_handles_labels()
    bars = rtf.get_legend_handles_labels()
    ax.legend(lines[0] + bars[0], lines[1] + bars[1], loc="upper center", fontsize=8)
    ax.set_title("slim8: one slimmable file, every width from 1 to 8 channels")
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluate", action="store_true", help="only re-evaluate the shipped slim8.nam")
    parser.add_argument("--write", action="store_true",
                        help="write the results, plot and README table (and, after training, slim8.nam)")
    args = parser.parse_args(argv)
    teacher = bundled.load_model("A2").at("8")
    info = {}
    if args.evaluate:
        info = json.loads(RESULTS.read_text()).get("training", {}) if RESULTS.exists() else {}
        student = namx.load(SHIPPED)
    else:
        student, info = train(teacher)
        if args.write:
            writer.save(student, SHIPPED, force=True)
    rows = evaluate(student, teacher)
    if args.write:
        RESULTS.write_text(json.dumps({"training": info, "widths": rows}, indent=1) + "\n")
        plot(rows, PLOT)
        publish(rows)
    print(markdown(rows))
    print(json.dumps(info), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
