"""The conformance run: every model x width x runtime x block partition, width switches and speed.

The reference is namx's NumPy reference in float64 (namx/reference.py), which reproduces
NeuralAmpModelerCore on the whole golden corpus (spec §8.4); the suite can therefore test any
model on any input. Pass bounds are spec §8.3's classes (namx.metrics.tolerance) with the floor
taken, per output, from the same reference computed in float32: how far float32 arithmetic alone
moves this model's output on this input (spec §11.3).

Each stream starts from the initial state (a newly opened streamer) and is compared on every
sample of the program (namx.signals.program): nothing is trimmed. After the first partition's
stream the runtime is reset and replays the program's start, which must match (spec §7.1).
"""
from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import namx
from namx import bundled
from namx.errors import NamxError
from namx.metrics import esr_db, max_abs_error, tolerance
from namx.model import Model
from namx.runtimes.base import forget_conversions
from namx.signals import PROGRAM_SECONDS, chords, program, sha256
from namx.widths import WidthLevel, select

from .adapters import Error, Partition, Runtime, Skipped, Switch, partition

REPORT_SCHEMA_VERSION = "1.0"
REFERENCE_CHUNK = 4096  # the reference is block-size invariant (spec §7.2); it runs in these blocks
CORE_COMMIT = "daae2d0b482a5fe876258caf3fdfe177044b6295"  # NeuralAmpModelerCore, spec §1


@dataclass(frozen=True)
class Settings:
    """What a run covers. `quick` is a short run for CI and smoke tests.

    The default partitions: blocks of 64 first (the baseline of the invariance check; its reset
    check replays in blocks of 64), single samples through the silence and the impulse response
    ("1+64": a whole program of single samples cost 80 % of the run, in per-call overhead, while
    "random" already plays single-sample blocks between others all through it), the largest
    block and the random partition.
    """
    block_sizes: tuple[str, ...] = ("64", "1+64", "2048", "random")
    seconds: float = PROGRAM_SECONDS  # length of each program segment (10 segments)
    widths: tuple[str, ...] | None = None  # width labels to test; None: every width of each model
    rtf_block_sizes: tuple[int, ...] = (64,)
    rtf_seconds: float = 0.25       # audio per timed stream
    repeats: int = 5                # timed streams; the RTF is their median
    warmup: int = 1                 # untimed streams first
    quick: bool = False

    def check(self) -> Settings:
        if not self.block_sizes:
            raise NamxError("--block-sizes: give at least one block size")
        for b in self.block_sizes:
            partition(b, 1)  # validates the spelling
        if not 0 < self.seconds <= 60:
            raise NamxError(f"--seconds must be in (0, 60] (got {self.seconds:g})")
        if not 0 < self.rtf_seconds <= 600:
            raise NamxError(f"--rtf-seconds must be in (0, 600] (got {self.rtf_seconds:g})")
        if self.repeats < 0 or self.warmup < 0:
            raise NamxError("--repeats and --warmup must be >= 0")
        if any(b < 1 for b in self.rtf_block_sizes):
            raise NamxError("--rtf-block-sizes must be whole numbers >= 1")
        return self


QUICK = Settings(block_sizes=("64", "2048", "random"), seconds=0.05, rtf_seconds=0.2, repeats=3, warmup=1, quick=True)


# ---- the reference ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bounds:
    esr_db: float
    max_abs: float
    floor_esr_db: float
    floor_max_abs: float
    peak: float


class Reference:
    """The float64 NumPy reference (and its float32 twin, for the floor) of one model on one input."""

    def __init__(self, model: Model, x: np.ndarray):
        self.model, self.x = model, x
        self._cache: dict[tuple, np.ndarray] = {}
        self._streamers: dict[tuple, object] = {}

    def fresh(self, level: WidthLevel, start: int, stop: int, precision: str = "float64") -> np.ndarray:
        """x[start:stop] played from the level's initial state."""
        key = (level.index, start, stop, precision)
        if key not in self._cache:
            from namx.runtimes.numpy_ref import NumpyStreamer
            s = self._streamers.get((level.index, precision))
            if s is None:
                s = NumpyStreamer(self.model, level.label, precision=precision)
                self._streamers[level.index, precision] = s
            s.reset()
            seg = self.x[start:stop]
            self._cache[key] = np.concatenate([s.process(seg[a:a + REFERENCE_CHUNK])
                                               for a in range(0, seg.size, REFERENCE_CHUNK)]).astype(np.float64)
        return self._cache[key]

    def output(self, level: WidthLevel, precision: str = "float64") -> np.ndarray:
        return self.fresh(level, 0, self.x.size, precision)

    def switching(self, schedule: list[Switch], precision: str = "float64") -> np.ndarray:
        """Spec §7.3: each newly selected width's fresh output from its switch on; re-requesting the
        active width changes nothing."""
        runs = []
        for sw in schedule:
            if not runs or runs[-1][1].index != sw.level.index:
                runs.append([sw.start, sw.level])
        ends = [r[0] for r in runs[1:]] + [self.x.size]
        return np.concatenate([self.fresh(lv, a, b, precision) for (a, lv), b in zip(runs, ends)])

    @staticmethod
    def bounds(ref64: np.ndarray, ref32: np.ndarray, precision: str) -> Bounds:
        floor_esr, floor_abs, peak = esr_db(ref32, ref64), max_abs_error(ref32, ref64), float(np.max(np.abs(ref64)))
        b_esr, b_abs = tolerance(floor_esr, floor_abs, peak, precision)
        return Bounds(b_esr, b_abs, floor_esr, floor_abs, peak)


