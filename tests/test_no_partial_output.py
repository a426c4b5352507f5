"""A command that fails half-way leaves nothing behind: no output, no temporary file (issue 8).

Failures are injected where the work is: inside the TFLite exporter after the first width, inside
the ONNX file write, inside soundfile's WAV write, and by killing a `namx convert` process while it
works. Afterwards the output folder holds exactly what it held before.
"""
import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import namx.audio
from namx.bundled import load_model
from namx.cli import main
from namx.converters import convert


class Injected(RuntimeError):
    pass


def _fail_on_call(n, real):
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise Injected(f"injected failure in call {n}")
        return real(*args, **kwargs)
    return wrapper


def test_tflite_conversion_failing_at_the_second_width_writes_nothing(tmp_path, monkeypatch):
    import namx.converters.tflite as tflite
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tflite, "export_widths", _fail_on_call(2, tflite.export_widths))
    with pytest.raises(Injected):
        convert("tflite", load_model("example"), c_array=True, signatures=True)
    assert list(tmp_path.iterdir()) == []


def test_onnx_write_failing_half_way_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    real = namx.audio.atomic_output

    def half_written(path):
        class Ctx:
            def __enter__(self):
                self.ctx = real(path)
                tmp = self.ctx.__enter__()
                tmp.write_bytes(b"half")
                return _Failing(tmp)

            def __exit__(self, *exc):
                return self.ctx.__exit__(*exc)
        return Ctx()
    import namx.converters.onnx as onnx_converter
    monkeypatch.setattr(onnx_converter, "atomic_output", half_written)
    with pytest.raises(Injected):
        convert("onnx", load_model("example"), output=None, width="3", block_size=None, signatures=False,
                c_array=False, force=False)
    assert list(tmp_path.iterdir()) == []


class _Failing:
    """A temporary path whose write fails after it has started."""

    def __init__(self, path):
        self.path = path

    def write_bytes(self, data):
        with open(self.path, "ab") as f:
            f.write(data[:100])
        raise Injected("disk full (injected)")


def test_run_failing_in_the_wav_write_keeps_the_old_output(tmp_path, monkeypatch, capsys):
    import soundfile
    x = tmp_path / "in.npy"
    np.save(x, np.zeros(4800, np.float32))
    out = tmp_path / "out.wav"
    out.write_bytes(b"previous take")
    real = soundfile.SoundFile.write

    def failing_write(self, data):
        real(self, data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(soundfile.SoundFile, "write", failing_write)
    assert main(["run", "example", str(x), str(out), "--width", "3", "--force"]) == 2
    assert capsys.readouterr().err == f"namx: {out}: cannot write: No space left on device\n"
    assert out.read_bytes() == b"previous take"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy", "out.wav"]


def test_killed_conversion_leaves_no_partial_files(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "namx", "convert", "example", "--to", "tflite", "--c-array",
                             "--signatures"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2.0)  # the interpreter and namx are loaded; the export is under way or done
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    names = sorted(p.name for p in tmp_path.iterdir())
    # Killed with no chance to clean up, the staging folder (.namx-*.tmp) may remain; a file under its
    # final name is always complete: either nothing or a whole file, never a truncated output.
    finals = [n for n in names if not n.startswith(".namx-")]
    expected = ["A2.w3.cc", "A2.w3.h", "A2.w3.tflite", "A2.w8.cc", "A2.w8.h", "A2.w8.tflite", "A2.widths.tflite"]
    assert set(finals) <= set(expected)
    from namx.converters.tflite import binding
    for n in finals:
        if n.endswith(".tflite"):
            binding.read_file(tmp_path / n)  # parses: complete
