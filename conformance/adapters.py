"""How the suite runs a runtime: one interface (Runtime) over three kinds of runtime.

- **namx**: a runtime of namx's registry (`namx.runtimes.RUNTIMES`), by name.
- **entry point**: a Python runtime another package installs, by name, through the entry-point
  group ENTRY_POINT_GROUP (`namx.runtimes`). The object is a `namx.runtimes.base.Streamer`
  subclass (or any callable `(model, width, *, slim=None) -> Streamer`).
- **command**: an external program run once per stream (`cmd:TEMPLATE`, see CommandRuntime), so
  firmware on a test rig or a C++ host can be checked across a process boundary.

A Runtime opens a Session per model; a session plays one stream (`play`: one width, one block
partition, from the initial state), one width-switching stream (`play_switching`) and times a
stream (`time`). Instead of an output, a stream that fails returns an Error (the stream fails, with
its reason); one the runtime cannot play at all returns Skipped (the report lists it as not run).
"""
from __future__ import annotations

import collections
import contextlib
import importlib.metadata
import os
import re
import shlex
import shutil
import signal
import string
import subprocess
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import namx
from namx.errors import NamxError
from namx.inputs import open_regular
from namx.model import Model
from namx.runtimes import ENTRY_POINT_GROUP, UnknownRuntime, find  # noqa: F401 (the group: namx.conformance API)
from namx.runtimes import installed as installed_runtimes  # noqa: F401 (namx.conformance API)
from namx.widths import WidthLevel

COMMAND_TIMEOUT = 600.0  # seconds one external command may take (--timeout)


@dataclass(frozen=True)
class Partition:
    """A block partition of the input: `label` is its block size ("64") or "random"."""
    label: str
    lengths: tuple[int, ...]

    @property
    def fixed(self) -> int | None:
        return int(self.label) if self.label.isdigit() else None

    @property
    def largest(self) -> int:
        return max(self.lengths)

    def starts(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)

    def prefix(self, n: int) -> Partition:
        """The blocks that cover the first n samples (the last one cut short)."""
        ends = np.cumsum(self.lengths)
        k = int(np.searchsorted(ends, n))
        return Partition(self.label, tuple(self.lengths[:k]) + (n - (int(ends[k - 1]) if k else 0),))


RANDOM_SEED, RANDOM_MAX = 7, 512


SINGLES_THEN_64 = "1+64"


