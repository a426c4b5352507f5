"""`namx run --schedule` (a reference for width-switching streams) and `namx.load` of bundled names."""
import subprocess
import sys

import numpy as np
import pytest

import namx
from namx.metrics import max_abs_error
from namx.runtimes.numpy_ref import NumpyStreamer
from namx.signals import mix

X = mix()[:12000]


def _namx(*args, cwd):
    return subprocess.run([sys.executable, "-m", "namx", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_load_accepts_bundled_names():
    assert [lv.label for lv in namx.load("A2").widths()] == ["3", "8"]
    assert len(namx.load("slim8").widths()) == 8
    with pytest.raises(namx.ModelError, match="no such file"):
        namx.load("A3")


@pytest.mark.spec("7.3")
@pytest.mark.parametrize("runtime", ["numpy", "onnxruntime-dynamic"])
def test_run_schedule_switches_width_at_its_samples(tmp_path, runtime):
    np.save(tmp_path / "in.npy", X)
    r = _namx("run", "slim8", "in.npy", "out.npy", "--schedule", "0:2,4801:8,9000:2", "--block-size", "64",
              "--runtime", runtime, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    model = namx.load("slim8")
    expected = np.concatenate([NumpyStreamer(model, w).process(X[a:b]) for a, b, w in
                               ((0, 4801, "2"), (4801, 9000, "8"), (9000, X.size, "2"))])
    assert max_abs_error(np.load(tmp_path / "out.npy"), expected) < 2e-5


@pytest.mark.parametrize("schedule, message", [
    ("0:3,x", "--schedule: 'x' is not SAMPLE:WIDTH (e.g. 0:3,4800:8)"),
    ("0:3,4800", "--schedule: '4800' is not SAMPLE:WIDTH"),
    ("-1:3", "--schedule: '-1:3' is not SAMPLE:WIDTH"),
    ("5:3", "--schedule: the first change must be at sample 0"),
    ("0:3,10:8,10:3", "--schedule: samples must increase (got 10 after 10)"),
    ("0:5", "width 5 is not offered; this model offers 3, 8"),
])
def test_run_schedule_errors_are_one_line(tmp_path, schedule, message):
    np.save(tmp_path / "in.npy", X[:100])
    r = _namx("run", "A2", "in.npy", "out.npy", f"--schedule={schedule}", cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "out.npy").exists()
    r = _namx("run", "A2", "in.npy", "out.npy", "--schedule", "0:3", "--width", "3", cwd=tmp_path)
    assert r.returncode == 2 and "not allowed with argument --schedule" in r.stderr
