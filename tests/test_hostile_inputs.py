"""Hostile inputs of every class in issue 13 end in one line `namx: ...`, exit 2, within seconds,
and leave no file (write failures: tests/test_write_failures.py; fuzzing: tests/test_fuzz.py).

Commands that could hang run as subprocesses with a timeout, so a regression fails instead of
hanging the suite.
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from builders import layer_array, nam, wavenet, with_weights

from namx.cli import main
from namx.errors import ModelError, NamxError
from namx.limits import Limits
from namx.loader import from_json, load, loads, weights_needed
from namx.runtimes import open_streamer

TIMEOUT = 10.0  # seconds: the bound for any hostile input


def namx(*args, cwd=None, env=None, timeout=TIMEOUT):
    return subprocess.run([sys.executable, "-m", "namx", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=None if env is None else {**os.environ, **env})


def assert_one_line(r, *fragments):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("namx: ") and "Traceback" not in r.stderr, r.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def tiny_linear(path: Path, taps: int = 4, rate=48000) -> Path:
    obj = with_weights(nam("Linear", {"receptive_field": taps, "bias": False}, sample_rate=rate))
    path.write_text(json.dumps(obj))
    return path


# ---- 1. non-regular files -----------------------------------------------------------------------

@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.nam"
    os.mkfifo(path)
    return path


def test_a_named_pipe_is_refused_everywhere(tmp_path, fifo):
    """Nothing writes to the pipe: before the fix, every one of these blocked in open() forever."""
    audio = tmp_path / "in.npy"
    np.save(audio, np.zeros(100, np.float32))
    model = tiny_linear(tmp_path / "m.nam")
    wav_fifo = tmp_path / "pipe.wav"
    os.mkfifo(wav_fifo)
    (tmp_path / "vectors").mkdir()
    os.mkfifo(tmp_path / "vectors" / "manifest.json")
    r = namx("validate", fifo)  # (validate reports problems on stdout, one per line)
    assert r.returncode == 2 and r.stdout == f"{fifo}: is not a regular file (a named pipe); namx reads a .nam file " \
                                              "only from a regular file\n", r.stdout + r.stderr
    for args in (["info", fifo], ["convert", fifo, "--to", "onnx", "-o", tmp_path / "o.onnx"],
                 ["run", fifo, audio, tmp_path / "o.wav"], ["run", model, wav_fifo, tmp_path / "o.wav"],
                 ["conform", "check-vectors", tmp_path / "vectors"]):
        r = namx(*args)
        assert_one_line(r, "is not a regular file (a named pipe)")
    assert {p.name for p in tmp_path.iterdir()} == {"pipe.nam", "pipe.wav", "vectors", "in.npy", "m.nam"}


def test_a_named_pipe_checkpoint_is_refused(tmp_path):
    pytest.importorskip("torch")
    pt_fifo = tmp_path / "pipe.pt"
    os.mkfifo(pt_fifo)
    assert_one_line(namx("info", pt_fifo), "is not a regular file (a named pipe)")


def test_a_device_is_refused_and_a_symlink_to_a_file_is_fine(tmp_path):
    assert_one_line(namx("info", "/dev/zero"), "is not a regular file (a character device)")
    link = tmp_path / "link.nam"
    link.symlink_to(tiny_linear(tmp_path / "m.nam"))
    assert namx("info", link).returncode == 0


# ---- 2. loading is linear in the file size --------------------------------------------------------

def _many_layers(n: int) -> str:
    """n one-channel layers: 5 weights each (conv and bias, input mixin, layer1x1 and bias), 4 more."""
    obj = nam("WaveNet", {"layers": [layer_array(channels=1, dilations=[1] * n, kernel=1)], "head": None,
                          "head_scale": 1.0})
    obj["weights"] = [0.1] * (5 * n + 4)
    return json.dumps(obj)


def _load_seconds(text: str, limits: Limits) -> float:
    """The loader's own time: Python's garbage collector, whose passes over many new objects add a
    (mild) superlinear cost of their own, is paused while it runs."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        loads(text, "many.nam", limits)
        return time.perf_counter() - start
    finally:
        gc.enable()


def test_loading_is_linear_in_the_number_of_layers():
    """10x the layers takes about 10x as long: measured 10x (it was 20x for 5,000 -> 50,000 layers, and
    over a minute for 100,000: every layer copied a list of every layer's activation)."""
    unlimited = Limits(work_per_second=10**18, prewarm_work=10**18)
    small, large = _many_layers(5_000), _many_layers(50_000)
    ratio = min(_load_seconds(large, unlimited) for _ in range(2)) / min(_load_seconds(small, unlimited)
                                                                        for _ in range(3))
    assert ratio < 15, ratio


