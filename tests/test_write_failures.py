"""Every failed write is one line `namx: PATH: problem`, exit 2, and leaves nothing (issue 13, items 5-6).

Real failures where the machine allows them: a read-only folder (a read-only tmpfs as root, else
chmod), a full disk (a 64 KiB tmpfs; skipped where mounting is not permitted), a path under /proc,
a file name too long for the file system; injected ones (a disk full mid-set, a move failing
after others succeeded); and SIGTERM/SIGINT while a command writes. Commands: run, signal,
convert (onnx, tflite with C arrays), conform (its report) and conform export-vectors.
"""
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import namx.outputs
from namx.cli import main
from namx.errors import NamxError
from namx.outputs import atomic_output, output_set


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    return r.returncode == 0


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody can write: a read-only tmpfs (as root), else a chmod 555 folder."""
    where = tmp_path / "ro"
    if _mount_tmpfs(where, "ro,size=64k"):
        try:
            yield where
        finally:
            subprocess.run(["umount", str(where)], check=True)
        return
    if os.geteuid() == 0:
        pytest.skip("root without permission to mount: no folder is read-only for root")
    where.chmod(0o555)
    yield where
    where.chmod(0o755)


@pytest.fixture
def full_disk(tmp_path):
    """A full file system: a 64 KiB tmpfs holding a file as large as fits."""
    where = tmp_path / "small"
    if not _mount_tmpfs(where, "size=64k"):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 1024):
                pass
        except OSError:
            pass
        os.close(fd)
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@pytest.fixture(scope="module")
def npy_input(tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "in.npy"
    np.save(path, (0.1 * np.sin(np.arange(4800) * 0.05)).astype(np.float32))
    return path


def commands(folder: Path, npy_input: Path) -> dict[str, list[str]]:
    return {
        "run": ["run", "example", str(npy_input), str(folder / "out.wav"), "--width", "3"],
        "signal": ["signal", "sweep", str(folder / "chirp.npy")],
        "convert-onnx": ["convert", "example", "--to", "onnx", "-o", str(folder / "m.onnx")],
        "convert-tflite": ["convert", "example", "--to", "tflite", "--c-array", "--signatures",
                           "-o", str(folder / "m")],
        "conform": ["conform", "example", "--runtime", "numpy", "--quick", "--repeats", "0", "--widths", "3",
                    "--block-sizes", "64", "--report", str(folder / "report")],
        "export-vectors": ["conform", "export-vectors", str(folder / "vectors"), "example", "--quick",
                           "--widths", "3", "--block-sizes", "64"],
    }


PROGRESS = re.compile(r"^namx: .+ x .+: \d+ streams?, \d+ failed")


def assert_one_line_write_error(capsys, code, folder: Path, *fragments):
    err = capsys.readouterr().err
    assert code == 2, err
    # conform's progress lines (one per model x runtime) are not errors
    lines = [line for line in err.strip().splitlines() if not PROGRESS.match(line)]
    assert len(lines) == 1 and lines[0].startswith("namx: ") and "Traceback" not in err, err
    path = lines[0].removeprefix("namx: ").split(": ")[0]
    assert path.startswith(str(folder)), lines[0]  # names the output
    for f in fragments:
        assert f in lines[0], lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


COMMANDS = list(commands(Path("x"), Path("y")))


@pytest.mark.parametrize("command", COMMANDS)
def test_read_only_folder(command, read_only_dir, npy_input, capsys):
    code = main(commands(read_only_dir, npy_input)[command])
    assert_one_line_write_error(capsys, code, read_only_dir)
    assert leftovers(read_only_dir) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_full_disk(command, full_disk, npy_input, capsys):
    code = main(commands(full_disk, npy_input)[command])
    # (libsndfile reports a full disk as "System error.")
    assert_one_line_write_error(capsys, code, full_disk, *(() if command in ("run", "signal") else
                                                           ("No space left on device",)))
    assert leftovers(full_disk) == ["filler"]


@pytest.mark.parametrize("command", ["run", "signal", "convert-onnx", "convert-tflite", "conform"])
def test_a_path_under_proc(command, npy_input, capsys):
    argv = commands(Path("/proc/namx-test"), npy_input)[command]
    argv = [a.replace("/proc/namx-test/", "/proc/") for a in argv]
    code = main(argv)
    assert_one_line_write_error(capsys, code, Path("/proc"))


def test_a_file_name_too_long(tmp_path, capsys):
    long = tmp_path / ("n" * 300 + ".npy")
    assert_one_line_write_error(capsys, main(["signal", "sweep", str(long)]), tmp_path, "File name too long")
    assert leftovers(tmp_path) == []
    # a name just short enough works: the temporary files do not lengthen it
    fits = tmp_path / ("n" * 251 + ".npy")
    assert main(["signal", "sweep", str(fits)]) == 0
    assert leftovers(tmp_path) == [fits.name]


def test_disk_full_in_the_middle_of_a_set_removes_every_file(tmp_path, monkeypatch, capsys):
    """ENOSPC injected in the third file a tflite conversion writes: none of the set remains."""
    real_write_bytes = Path.write_bytes
    calls = []

    def write_bytes(self, data):
        calls.append(self)
        if len(calls) == 3:
            real_write_bytes(self, data[:100])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_bytes(self, data)
    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    code = main(["convert", "example", "--to", "tflite", "--signatures", "-o", str(tmp_path / "m")])
    assert_one_line_write_error(capsys, code, tmp_path, "No space left on device")
    assert leftovers(tmp_path) == []


def test_a_move_failing_at_commit_undoes_the_moves_before_it(tmp_path, monkeypatch):
    (tmp_path / "b.txt").write_text("old b")
    real_replace = os.replace
    moves = []

    def replace(src, dst):
        if Path(dst).name == "c.txt":
            raise OSError(errno.EIO, "Input/output error")
        moves.append(dst)
        return real_replace(src, dst)
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(NamxError, match=r"c.txt: cannot write: Input/output error"):
        with output_set():
            for name in ("a.txt", "sub/b2.txt", "b.txt", "c.txt"):
                with atomic_output(tmp_path / name) as tmp:
                    tmp.write_text(f"new {name}")
    assert moves  # some moves happened before the failing one
    assert leftovers(tmp_path) == ["b.txt"] and (tmp_path / "b.txt").read_text() == "old b"


def test_a_set_appears_only_when_its_block_ends(tmp_path):
    with output_set() as outputs:
        with atomic_output(tmp_path / "new" / "a.txt") as tmp:
            tmp.write_text("a")
        assert [p.name.startswith(".namx-") for p in tmp_path.iterdir()] == [True]  # the staging folder only
        assert namx.outputs.staged(tmp_path / "new" / "a.txt").read_text() == "a"
        assert outputs.paths == [tmp_path / "new" / "a.txt"]
    assert leftovers(tmp_path) == ["new", "new/a.txt"]


def test_an_exception_in_a_set_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with output_set():
            with atomic_output(tmp_path / "a.txt") as tmp:
                tmp.write_text("a")
            with atomic_output(tmp_path / "deep" / "b.txt") as tmp:
                tmp.write_text("b")
                raise KeyboardInterrupt
    assert leftovers(tmp_path) == []


PAUSED_WRITE = """
import pathlib, sys, time
from namx.cli import main
real, calls = pathlib.Path.write_bytes, []
def paused(self, data):  # the third file: half written, then a pause for the signal
    calls.append(self)
    if len(calls) == 3:
        real(self, data[:100])
        open(sys.argv[1], "w").close()
        time.sleep(60)
    return real(self, data)
pathlib.Path.write_bytes = paused
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_writing_leaves_nothing(tmp_path, sig):
    """Interrupted in the middle of the third file of a conversion: no file, temporary or final, remains."""
    out, ready = tmp_path / "out", tmp_path / "ready"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", PAUSED_WRITE, str(ready), "convert", "example", "--to", "tflite",
                             "--c-array", "--signatures"], cwd=out, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), proc.communicate()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and b"Traceback" not in err, err
    assert leftovers(out) == [], err


def test_a_failed_file_caught_inside_a_set_is_not_committed(tmp_path):
    with output_set():
        with atomic_output(tmp_path / "a.txt") as tmp:
            tmp.write_text("a")
        with pytest.raises(ValueError):
            with atomic_output(tmp_path / "b.txt") as tmp:
                tmp.write_text("half")
                raise ValueError("the caller handles this one")
    assert leftovers(tmp_path) == ["a.txt"]
