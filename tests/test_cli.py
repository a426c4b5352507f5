"""The command line: info and run on real files, and one-line errors for bad input (exit 2)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from builders import wavenet
from conftest import GOLDEN, assert_matches_golden

from namx.signals import mix

A2 = "models/real/NeuralAmpModelerCore/example_models/A2.nam"


def namx(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "namx", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def assert_user_error(r, *fragments):
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr
    assert lines[-1].startswith("namx: "), r.stderr
    for f in fragments:
        assert f in lines[-1], lines[-1]


@pytest.fixture(scope="module")
def mix_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("audio") / "mix.wav"
    r = namx("signal", "mix", path)
    assert r.returncode == 0, r.stderr
    return path


def test_signal_mix_is_the_golden_input(mix_wav, shared):
    x, rate = sf.read(mix_wav, dtype="float32")
    assert rate == 48000 and np.array_equal(x, np.load(shared / "golden/inputs/mix_2s.npy"))


def test_info_on_the_real_a2_file(shared):
    r = namx("info", shared / A2)
    assert r.returncode == 0, r.stderr
    assert "SlimmableContainer (file version 0.7.0)" in r.stdout and "2 levels: 3, 8" in r.stdout
    info = json.loads(namx("info", shared / A2, "--json").stdout)
    assert [(w["width"], w["weights"], w["receptive_field"]) for w in info["widths"]] == [
        ("3", 1871, 6347), ("8", 12146, 6347)]
    assert info["widths"][1]["default"] and info["metadata"]["loudness"] == pytest.approx(-26.3838997)


def test_info_reports_an_assumed_sample_rate(shared):
    r = namx("info", shared / "models/real/NAM_models/boss_sd1_feather.nam")
    assert r.returncode == 0 and "48000 Hz (assumed" in r.stdout and "note:" in r.stderr


@pytest.mark.parametrize("width,args", [("3", ["--width", "3"]), ("8", ["--slim", "0.75"])])
def test_run_on_the_real_a2_file_matches_golden(tmp_path, mix_wav, shared, width, args):
    out = tmp_path / "out.wav"
    r = namx("run", shared / A2, mix_wav, out, *args)
    assert r.returncode == 0, r.stderr
    y, rate = sf.read(out, dtype="float32")
    assert rate == 48000 and y.dtype == np.float32
    entry = next(e for e in GOLDEN if e["model"] == A2 and e["width_label"] == width)
    assert_matches_golden(y, entry, shared, "float32")  # the WAV holds float32


def test_run_bundled_example_with_npy(tmp_path):
    x = mix()[:9600]
    np.save(tmp_path / "in.npy", x)
    r = namx("run", "example", tmp_path / "in.npy", tmp_path / "out.npy", "--width", "3", "--block-size", "100")
    assert r.returncode == 0, r.stderr
    y = np.load(tmp_path / "out.npy")
    assert y.dtype == np.float32 and y.shape == x.shape and np.isfinite(y).all() and np.abs(y).max() > 1e-3


def test_output_permissions_follow_the_umask(tmp_path, mix_wav):
    out = tmp_path / "out.wav"
    assert namx("run", "example", mix_wav, out, "--width", "3").returncode == 0
    mask = os.umask(0)
    os.umask(mask)
    assert (out.stat().st_mode & 0o777) == 0o666 & ~mask


def _write(tmp_path, name, obj_or_text):
    p = tmp_path / name
    p.write_text(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text))
    return p


def _bad_models(tmp_path):
    good = wavenet()
    cases = {
        "malformed JSON": ("bad.nam", '{"version": "0.7.0", "architecture": ', "invalid JSON"),
        "unknown architecture": ("arch.nam", {**good, "architecture": "Transformer"}, "unknown architecture"),
        "unknown activation": ("act.nam", json.loads(json.dumps(good).replace('"Tanh"', '"Swish"')),
                               'unknown activation "Swish"'),
        "wrong weight count": ("count.nam", {**good, "weights": good["weights"][:-3]}, "needs"),
        "NaN weight": ("nan.nam", json.dumps(good).replace(str(good["weights"][5]), "NaN", 1), "not a finite"),
        "unsupported version": ("ver.nam", {**good, "version": "0.9.0"}, "unsupported file version 0.9.0"),
    }
    return {k: (_write(tmp_path, name, body), msg) for k, (name, body, msg) in cases.items()}


@pytest.mark.parametrize("case", ["malformed JSON", "unknown architecture", "unknown activation",
                                  "wrong weight count", "NaN weight", "unsupported version"])
@pytest.mark.spec("3.11")
def test_bad_models_give_one_line_errors(tmp_path, mix_wav, case):
    model, message = _bad_models(tmp_path)[case]
    out = tmp_path / "out.wav"
    for r in (namx("info", model), namx("run", model, mix_wav, out)):
        assert_user_error(r, str(model), message)
    assert not out.exists()


def test_bad_audio_and_usage_give_one_line_errors(tmp_path, mix_wav):
    out = tmp_path / "out.wav"
    stereo, rate44 = tmp_path / "stereo.wav", tmp_path / "44k.wav"
    sf.write(stereo, np.zeros((100, 2), np.float32), 48000)
    sf.write(rate44, np.zeros(100, np.float32), 44100)
    assert_user_error(namx("run", "example", stereo, out), str(stereo), "has 2 channels; namx needs mono")
    assert_user_error(namx("run", "example", rate44, out), "44100 Hz but the model runs at 48000 Hz")
    assert_user_error(namx("run", "example", mix_wav, out, "--width", "6"), "width 6 is not offered",
                      "offers 3, 8")
    assert_user_error(namx("run", "example", tmp_path / "nope.wav", out), "no such file")
    assert_user_error(namx("run", "example", mix_wav, out, "--block-size", "0"), "--block-size")
    assert_user_error(namx("run", "example", mix_wav, tmp_path / "out.mp3"), "output must end in .wav or .npy")
    (tmp_path / "garbage.wav").write_bytes(b"RIFF not really")
    assert_user_error(namx("run", "example", tmp_path / "garbage.wav", out), "not a readable audio file")
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_existing_output_needs_force(tmp_path, mix_wav):
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    assert_user_error(namx("run", "example", mix_wav, out, "--width", "3"), "already exists", "--force")
    assert out.read_bytes() == b"keep me"
    assert namx("run", "example", mix_wav, out, "--width", "3", "--force").returncode == 0
    assert sf.read(out)[0].size == 96000


def test_usage_errors_exit_2():
    r = namx("run", "example")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert namx().returncode == 2
    assert namx("--version").stdout.startswith("namx ")


@pytest.mark.slow
@pytest.mark.spec("8.3")
def test_golden_check_tool_passes_for_the_numpy_runtime(shared, tmp_path):
    """Acceptance's own checker, run as acceptance runs it (numpy: float64 bounds), at block 2048:
    the reference's output at block 64 (acceptance's default) equals it within 1e-12
    (tests/test_streaming.py), and at 2048 the run takes a fraction of the time."""
    shim = tmp_path / "namx"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m namx \"$@\"\n")
    shim.chmod(0o755)
    r = subprocess.run([sys.executable, shared / "tools/golden-check.py", shared / "golden", "numpy", "2048"],
                       capture_output=True, text=True, env={**os.environ, "NAMX": str(shim)}, timeout=1800)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "numpy: 47/47 cases pass" in r.stdout