def test_a_hundred_thousand_layers_are_refused_in_well_under_a_second():
    """Refused a few thousand layers in, by the work limit (it took minutes; 0.3 s on a quiet machine)."""
    assert weights_needed(json.loads(_many_layers(10))) == 54
    obj = json.loads(_many_layers(100_000))
    start = time.perf_counter()
    with pytest.raises(ModelError, match="set NAMX_MAX_WORK_PER_SECOND to allow more"):
        from_json(obj, "many.nam")
    assert time.perf_counter() - start < 2.0  # (a margin for a loaded CI machine)


def test_validating_many_problems_is_linear():
    """One problem per layer (groups that do not divide): collected without comparing each to all others."""
    from namx.validate import validate
    n = 20_000
    obj = nam("WaveNet", {"layers": [layer_array(channels=3, dilations=[1] * n, kernel=1, groups_input=2)],
                          "head": None, "head_scale": 1.0})
    start = time.perf_counter()
    result = validate(obj, "groups.nam")
    assert result.problems and time.perf_counter() - start < 5.0


# ---- 3. work limits and the sample rate --------------------------------------------------------------

def test_a_long_linear_filter_is_refused_for_its_work(monkeypatch):
    obj = nam("Linear", {"receptive_field": 2**20, "bias": False})
    obj["weights"] = [0.0] * 2**20
    with pytest.raises(ModelError) as e:
        from_json(obj)
    assert "one second of audio takes" in str(e.value) and "NAMX_MAX_WORK_PER_SECOND" in str(e.value)
    monkeypatch.setenv("NAMX_MAX_WORK_PER_SECOND", str(10**12))
    assert from_json(obj)


def test_an_lstm_with_many_layers_is_refused_fast():
    obj = nam("LSTM", {"input_size": 1, "hidden_size": 1, "num_layers": 300_000})
    start = time.perf_counter()
    with pytest.raises(ModelError, match="NAMX_MAX_WORK_PER_SECOND"):
        from_json(obj)
    assert time.perf_counter() - start < 1.0


def test_an_lstm_prewarm_is_bounded(monkeypatch):
    """40 layers at 96 kHz: fine per second of audio, but its prewarm (48,000 samples) is over the bound."""
    monkeypatch.setenv("NAMX_MAX_WORK_PER_SECOND", str(10**18))
    monkeypatch.setenv("NAMX_MAX_PREWARM_WORK", str(10**18))
    obj = with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 8, "num_layers": 40}, sample_rate=96000))
    monkeypatch.delenv("NAMX_MAX_PREWARM_WORK")
    with pytest.raises(ModelError, match=r"the prewarm \(48000 samples\) takes .* \(set NAMX_MAX_PREWARM_WORK"):
        from_json(obj)
    assert from_json(obj, limits=Limits(prewarm_work=10**11))


def test_a_tiny_wavenet_with_a_huge_state_is_refused_for_its_prewarm(monkeypatch):
    monkeypatch.setenv("NAMX_MAX_PREWARM_WORK", str(10**18))
    obj = wavenet([layer_array(channels=1, dilations=[2**14] * 60, kernel=2)])
    monkeypatch.delenv("NAMX_MAX_PREWARM_WORK")
    with pytest.raises(ModelError, match="NAMX_MAX_PREWARM_WORK"):
        from_json(obj)


@pytest.mark.parametrize("rate", [2_000_000, 1000, 7999.9, 384000.5])
def test_sample_rates_outside_8_to_384_khz_are_refused(rate):
    obj = nam("Linear", {"receptive_field": 4, "bias": False}, sample_rate=rate)
    obj["weights"] = [0.25] * 4
    with pytest.raises(ModelError, match="sample_rate: must be from 8000 to 384000 Hz"):
        from_json(obj)


def test_every_real_model_is_far_inside_the_work_limits(shared):
    from namx.stats import prewarm_samples, work_per_sample
    limits = Limits()
    for path in sorted((shared / "models").rglob("*.nam")):
        model = load(path)
        for level in model.widths():
            plain = model.at(level)
            work = work_per_sample(plain)
            assert work * plain.sample_rate * 19 < limits.work_per_second, path
            assert work * prewarm_samples(plain) * 19 < limits.prewarm_work, path


# ---- 4. widths: a limit, and each width streamed to disk -------------------------------------------