def partition(spec: str, n: int) -> Partition:
    """Block lengths covering n samples: "N" (blocks of N, the last one shorter), "random"
    (lengths floor(2**(9u)) for u uniform in [0, 1) from default_rng(7): log-uniform in 1..511, so
    about one block in nine is a single sample) or "1+64" (blocks of 64 through the first tenth,
    the conformance program's silence, single samples through the second, its impulse, and blocks
    of 64 after: the impulse response carried one sample per call through every layer's state, at
    a tenth of the cost of "1"; a runtime with static shapes sizes itself for 64 on the first
    block and then runs its single-sample model between them)."""
    if spec == SINGLES_THEN_64:
        k = n // 10
        return Partition(spec, partition("64", k).lengths + (1,) * k + partition("64", n - 2 * k).lengths)
    if spec == "random":
        rng = np.random.default_rng(RANDOM_SEED)
        lengths, total = [], 0
        while total < n:
            k = min(int(2 ** (9 * rng.random())), n - total)
            lengths.append(k)
            total += k
        return Partition("random", tuple(lengths))
    if not spec.isdigit() or int(spec) < 1:
        raise NamxError(f"block size {spec!r}: expected a whole number >= 1, 'random' or '{SINGLES_THEN_64}'")
    size = int(spec)
    return Partition(str(size), tuple([size] * (n // size) + ([n % size] if n % size else [])))


@dataclass(frozen=True)
class Error:
    """A session's outcome when the runtime tried and produced no usable output: the stream fails."""
    reason: str


@dataclass(frozen=True)
class Skipped:
    """A session's outcome for a kind of stream the runtime cannot play at all: reported as not run,
    not as a failure."""
    reason: str


Outcome = Error | Skipped  # what a session returns instead of an output


@dataclass(frozen=True)
class Switch:
    """From sample `start` on (a block boundary), play width level `level`."""
    start: int
    level: WidthLevel


class Session(ABC):
    """One runtime with one model loaded."""

    @abstractmethod
    def play(self, level: WidthLevel, x: np.ndarray, blocks: Partition) -> np.ndarray | Outcome:
        """The output of one stream from the initial state, or why it cannot be played."""

    @abstractmethod
    def play_switching(self, schedule: list[Switch], x: np.ndarray, blocks: Partition) -> np.ndarray | Outcome:
        """One stream whose width changes at the schedule's samples (block boundaries)."""

    @abstractmethod
    def time(self, level: WidthLevel, x: np.ndarray, block: int, repeats: int, warmup: int) -> list[float] | Outcome:
        """Wall-clock seconds of `repeats` timed streams of x (after `warmup` untimed ones)."""

    def replay_after_reset(self, level: WidthLevel, x: np.ndarray, blocks: Partition) -> np.ndarray | Outcome:
        """After the last play() of this level: reset() the runtime and play x (from the start of
        that input) again; Skipped when the runtime has no reset."""
        return Skipped("this runtime has no reset (every stream starts anew)")

    def close(self) -> None:
        pass


class Runtime(ABC):
    name: str
    kind: str           # "namx", "entry point", "command", or "python" (a class handed over from Python)
    version: str
    precision: str      # the spec §8.3 class it is held to, known once a session is open
    includes_process_start = False  # timings include starting a process

    @abstractmethod
    def open(self, model: Model) -> Session:
        ...


# ---- Python runtimes: Streamers -------------------------------------------------------------------

class StreamerRuntime(Runtime):
    """A runtime given as a Streamer factory (namx's registry, an entry point, or a test's class)."""

    def __init__(self, name: str, factory, *, kind: str = "python", version: str | None = None, **options):
        self.name, self.factory, self.kind, self.options = name, factory, kind, options
        self.precision = getattr(factory, "precision", "float32")
        backend = getattr(factory, "backend", None)
        self.version = version or _versions("namx", backend)

    def streamer(self, model: Model, level: WidthLevel):
        s = self.factory(model, level.label, **self.options)
        self.precision = getattr(s, "precision", "float32")
        if self.precision not in ("float32", "float64"):
            raise NamxError(f"runtime {self.name}: precision must be 'float32' or 'float64' (got {self.precision!r})")
        return s

    def open(self, model: Model) -> Session:
        return StreamerSession(self, model)


class StreamerSession(Session):
    """Every stream on a newly opened streamer (so that a static-shape runtime sizes itself for the
    partition it plays); replay_after_reset() checks that reset() returns to the initial state."""

    def __init__(self, runtime: StreamerRuntime, model: Model):
        self.runtime, self.model = runtime, model
        self._last = {}  # level index -> the streamer that played it last

    def play(self, level, x, blocks):
        try:
            s = self._last[level.index] = self.runtime.streamer(self.model, level)
            return _stream(s, x, blocks)
        except Exception as e:  # the runtime under test broke: that stream fails, the run goes on
            return _raised(e)

    def replay_after_reset(self, level, x, blocks):
        s = self._last.get(level.index)
        if s is None:
            return Skipped("no stream to reset")
        try:
            s.reset()
            return _stream(s, x, blocks)
        except Exception as e:
            return _raised(e)

    def play_switching(self, schedule, x, blocks):
        changes = {sw.start: sw.level.label for sw in schedule[1:]}
        out = []
        try:
            s = self.runtime.streamer(self.model, schedule[0].level)
            for a, n in zip(blocks.starts(), blocks.lengths):
                if int(a) in changes:
                    s.width = changes[int(a)]
                out.append(s.process(x[a:a + n]))
            return _concat(out, x.size)
        except Exception as e:
            return _raised(e)

    def time(self, level, x, block, repeats, warmup):
        try:
            return self._time(level, x, block, repeats, warmup)
        except Exception as e:
            return _raised(e)

    def _time(self, level, x, block, repeats, warmup):
        from threadpoolctl import threadpool_limits
        s = self.runtime.streamer(self.model, level)
        chunks = [x[a:a + block] for a in range(0, x.size, block)]
        times = []
        with threadpool_limits(limits=1):  # NumPy's BLAS and any OpenMP pool: one thread
            for k in range(warmup + repeats):
                s.reset()
                t0 = time.perf_counter()
                for c in chunks:
                    s.process(c)
                if k >= warmup:
                    times.append(time.perf_counter() - t0)
        return times


def _stream(s, x, blocks: Partition) -> np.ndarray | Error:
    return _concat([s.process(x[a:a + n]) for a, n in zip(blocks.starts(), blocks.lengths)], x.size)


def _concat(blocks, n: int) -> np.ndarray | Error:
    y = np.concatenate([np.asarray(b, np.float64).reshape(-1) for b in blocks])
    return y if y.size == n else Error(f"returned {y.size} samples for {n} input samples")


def _raised(e: Exception) -> Error:
    lines = str(e).strip().splitlines()
    return Error(f"raised {type(e).__name__}" + (f": {lines[0][:300]}" if lines else ""))


def _versions(*dists) -> str:
    """'namx 0.1.0 (onnxruntime 1.20.1)'-style version text for a runtime."""
    parts = []
    for d in dists:
        if d is None:
            continue
        if d == "namx":
            parts.append(f"namx {namx.__version__}")
            continue
        try:
            parts.append(f"{d} {importlib.metadata.version(d)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{d} (version unknown)")
    return parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


# ---- resolving names --------------------------------------------------------------------------------

_COMMAND = re.compile(r"^(?:(?P<name>[\w.+-]+)(?:@(?P<version>[\w.+-]+))?=)?(?P<kind>cmd|shell):(?P<template>.*)$",
                      re.S)


def resolve(spec: str, *, timeout: float = COMMAND_TIMEOUT) -> Runtime:
    """A runtime from its command-line form: a registry or entry-point name, or an external command
    `[NAME[@VERSION]=]cmd:TEMPLATE` (or `shell:TEMPLATE`, run by /bin/sh)."""
    m = _COMMAND.match(spec)
    if m:
        return CommandRuntime(m["template"], shell=m["kind"] == "shell", name=m["name"], version=m["version"],
                              timeout=timeout)
    try:
        found = find(spec)
    except UnknownRuntime as e:  # the suite also takes external commands
        raise NamxError(f"unknown runtime {spec!r} (available: {', '.join(e.available) or 'none'}; "
                        "or cmd:\"PROGRAM {model} {input} {output} ...\")") from None
    if found.kind == "namx":
        return StreamerRuntime(spec, found.factory, kind="namx")
    return StreamerRuntime(spec, found.factory, kind=found.kind,
                           version=_versions(found.distribution) if found.distribution else "unknown")


# ---- external commands --------------------------------------------------------------------------

PLACEHOLDERS = {
    "model": "the model as its .nam file",
    "onnx": "the model at {width} as a fixed-width ONNX graph (spec §9)",
    "onnx_all": "the model as one all-widths ONNX graph (spec §9.3)",
    "tflite": "the model at {width} as a .tflite for blocks of {block} (spec §10; needs the TFLite converter)",
    "input": "the input: mono 32-bit float WAV at the model's rate",
    "input_raw": "the input: headerless little-endian float32 samples",
    "output": "where to write the output: mono WAV (any subtype soundfile reads; float recommended)",
    "output_raw": "where to write the output: headerless little-endian float32 samples",
    "width": "the width label to play (the first width of a switching stream)",
    "width_index": "the width level's index (0 = narrowest)",
    "block": "the block size (for a varying partition, its largest block)",
    "blocks": "a text file with every block length, one per line, in order",
    "schedule": "a text file of widths: lines 'SAMPLE WIDTH', the first '0 {width}' (one line when the width is fixed)",
    "rate": "the sample rate in Hz",
}


class CommandRuntime(Runtime):
    """An external program that plays one stream per invocation (the contract: conformance/README.md).

    The template is split like a shell command line (shlex) and each word's placeholders are filled
    in; the program runs without a shell, with no standard input, for at most `timeout` seconds.
    With shell=True (the `shell:` form) the filled-in template runs in /bin/sh, placeholders
    shell-quoted. Exit code 0 means the output was written; anything else fails the stream.
    """

    kind = "command"
    includes_process_start = True

    def __init__(self, template: str, *, shell: bool = False, name: str | None = None, version: str | None = None,
                 timeout: float = COMMAND_TIMEOUT):
        self.template, self.shell, self.timeout = template.strip(), shell, timeout
        self.name = name or f"{'shell' if shell else 'cmd'}:{self.template}"
        self.version = version or "unknown (name it: NAME@VERSION=cmd:...)"
        self.precision = "float32"
        try:
            words = shlex.split(self.template)
        except ValueError as e:
            raise NamxError(f"runtime {self.name!r}: cannot split the command ({e})") from None
        if not words:
            raise NamxError("an external runtime needs a command: cmd:\"PROGRAM {model} {input} {output}\"")
        self.words = words
        used = set()
        for w in ([self.template] if shell else words):
            try:
                used |= {f for _, f, _, _ in string.Formatter().parse(w) if f is not None}
            except ValueError as e:
                raise NamxError(f"runtime {self.name!r}: bad placeholder in {w!r} ({e})") from None
        unknown = sorted(used - set(PLACEHOLDERS))
        if unknown:
            raise NamxError(f"runtime {self.name!r}: unknown placeholder {{{unknown[0]}}} "
                            f"(known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})")
        if not used & {"input", "input_raw"} or not used & {"output", "output_raw"}:
            raise NamxError(f"runtime {self.name!r}: the command must name its input ({{input}} or {{input_raw}}) "
                            "and output ({output} or {output_raw})")
        if "tflite" in used:
            from namx.converters import TARGETS
            if "tflite" not in TARGETS:
                raise NamxError(f"runtime {self.name!r}: {{tflite}} needs the TFLite converter, "
                                "which this namx does not have")
        self.used = used
        if not shell and "/" not in words[0] and shutil.which(words[0]) is None:
            raise NamxError(f"runtime {self.name!r}: program {words[0]!r} not found")

    def open(self, model: Model) -> Session:
        return CommandSession(self, model)


WAV_HEADROOM = 2**16      # bytes a runner's WAV output may have besides its samples
STDERR_TAIL = 4096        # bytes of a runner's stderr kept (its last line goes into the report)


def run_bounded(args, shell: bool, cwd: Path, timeout: float) -> tuple[int, bytes]:
    """Run a command in its own process group with no input; return its exit code and the end of its
    stderr (stdout is discarded, so a chatty runner cannot fill memory). On a timeout, or when namx
    itself is interrupted, the whole group is killed, children included; so is any child left behind
    after the command exits."""
    proc = subprocess.Popen(args, shell=shell, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    tail = collections.deque(maxlen=STDERR_TAIL)

    def keep_tail():
        for chunk in iter(lambda: proc.stderr.read1(4096), b""):
            tail.extend(chunk)
    reader = threading.Thread(target=keep_tail, daemon=True)
    reader.start()
    try:
        proc.wait(timeout)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        reader.join(5)
        proc.stderr.close()
    return proc.returncode, bytes(tail)


class CommandSession(Session):
    def __init__(self, runtime: CommandRuntime, model: Model):
        self.rt, self.model = runtime, model
        self.dir = Path(tempfile.mkdtemp(prefix="namx-conform-"))
        self._files: dict[tuple, Path] = {}
        self._count = 0

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def _model_file(self, key: str, level: WidthLevel, block: int) -> Path:
        """The model in the form a placeholder names, written once per session."""
        if key == "model":
            p = Path(self.model.source)
            if not p.is_file():
                raise NamxError(f"{self.model.source}: {{model}} needs the model as a file")
            return p.resolve()
        cache = (key, None if key == "onnx_all" else level.index, block if key == "tflite" else None)
        if cache not in self._files:
            if key == "tflite":
                from namx.converters import convert
                path = self.dir / f"model.w{level.label}.b{block}.tflite"
                convert("tflite", self.model, output=str(path), width=level.label, block_size=block,
                        signatures=False, c_array=False, force=True)
            else:
                from namx.converters.onnx import export
                path = self.dir / (f"model.w{level.label}.onnx" if key == "onnx" else "model.onnx")
                path.write_bytes(export(self.model, level.label if key == "onnx" else None).SerializeToString())
            self._files[cache] = path
        return self._files[cache]

    def _invoke(self, level, x, blocks: Partition, schedule: list[Switch] | None) -> tuple[np.ndarray | Error, float]:
        import soundfile
        self._count += 1
        work = self.dir / f"run{self._count}"
        work.mkdir()
        rate = self.model.sample_rate
        values = {"width": level.label, "width_index": str(level.index), "block": str(blocks.largest),
                  "rate": f"{rate:g}"}
        paths = {"input": work / "input.wav", "input_raw": work / "input.f32", "output": work / "output.wav",
                 "output_raw": work / "output.f32", "blocks": work / "blocks.txt", "schedule": work / "schedule.txt"}
        used = self.rt.used
        if "input" in used:
            soundfile.write(str(paths["input"]), x.astype(np.float32), int(round(rate)), subtype="FLOAT", format="WAV")
        if "input_raw" in used:
            x.astype("<f4").tofile(paths["input_raw"])
        if "blocks" in used:
            paths["blocks"].write_text("".join(f"{n}\n" for n in blocks.lengths))
        if "schedule" in used:  # a one-width stream gets a one-line schedule
            schedule = schedule or [Switch(0, level)]
            paths["schedule"].write_text("".join(f"{sw.start} {sw.level.label}\n" for sw in schedule))
        for key in ("model", "onnx", "onnx_all", "tflite"):
            if key in used:
                values[key] = str(self._model_file(key, level, blocks.largest))
        values.update({k: str(p) for k, p in paths.items()})
        if self.rt.shell:
            args = self.rt.template.format_map({k: shlex.quote(v) for k, v in values.items()})
        else:
            args = [w.format_map(values) for w in self.rt.words]
        t0 = time.perf_counter()
        try:
            code, stderr_tail = run_bounded(args, self.rt.shell, work, self.rt.timeout)
        except subprocess.TimeoutExpired:
            return Error(f"timed out after {self.rt.timeout:g} s"), time.perf_counter() - t0
        except OSError as e:  # the program cannot be started at all: a usage error, not a result
            raise NamxError(f"runtime {self.rt.name!r}: cannot run {args if self.rt.shell else args[0]!r}: "
                            f"{e.strerror or e}") from None
        seconds = time.perf_counter() - t0
        if code != 0:
            tail = stderr_tail.decode(errors="replace").strip().splitlines()[-1:] or ["(no message)"]
            return Error(f"exited with code {code}: {tail[0][:300]}"), seconds
        return self._read_output(paths, x.size), seconds

    def _read_output(self, paths, n: int) -> np.ndarray | Error:
        """The runner's output, size-checked before it is read (a regular file of n samples)."""
        p = paths["output_raw" if "output_raw" in self.rt.used else "output"]
        if not p.exists():
            return Error("exited with code 0 but wrote no output")
        try:
            f = open_regular(p, "output")
        except NamxError as e:
            return Error(str(e))
        with f:
            size = os.fstat(f.fileno()).st_size
            if "output_raw" in self.rt.used:
                if size != 4 * n:
                    return Error(f"raw output has {size} bytes, expected {4 * n} ({n} float32 samples)")
                return np.fromfile(f, "<f4", count=n).astype(np.float64)
            if size > 8 * n + WAV_HEADROOM:  # (64-bit samples and any header fit)
                return Error(f"output has {size} bytes, far more than {n} samples need")
            import soundfile
            try:
                with soundfile.SoundFile(f) as sf:
                    if sf.channels != 1:
                        return Error(f"output has {sf.channels} channels, expected mono")
                    if sf.frames != n:
                        return Error(f"output has {sf.frames} samples, expected {n}")
                    y = sf.read(n, dtype="float32")
            except (soundfile.LibsndfileError, RuntimeError, ValueError) as e:
                return Error(f"output is not a readable WAV ({e})")
        return y.astype(np.float64)

    def play(self, level, x, blocks):
        if blocks.fixed is None and "blocks" not in self.rt.used:
            return Skipped("a varying partition needs {blocks} in the command")
        return self._invoke(level, x, blocks, None)[0]

    def play_switching(self, schedule, x, blocks):
        if "schedule" not in self.rt.used:
            return Skipped("width switching needs {schedule} in the command")
        if blocks.fixed is None and "blocks" not in self.rt.used:
            return Skipped("a varying partition needs {blocks} in the command")
        return self._invoke(schedule[0].level, x, blocks, schedule)[0]

    def time(self, level, x, block, repeats, warmup):
        blocks = partition(str(block), x.size)
        times = []
        for k in range(warmup + repeats):
            y, seconds = self._invoke(level, x, blocks, None)
            if isinstance(y, Error):
                return y
            if k >= warmup:
                times.append(seconds)
        return times
