"""examples/node/stream.mjs (onnxruntime-node, no metadata) against the NumPy reference (spec §9).

Every golden-corpus model converts to both graph forms; the Node program streams each width of
each form at blocks of 2048, 64, 7 and 1 and the output must stay within the entry's float32
bounds (spec §8.3) of namx's float64 reference on the same input, and width-switching schedules
on A2 and slim8 must equal the reference doing the same switches.

Node pays about 0.2-0.4 ms per call (the state crosses the N-API boundary both ways), so this runs
one Node process for every stream and a short input: 0.18 s made of the mix's kinds of sound
(silence, impulse, sweep, noise, full-scale square, DC), whole at blocks 2048 and 64, its first
2640 samples (silence and the impulse response) at blocks of 7 and its first 600 at blocks of 1
(past the impulse: every state shifts one column per call). The whole 2-second mix at every
block size is `golden-check.py`'s job (Python onnxruntime, same graphs). Every stream is held to
the entry's max |err| bound; the whole-input ones also to its ESR bound. Needs node and
`npm ci --ignore-scripts` in examples/node; skipped without them, except under CI.
"""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from conftest import GOLDEN, REPO, golden_id

from namx import load
from namx.bundled import load_model
from namx.converters.onnx import export
from namx.converters.onnx.graph import width_values
from namx.metrics import esr_db, max_abs_error
from namx.runtimes.numpy_ref import NumpyStreamer
from namx.signals import impulse, noise, silence, square, sweep

NODE_DIR = REPO / "examples" / "node"
SR = 48000.0
X = np.concatenate([silence(240), impulse(2400), sweep(2400, SR), noise(1200, seed=1, rms=0.25),
                    square(1200, SR), np.full(1200, 0.5)]).astype(np.float32)
LENGTHS = {2048: X.size, 64: X.size, 7: 2640, 1: 600}  # samples streamed at each block size
SCHEDULES = {"A2": [(0, "3"), (2000, "8"), (5000, "3")], "slim8": [(0, "1"), (1500, "8"), (3000, "4"), (6000, "8")]}


@pytest.fixture(scope="module")
def node():
    exe = shutil.which("node")
    if exe is None or not (NODE_DIR / "node_modules" / "onnxruntime-node").is_dir():
        message = "node or examples/node/node_modules missing (cd examples/node && npm ci --ignore-scripts)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return exe


def _run_node(node, jobs, tmp_path):
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    r = subprocess.run([node, str(NODE_DIR / "stream.mjs"), "--jobs", str(tmp_path / "jobs.json")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr


def _reference(model, label, x, schedule=None):
    s = NumpyStreamer(model, label)
    if schedule is None:
        return s.process(x)
    ys, bounds = [], [at for at, _ in schedule[1:]] + [x.size]
    for (at, w), end in zip(schedule, bounds):
        s.width = w
        ys.append(s.process(x[at:end]))
    return np.concatenate(ys)


@pytest.mark.spec("9.1", "9.2", "9.3")
def test_node_example_reproduces_the_reference_everywhere(node, tmp_path, shared):
    X.astype("<f4").tofile(tmp_path / "in.f32")
    for n in set(LENGTHS.values()):
        X[:n].astype("<f4").tofile(tmp_path / f"in{n}.f32")
    jobs, checks, dynamic = [], [], {}
    for entry in GOLDEN:
        model = load(shared / entry["model"])
        levels = model.widths()
        level = levels[entry["level"]]
        if entry["model"] not in dynamic:
            dynamic[entry["model"]] = tmp_path / f"m{len(dynamic)}.onnx"
            dynamic[entry["model"]].write_bytes(export(model).SerializeToString())
        fixed = tmp_path / f"{golden_id(entry)}.onnx"
        fixed.write_bytes(export(model, level.label).SerializeToString())
        ref = _reference(model, level.label, X)
        for form, path, width in (("fixed", fixed, None), ("dynamic", dynamic[entry["model"]],
                                                          width_values(levels)[level.index])):
            for block, n in LENGTHS.items():
                out = tmp_path / f"{golden_id(entry)}.{form}.b{block}.f32"
                jobs.append({"model": str(path), "input": str(tmp_path / f"in{n}.f32"), "output": str(out),
                             "block": block, **({} if width is None else {"width": width})})
                checks.append((f"{golden_id(entry)} {form} block {block}", out, ref[:n], entry))
    for name, schedule in SCHEDULES.items():
        model = load_model(name)
        path = tmp_path / f"{name}.onnx"
        path.write_bytes(export(model).SerializeToString())
        entry = next(e for e in GOLDEN if e["model"].endswith("example_models/A2.nam"))  # A2's bounds
        value = dict(zip([lv.label for lv in model.widths()], width_values(model.widths())))
        text = ",".join(f"{at}:{value[w]}" for at, w in schedule)
        out = tmp_path / f"{name}.schedule.f32"
        jobs.append({"model": str(path), "input": str(tmp_path / "in.f32"), "output": str(out), "schedule": text})
        checks.append((f"{name} schedule {text}", out, _reference(model, None, X, schedule), entry))
    _run_node(node, jobs, tmp_path)
    failures = []
    for name, out, ref, entry in checks:
        y = np.fromfile(out, "<f4").astype(np.float64)
        esr, mx = esr_db(y, ref), max_abs_error(y, ref)
        # ESR only on the whole input: on the short prefixes (mostly silence) the float32 rounding
        # of the model's constant silence output dominates a tiny signal energy
        whole = y.size == X.size
        if y.shape != ref.shape or not np.isfinite(y).all() or (whole and esr > entry["tol_esr_db_float32"]) \
                or mx > entry["tol_max_abs_float32"]:
            failures.append(f"{name}: ESR {esr:.1f} dB, max|err| {mx:.2e}")
    assert not failures, "\n".join(failures)
    assert len(checks) == 2 * len(GOLDEN) * len(LENGTHS) + len(SCHEDULES)


def test_node_example_refuses_bad_arguments_in_one_line(node, tmp_path):
    path = tmp_path / "a2.onnx"
    path.write_bytes(export(load_model("A2"), "3").SerializeToString())
    np.zeros(10, "<f4").tofile(tmp_path / "in.f32")
    (tmp_path / "odd.f32").write_bytes(b"\0" * 6)
    for args, message in [(["--block", "0"], "--block must be an integer >= 1"),
                          (["--width", "3"], "a fixed-width graph has no width input"),
                          (["--schedule", "0:3,x"], "--schedule: 'x' is not SAMPLE:WIDTH"),
                          (["--width", "3", "--schedule", "0:3"], "--width and --schedule exclude each other")]:
        r = subprocess.run([node, str(NODE_DIR / "stream.mjs"), str(path), str(tmp_path / "in.f32"),
                            str(tmp_path / "out.f32"), *args], capture_output=True, text=True)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = subprocess.run([node, str(NODE_DIR / "stream.mjs"), str(path), str(tmp_path / "odd.f32"),
                        str(tmp_path / "out.f32")], capture_output=True, text=True)
    assert r.returncode == 2 and "not a whole number of float32 samples" in r.stderr
    assert not (tmp_path / "out.f32").exists()