def test_the_number_of_widths_is_limited(monkeypatch):
    from namx.bundled import load_model
    monkeypatch.setenv("NAMX_MAX_WIDTHS", "4")
    with pytest.raises(ModelError, match=r"the model offers 8 widths, more than namx's limit of 4 "
                                         r"\(set NAMX_MAX_WIDTHS"):
        load_model("slim8")
    container = nam("SlimmableContainer", {"submodels": [
        {"max_value": (i + 1) / 5, "model": with_weights(nam("Linear", {"receptive_field": 2, "bias": False}))}
        for i in range(5)]})
    with pytest.raises(ModelError, match="the container offers 5 widths"):
        from_json(container)


def test_tflite_conversion_writes_each_width_before_building_the_next(tmp_path, monkeypatch):
    import namx.converters.tflite as tflite
    from namx.bundled import load_model
    from namx.converters import convert
    from namx.outputs import staged
    real = tflite.export_widths
    seen = []

    def export_widths(model, levels, block):
        if len(seen) > 0:  # the previous width's file is already on disk (staged), not held in memory
            assert staged(seen[-1]).stat().st_size > 0
        data, bindings = real(model, levels, block)
        seen.append(tmp_path / f"m.w{levels[0].label}.tflite")
        return data, bindings
    monkeypatch.setattr(tflite, "export_widths", export_widths)
    paths = convert("tflite", load_model("slim8"), output=str(tmp_path / "m"), width=None, block_size=None,
                    signatures=False, c_array=False, force=False)
    assert len(paths) == 8 and all(p.exists() for p in paths)


# ---- 7. accepted by the loader, then crashing a converter or runtime ----------------------------------

def test_a_multichannel_model_is_refused_by_the_onnx_converter(tmp_path):
    obj = wavenet([layer_array(channels=2, input_size=2, head_size=1, condition_size=2)], in_channels=2)
    path = tmp_path / "two.nam"
    path.write_text(json.dumps(obj))
    r = namx("convert", path, "--to", "onnx", "-o", tmp_path / "two.onnx")
    assert_one_line(r, "the ONNX binding streams mono (1 in, 1 out) models only")
    assert not (tmp_path / "two.onnx").exists()


def test_a_lone_surrogate_in_metadata_is_refused(tmp_path):
    obj = with_weights(nam("Linear", {"receptive_field": 4, "bias": False}))
    obj["metadata"] = {"name": "amp \ud800"}
    path = tmp_path / "s.nam"
    path.write_text(json.dumps(obj))  # (ensure_ascii: written as the escape \ud800)
    for args in (["info", path], ["convert", path, "--to", "onnx", "-o", tmp_path / "s.onnx"]):
        assert_one_line(namx(*args), "metadata: holds text that is not valid Unicode")


# ---- 8. check-vectors does not trust its manifest ---------------------------------------------------

@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    folder = tmp_path_factory.mktemp("v") / "vectors"
    model = tiny_linear(folder.parent / "lin.nam")
    assert main(["conform", "export-vectors", str(folder), str(model), "--quick", "--block-sizes", "64,random"]) == 0
    return folder


def _tampered(vectors, tmp_path, change) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(vectors, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest, folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _check(folder) -> subprocess.CompletedProcess:
    return namx("conform", "check-vectors", folder, "--runtime", "numpy")


def test_vectors_as_exported_pass(vectors):
    r = _check(vectors)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("change, message", [
    (lambda m, f: m.__setitem__("widths", "all"), "widths: 'all' is not of type 'array'"),
    (lambda m, f: m["input"].__setitem__("samples", -1), "input.samples"),
    (lambda m, f: m.pop("files"), "'files' is a required property"),
    (lambda m, f: m["block_sizes"].append("../x"), "block_sizes[2]"),
    (lambda m, f: m["model"].__setitem__("file", "../../../../etc/passwd"), "model.file"),
    (lambda m, f: m["input"].__setitem__("raw", "/etc/passwd"), "input.raw"),
    (lambda m, f: m["widths"][0]["expected"].__setitem__("raw", "nowhere.f32"),
     "nowhere.f32 is used but not listed in files"),
])
def test_a_malformed_manifest_is_one_line(vectors, tmp_path, change, message):
    assert_one_line(_check(_tampered(vectors, tmp_path, change)), message)


def test_a_symlink_out_of_the_folder_is_refused(vectors, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for vendors")

    def change(m, folder):
        (folder / "input.f32").unlink()
        (folder / "input.f32").symlink_to(secret)
    r = _check(_tampered(vectors, tmp_path, change))
    assert_one_line(r, "is outside the vectors folder")
    assert "not for vendors" not in r.stderr + r.stdout


def test_files_are_size_checked_before_loading(vectors, tmp_path):
    def change(m, folder):  # a huge input whose hash is listed: refused for its size, not read
        with open(folder / "input.f32", "r+b") as f:
            f.truncate(2**34)
        m["files"]["input.f32"] = "0" * 64
    start = time.perf_counter()
    assert_one_line(_check(_tampered(vectors, tmp_path, change)))
    assert time.perf_counter() - start < TIMEOUT


def test_a_manifest_declaring_a_huge_input_is_refused(vectors, tmp_path):
    r = _check(_tampered(vectors, tmp_path, lambda m, f: m["input"].__setitem__("samples", 2**40)))
    assert_one_line(r, "input.samples")


# ---- 9. long audio: a length limit, and streamed block by block --------------------------------------

def _npy_claiming(path: Path, samples: int) -> Path:
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (samples,)})
        f.write(np.zeros(16, "<f4").tobytes())
    return path