def measure(y: np.ndarray, ref: np.ndarray, bounds: Bounds) -> dict:
    """ESR, max abs error, finiteness and pass/fail of one output (spec §8.2, §8.3)."""
    finite = bool(np.isfinite(y).all())
    esr = esr_db(y, ref) if finite else None
    mx = max_abs_error(y, ref) if finite else None
    passed = finite and esr <= bounds.esr_db and mx <= bounds.max_abs
    return {"esr_db": esr, "max_abs": mx, "bound_esr_db": bounds.esr_db, "bound_max_abs": bounds.max_abs,
            "finite": finite, "passed": bool(passed)}


def per_segment(y: np.ndarray, ref: np.ndarray, segments) -> list[dict]:
    out = []
    for s in segments:
        a, b = y[s.start:s.stop], ref[s.start:s.stop]
        finite = bool(np.isfinite(a).all())
        out.append({"name": s.name, "esr_db": esr_db(a, b) if finite else None,
                    "max_abs": max_abs_error(a, b) if finite else None, "finite": finite})
    return out


def switch_schedule(levels: list[WidthLevel], blocks: Partition, n: int) -> list[Switch] | None:
    """Up through every width and back down (both directions, spec §11.1 level 2), in equal parts
    snapped to block boundaries, plus a re-request of the first width halfway through its part
    (which must not change the state, §7.3). None when the blocks are too long for that."""
    order = levels + levels[-2::-1]
    starts_ok = blocks.starts()

    def snap(nominal: int) -> int | None:
        j = int(np.searchsorted(starts_ok, nominal))
        return int(starts_ok[j]) if j < starts_ok.size else None

    starts = [0]
    for i in range(1, len(order)):
        s = snap(i * n // len(order))
        if s is None or s <= starts[-1]:
            return None
        starts.append(s)
    schedule = [Switch(s, lv) for s, lv in zip(starts, order)]
    mid = snap(starts[1] // 2)
    if mid is not None and 0 < mid < starts[1]:
        schedule.insert(1, Switch(mid, order[0]))
    return schedule


# ---- the run ------------------------------------------------------------------------------------

@dataclass
class ModelUnderTest:
    model: Model
    name: str
    levels: list[WidthLevel]
    x: np.ndarray = field(repr=False)
    segments: list = field(repr=False)
    reference: Reference = field(repr=False)


def model_sha256(model: Model) -> str | None:
    p = Path(model.source)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


EXAMPLE_SHA256 = hashlib.sha256(bundled.path(bundled.EXAMPLE).read_bytes()).hexdigest()


def prepare(model: Model, settings: Settings) -> ModelUnderTest:
    levels = model.widths() if settings.widths is None else _unique([select(model, w) for w in settings.widths])
    x, segments = program(model.sample_rate, settings.seconds)
    name = model.metadata.get("name") if isinstance(model.metadata.get("name"), str) else Path(model.source).stem
    if model_sha256(model) == EXAMPLE_SHA256:
        name = bundled.EXAMPLE
    return ModelUnderTest(model, name, levels, x, segments, Reference(model, x))


def _unique(levels):
    seen = {}
    for lv in levels:
        seen.setdefault(lv.index, lv)
    return sorted(seen.values(), key=lambda lv: lv.index)


def run(models: list[Model], runtimes: list[Runtime], settings: Settings = Settings(), *, progress=None,
        log=None, command: list[str] | None = None, not_installed: dict[str, str] | None = None) -> dict:
    """Run the suite; return the report (a dict following report.schema.json). `progress(total)`
    makes a progress bar; `log(line)` gets one line per model x runtime when it is done."""
    settings.check()
    if not models:
        raise NamxError("no models to test")
    if not runtimes:
        raise NamxError("no runtimes to test")
    names = [rt.name for rt in runtimes]
    if len(set(names)) != len(names):
        raise NamxError(f"runtime given twice: {sorted(n for n in names if names.count(n) > 1)[0]}")
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    load_before = _loadavg()
    muts = [prepare(m, settings) for m in models]
    seen: dict[str, int] = {}
    for mut in muts:  # cases are keyed by model name: keep names unique
        seen[mut.name] = seen.get(mut.name, 0) + 1
        if seen[mut.name] > 1:
            mut.name = f"{mut.name} ({seen[mut.name]})"
    cases, switches, skipped, speed = [], [], [], []
    plans = [_plan(mut, settings) for mut in muts]
    total = len(runtimes) * sum(len(m.levels) * (len(partitions) + len(settings.rtf_block_sizes)) + len(switching)
                                for m, (partitions, switching) in zip(muts, plans))
    bar = progress(total) if progress else None

    def step(desc):
        if bar is not None:
            bar.set_description(desc)
            bar.update(1)

    for mut, (partitions, switching) in zip(muts, plans):
        for rt in runtimes:
            session = rt.open(mut.model)
            opened, before = time.perf_counter(), len(cases) + len(switches)
            try:
                for level in mut.levels:
                    _fixed_width(mut, rt, session, level, partitions, cases, skipped, step)
                for blocks, schedule in switching:
                    _switching(mut, rt, session, blocks, schedule, switches, skipped)
                    step(f"{mut.name} {rt.name} switching")
                for level in mut.levels:
                    for block in settings.rtf_block_sizes:
                        _speed(mut, rt, session, level, block, settings, speed, skipped)
                        step(f"{mut.name} {rt.name} w{level.label} speed")
            finally:
                session.close()
            if log is not None:
                done = (cases + switches)[before:]
                failed = sum(not c["passed"] for c in done)
                log(f"{mut.name} x {rt.name}: {len(done)} stream{'s' * (len(done) != 1)}, {failed} failed, "
                    f"{time.perf_counter() - opened:.1f} s (run: {time.perf_counter() - clock:.1f} s)")
        forget_conversions(mut.model)  # memory stays bounded by one model's conversions
    if bar is not None:
        bar.close()
    return _report(muts, runtimes, settings, cases, switches, skipped, speed, started, load_before,
                   command, not_installed or {})


def _plan(mut: ModelUnderTest, settings: Settings) -> tuple[list[Partition], list[tuple[Partition, list | None]]]:
    """The partitions of the fixed-width streams, and (partition, schedule) of the switching
    streams: one per partition, but a partition whose schedule switches on the same samples as an
    earlier one's plays none (what it adds, its blocks between the switches, its fixed-width streams
    test at every width; in the default run "1+64" switches where "64" does)."""
    partitions = [partition(b, mut.x.size) for b in settings.block_sizes]
    if len(mut.levels) < 2:
        return partitions, []
    switching, seen = [], set()
    for blocks in partitions:
        schedule = switch_schedule(mut.levels, blocks, mut.x.size)
        samples = None if schedule is None else tuple((sw.start, sw.level.index) for sw in schedule)
        if samples is None or samples not in seen:  # (None: reported as not run, once per partition)
            switching.append((blocks, schedule))
            seen.add(samples)
    return partitions, switching


def _fixed_width(mut, rt, session, level, partitions, cases, skipped, step):
    ref64 = mut.reference.output(level)
    baseline = None
    for blocks in partitions:
        y = session.play(level, mut.x, blocks)
        step(f"{mut.name} {rt.name} w{level.label} b{blocks.label}")
        where = {"model": mut.name, "width": level.label, "runtime": rt.name, "blocks": blocks.label}
        if isinstance(y, Skipped):
            skipped.append({**where, "test": "accuracy", "reason": y.reason})
            continue
        bounds = Reference.bounds(ref64, mut.reference.output(level, "float32"), rt.precision)
        case = {**where, "precision": rt.precision, "floor_esr_db": bounds.floor_esr_db,
                "floor_max_abs": bounds.floor_max_abs, "peak": bounds.peak}
        if isinstance(y, Error):  # the runtime failed to produce an output
            case.update({"esr_db": None, "max_abs": None, "bound_esr_db": bounds.esr_db,
                         "bound_max_abs": bounds.max_abs, "finite": False, "passed": False, "error": y.reason,
                         "invariance": None, "reset": None, "segments": []})
            cases.append(case)
            continue
        case.update(measure(y, ref64, bounds))
        case["error"] = None
        case["segments"] = per_segment(y, ref64, mut.segments)
        case["reset"] = None
        if baseline is None:
            baseline = (blocks.label, y)
            case["invariance"] = None
            case["reset"] = _reset_check(mut, session, level, blocks, y, bounds)
            if case["reset"] is not None:
                case["passed"] = case["passed"] and case["reset"]["passed"]
        else:
            inv = measure(y, baseline[1], bounds) if np.isfinite(baseline[1]).all() else \
                {"esr_db": None, "max_abs": None, "finite": False, "passed": False}
            case["invariance"] = {"versus": baseline[0], "esr_db": _float(inv["esr_db"]),
                                  "max_abs": _float(inv["max_abs"]),
                                  "passed": inv["passed"]}
            case["passed"] = case["passed"] and inv["passed"]
        cases.append(case)


def _reset_check(mut, session, level, blocks, y, bounds) -> dict | None:
    """Spec §7.1: after reset() the runtime is in its initial state again. It replays the first two
    segments (silence, impulse), which must match its own first output of them within the bounds."""
    n = mut.segments[1].stop
    if not np.isfinite(y[:n]).all():  # the stream failed already; nothing to compare with
        return None
    again = session.replay_after_reset(level, mut.x[:n], blocks.prefix(n))
    if isinstance(again, Skipped):
        return None
    if isinstance(again, Error):
        return {"samples": n, "esr_db": None, "max_abs": None, "passed": False, "error": again.reason}
    m = measure(again, y[:n], bounds)
    return {"samples": n, "esr_db": _float(m["esr_db"]), "max_abs": _float(m["max_abs"]), "passed": m["passed"],
            "error": None}


def _float(v):
    return None if v is None else float(v)


def _switching(mut, rt, session, blocks, schedule, switches, skipped):
    where = {"model": mut.name, "runtime": rt.name, "blocks": blocks.label}
    if schedule is None:
        skipped.append({**where, "width": None, "test": "switching",
                        "reason": "blocks too long to switch widths within the program"})
        return
    y = session.play_switching(schedule, mut.x, blocks)
    if isinstance(y, Skipped):
        skipped.append({**where, "width": None, "test": "switching", "reason": y.reason})
        return
    ref64 = mut.reference.switching(schedule)
    bounds = Reference.bounds(ref64, mut.reference.switching(schedule, "float32"), rt.precision)
    entry = {**where, "precision": rt.precision, "schedule": [{"sample": sw.start, "width": sw.level.label}
                                                              for sw in schedule],
             "floor_esr_db": bounds.floor_esr_db, "floor_max_abs": bounds.floor_max_abs, "peak": bounds.peak}
    if isinstance(y, Error):
        entry.update({"esr_db": None, "max_abs": None, "bound_esr_db": bounds.esr_db,
                      "bound_max_abs": bounds.max_abs, "finite": False, "passed": False, "error": y.reason})
    else:
        entry.update(measure(y, ref64, bounds))
        entry["error"] = None
    switches.append(entry)


def _speed(mut, rt, session, level, block, settings, speed, skipped):
    where = {"model": mut.name, "width": level.label, "runtime": rt.name, "blocks": str(block)}
    if settings.repeats == 0:
        return
    x = chords(max(1, round(settings.rtf_seconds * mut.model.sample_rate)), mut.model.sample_rate).astype(np.float32)
    load = _loadavg()
    times = session.time(level, x, block, settings.repeats, settings.warmup)
    if isinstance(times, (Error, Skipped)):  # no timing: the speed table lists it as not run
        skipped.append({**where, "test": "speed", "reason": times.reason})
        return
    duration = x.size / mut.model.sample_rate
    rtf = duration / np.array(times)  # real-time factor: audio duration / processing time (higher is faster)
    speed.append({**where, "block_size": block, "seconds_of_audio": duration, "repeats": settings.repeats,
                  "warmup": settings.warmup, "rtf_median": float(np.median(rtf)), "rtf_min": float(rtf.min()),
                  "rtf_max": float(rtf.max()), "load_average": load,
                  "includes_process_start": rt.includes_process_start})


# ---- the report ---------------------------------------------------------------------------------

LEVELS = {0: "none", 1: "A2 fixed width", 2: "A2 streaming"}


def _level(rt_name: str, muts, cases, switches) -> int:
    """Spec §11.1 levels 1 and 2, assessed on the bundled example (A2) when it was tested."""
    example = next((m for m in muts if m.name == bundled.EXAMPLE), None)
    if example is None or len(example.levels) != len(example.model.widths()):
        return 0
    mine = [c for c in cases if c["model"] == example.name and c["runtime"] == rt_name]
    all_widths = {c["width"] for c in mine} == {lv.label for lv in example.levels}
    if not mine or not all(c["passed"] for c in mine) or not all_widths:
        return 0
    sw = [s for s in switches if s["model"] == example.name and s["runtime"] == rt_name]
    return 2 if sw and all(s["passed"] for s in sw) else 1


def _report(muts, runtimes, settings, cases, switches, skipped, speed, started, load_before, command,
            not_installed) -> dict:
    runtime_entries = []
    for rt in runtimes:
        mine = [c for c in cases if c["runtime"] == rt.name] + [s for s in switches if s["runtime"] == rt.name]
        level = _level(rt.name, muts, cases, switches)
        runtime_entries.append({
            "name": rt.name, "kind": rt.kind, "version": rt.version, "precision": rt.precision,
            "block_sizes": sorted({c["blocks"] for c in cases if c["runtime"] == rt.name},
                                  key=lambda b: (not b.isdigit(), int(b) if b.isdigit() else 0)),
            "passed": bool(mine) and all(c["passed"] for c in mine),
            "level": level, "level_name": LEVELS[level],
        })
    failed = [c for c in cases if not c["passed"]] + [s for s in switches if not s["passed"]]
    return {
        "schema": "namx-conformance-report", "schema_version": REPORT_SCHEMA_VERSION,
        "spec_version": namx.SPEC_VERSION, "namx_version": namx.__version__,
        "created": started.isoformat(timespec="seconds"),
        "duration_seconds": round((datetime.now(timezone.utc) - started).total_seconds(), 3),
        "command": command,
        "passed": not failed and bool(cases),
        "summary": {"cases": len(cases), "switches": len(switches), "failed": len(failed), "skipped": len(skipped)},
        "settings": {"block_sizes": list(settings.block_sizes), "segment_seconds": settings.seconds,
                     "widths": None if settings.widths is None else list(settings.widths),
                     "rtf_block_sizes": list(settings.rtf_block_sizes), "rtf_seconds": settings.rtf_seconds,
                     "repeats": settings.repeats, "warmup": settings.warmup, "quick": settings.quick,
                     "random_partition": "log-uniform block lengths 1..511, default_rng(7)"},
        "reference": {"implementation": "namx NumPy reference (namx/reference.py), float64",
                      "namx_version": namx.__version__,
                      "reproduces": f"NeuralAmpModelerCore {CORE_COMMIT} on the golden corpus (spec §8.4)",
                      "floor": "the same reference in float32 (spec §11.3)"},
        "environment": _environment(load_before),
        "runtimes": runtime_entries,
        "not_installed": [{"name": n, "reason": r} for n, r in not_installed.items()],
        "models": [_model_entry(m) for m in muts],
        "cases": cases, "switches": switches, "skipped": skipped, "speed": speed,
    }


def _model_entry(m: ModelUnderTest) -> dict:
    return {"name": m.name, "file": str(m.model.source), "sha256": model_sha256(m.model),
            "architecture": m.model.architecture, "sample_rate": m.model.sample_rate,
            "widths": [lv.label for lv in m.model.widths()], "tested_widths": [lv.label for lv in m.levels],
            "input": {"samples": int(m.x.size), "sample_rate": m.model.sample_rate, "sha256": sha256(m.x),
                      "segments": [{"name": s.name, "description": s.description, "start": s.start, "stop": s.stop,
                                    "sha256": sha256(m.x[s.start:s.stop])} for s in m.segments]}}


def _loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _environment(load_before) -> dict:
    import importlib.metadata
    packages = {}
    for dist in ("numpy", "onnx", "onnxruntime", "ai-edge-litert", "tflite-micro"):
        try:
            packages[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {"platform": platform.platform(), "machine": platform.machine(), "cpu": _cpu_name(),
            "cpu_count": os.cpu_count(), "python": sys.version.split()[0], "packages": packages,
            "threads": 1, "load_average_before": load_before, "load_average_after": _loadavg()}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


__all__ = ["Settings", "QUICK", "Reference", "run", "measure", "switch_schedule", "REPORT_SCHEMA_VERSION"]