def test_a_npy_header_claiming_2_to_the_40_samples_is_refused_unread(tmp_path):
    model = tiny_linear(tmp_path / "m.nam")
    r = namx("run", model, _npy_claiming(tmp_path / "huge.npy", 2**40), tmp_path / "o.wav")
    assert_one_line(r, "declares 1099511627776 samples, more than namx's limit", "NAMX_MAX_AUDIO_SAMPLES")
    r = namx("run", model, _npy_claiming(tmp_path / "short.npy", 1000), tmp_path / "o.wav")
    assert_one_line(r, "the header declares 1000 samples but the file holds only 16")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.npy", "m.nam", "short.npy"]


def _peak_rss_mb(args) -> float:
    code = ("import resource, sys; from namx.cli import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return float(r.stdout.split()[-1])


@pytest.mark.parametrize("suffix", [".npy", ".wav"])
def test_run_memory_does_not_grow_with_the_input(tmp_path, suffix):
    """16x the input (a 20 s and a 320 s file, 61 MB as float32) costs about the same memory."""
    import soundfile
    model = tiny_linear(tmp_path / "m.nam")
    peaks = []
    for seconds in (20, 320):
        x = np.zeros(seconds * 48000, np.float32)
        path = tmp_path / f"in{seconds}{suffix}"
        np.save(path, x) if suffix == ".npy" else soundfile.write(path, x, 48000, subtype="FLOAT")
        del x
        peaks.append(_peak_rss_mb(["run", model, path, tmp_path / f"out{seconds}{suffix}", "--block-size", "4096"]))
        assert (tmp_path / f"out{seconds}{suffix}").stat().st_size >= seconds * 48000 * 4
    assert peaks[1] - peaks[0] < 20, peaks  # reading whole: 61 MB in, 61 MB out, more


def test_streamed_output_equals_whole_block_processing(tmp_path):
    model = tiny_linear(tmp_path / "m.nam", taps=8)
    x = np.random.default_rng(3).standard_normal(10_000).astype(np.float32) * 0.3
    np.save(tmp_path / "in.npy", x)
    assert main(["run", str(model), str(tmp_path / "in.npy"), str(tmp_path / "out.npy"), "--block-size", "333"]) == 0
    expected = open_streamer("numpy", load(model)).process(x)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=0, atol=1e-6)


# ---- 10. external conformance runners -------------------------------------------------------------------

RUNNER = Path(__file__).with_name("conform_runner.py")


def _runner(tmp_path, extra: str, timeout: float = 60, env=None):
    import shlex
    template = (f"cmd:{shlex.quote(sys.executable)} {shlex.quote(str(RUNNER))} {{onnx_all}} {{input_raw}} "
                f"{{output_raw}} {{width}} {{block}} --raw {extra}")
    return namx("conform", "example", "--quick", "--runtime", template, "--block-sizes", "64", "--widths", "3",
                "--repeats", "0", "--timeout", timeout, "--report", tmp_path / "rep", cwd=tmp_path, env=env,
                timeout=120)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead
        return f.read().split(")")[-1].split()[0] != "Z"


def test_a_runner_timing_out_is_killed_with_its_children(tmp_path):
    pidfile = tmp_path / "child.pid"
    r = _runner(tmp_path, f"--child {pidfile} --sleep 60", timeout=2)
    assert r.returncode == 1 and "timed out after 2 s" in (tmp_path / "rep" / "report.json").read_text()
    time.sleep(0.5)
    assert not _alive(int(pidfile.read_text()))


def test_a_child_left_behind_by_a_runner_is_killed(tmp_path):
    pidfile = tmp_path / "child.pid"
    r = _runner(tmp_path, f"--child {pidfile}")
    assert r.returncode == 0, r.stderr
    time.sleep(0.5)
    assert not _alive(int(pidfile.read_text()))


def test_a_flooded_stdout_is_not_buffered(tmp_path):
    """300 MB on a runner's stdout: discarded as it comes (it was all held in namx's memory)."""
    import shlex
    peaks = []
    for mb in (0, 300):
        template = (f"cmd:{shlex.quote(sys.executable)} {shlex.quote(str(RUNNER))} {{onnx_all}} {{input_raw}} "
                    f"{{output_raw}} {{width}} {{block}} --raw --stdout-mb {mb}")
        peaks.append(_peak_rss_mb(["conform", "example", "--quick", "--runtime", template, "--block-sizes", "64",
                                   "--widths", "3", "--repeats", "0", "--report", tmp_path / f"rep{mb}"]))
    assert peaks[1] - peaks[0] < 100, peaks


def test_a_huge_runner_output_is_refused_unread(tmp_path):
    r = _runner(tmp_path, f"--output-bytes {2**36}")
    assert r.returncode == 1
    report = (tmp_path / "rep" / "report.json").read_text()
    assert "raw output has 68719476736 bytes, expected" in report


def test_a_terminated_conform_leaves_no_temporary_folder(tmp_path):
    import shlex
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    template = (f"cmd:{shlex.quote(sys.executable)} {shlex.quote(str(RUNNER))} {{onnx_all}} {{input_raw}} "
                f"{{output_raw}} {{width}} {{block}} --raw --sleep 60")
    proc = subprocess.Popen([sys.executable, "-m", "namx", "conform", "example", "--quick", "--runtime", template,
                             "--widths", "3", "--block-sizes", "64", "--repeats", "0", "--report", "rep"],
                            cwd=tmp_path, env={**os.environ, "TMPDIR": str(tmp)}, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(tmp.iterdir()) and time.monotonic() < deadline:  # the session's folder exists
        time.sleep(0.1)
    time.sleep(1.0)
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and b"Traceback" not in err, err
    assert list(tmp.iterdir()) == [] and not (tmp_path / "rep").exists()


# ---- 11. smaller ones ----------------------------------------------------------------------------------

def test_a_width_index_of_thousands_of_digits(capsys):
    assert main(["info", "example"]) == 0
    capsys.readouterr()
    assert main(["convert", "example", "--to", "onnx", "--width", "i" + "9" * 5000]) == 2
    err = capsys.readouterr().err
    assert err.startswith("namx: ") and ": width i999" in err and "... is not offered" in err and len(err) < 300


def test_unknown_streamer_options_are_listed():
    from namx.bundled import load_model
    with pytest.raises(NamxError, match=r"runtime 'numpy' has no option 'precison' \(its options: precision\)"):
        open_streamer("numpy", load_model("example"), precison="float32")


def test_a_streamer_used_from_two_threads_at_once_says_so():
    from namx.bundled import load_model
    s = open_streamer("numpy", load_model("example"), "3")
    inside, release, errors = threading.Event(), threading.Event(), []
    runner = s._runner
    real = runner.process

    def slow(x):
        inside.set()
        release.wait(10)
        return real(x)
    runner.process = slow
    t = threading.Thread(target=lambda: s.process(np.zeros(64, np.float32)))
    t.start()
    inside.wait(10)
    for call in (lambda: s.process(np.zeros(64, np.float32)), s.reset, lambda: s.set_width("8")):
        with pytest.raises(NamxError, match="a streamer is single-threaded"):
            call()
    release.set()
    t.join()
    runner.process = real
    assert s.process(np.zeros(64, np.float32)).shape == (64,)  # usable again from one thread


def test_info_escapes_control_characters(tmp_path):
    obj = with_weights(nam("Linear", {"receptive_field": 4, "bias": False}))
    obj["metadata"] = {"name": "amp\x1b[2J\x1b]0;pwned\x07", "modeled_by": "a\nb"}
    path = tmp_path / "esc.nam"
    path.write_text(json.dumps(obj))
    r = namx("info", path)
    assert r.returncode == 0 and "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert "amp\\x1b[2J\\x1b]0;pwned\\x07" in r.stdout and "a\\nb" in r.stdout
