"""Test vectors for a vendor's own bench: `namx conform export-vectors DIR` and `check-vectors DIR`.

export() writes, for one model, everything needed to test a runtime without Python: the model
(.nam, ONNX graphs, and TFLite files with C arrays when namx has the TFLite converter), the input
program, the expected output per width (float32 raw and WAV), the pass bounds of spec §8.3 for
both precision classes, a width-switching stream, and manifest.json tying them together (with
every file's SHA-256). check() plays the vectors through a runtime using only what the folder
holds, and is the proof that they round-trip.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import namx
from namx import loader
from namx.outputs import atomic_output, check_output_folder, output_set, staged
from namx.errors import NamxError
from namx.inputs import open_regular, read_limited
from namx.limits import current as current_limits
from namx.metrics import tolerance
from namx.model import Model

from . import c_vectors
from .adapters import Error, Partition, Runtime, Skipped, Switch, partition
from .suite import CORE_COMMIT, Bounds, Reference, Settings, measure, prepare, switch_schedule

FORMAT, FORMAT_VERSION = "namx-conformance-vectors", "1.0"
MANIFEST = "manifest.json"


def _write(path: Path, data: bytes | str) -> None:
    with atomic_output(path) as tmp:
        (tmp.write_bytes if isinstance(data, bytes) else tmp.write_text)(data)


def _wav_bytes(y: np.ndarray, rate: float) -> bytes:
    import io

    import soundfile
    buf = io.BytesIO()
    soundfile.write(buf, np.asarray(y, np.float32), int(round(rate)), subtype="FLOAT", format="WAV")
    return buf.getvalue()


def _audio(folder: Path, stem: str, y: np.ndarray, rate: float) -> dict:
    """Write stem.f32 (raw little-endian float32) and stem.wav; describe them for the manifest."""
    raw = np.ascontiguousarray(y, "<f4")
    _write(folder / f"{stem}.f32", raw.tobytes())
    _write(folder / f"{stem}.wav", _wav_bytes(raw, rate))
    return {"raw": f"{stem}.f32", "wav": f"{stem}.wav", "samples": int(raw.size),
            "sha256": hashlib.sha256(raw.tobytes()).hexdigest()}


def _bounds_entry(b: Bounds) -> dict:
    return {"floor_esr_db": b.floor_esr_db, "floor_max_abs": b.floor_max_abs, "peak": b.peak,
            "tolerance": {cls: dict(zip(("esr_db", "max_abs"), tolerance(b.floor_esr_db, b.floor_max_abs, b.peak, cls)))
                          for cls in ("float32", "float64")}}


def export(model: Model, folder: str | Path, settings: Settings = Settings(), *, force: bool = False) -> list[Path]:
    """Write the vectors for `model` into `folder` (created; must be empty unless `force`): every file
    or none (one output set, namx.outputs)."""
    with output_set() as outputs:
        return _export(model, Path(folder), settings, force, outputs)


def _export(model: Model, folder: Path, settings: Settings, force: bool, outputs) -> list[Path]:
    from namx.converters import TARGETS
    from namx.converters.onnx import export as onnx_export
    check_output_folder(folder, force)
    src = Path(model.source)
    if not src.is_file():
        raise NamxError(f"{model.source}: export-vectors needs the model as a file")
    settings.check()
    mut = prepare(model, settings)
    rate = model.sample_rate
    fixed = [int(b) for b in settings.block_sizes if b.isdigit()]

    _write(folder / "model.nam", loader.read_file(src, model.source, current_limits()))
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "spec_version": namx.SPEC_VERSION,
        "namx_version": namx.__version__, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "reference": {"implementation": "namx NumPy reference, float64",
                      "reproduces": f"NeuralAmpModelerCore {CORE_COMMIT} (spec §8.4)",
                      "floor": "the same reference in float32 (spec §11.3)"},
        "model": {"file": "model.nam", "name": mut.name, "architecture": model.architecture, "sample_rate": rate,
                  "widths": [lv.label for lv in model.widths()], "all_widths_onnx": "model.onnx"},
        "input": {**_audio(folder, "input", mut.x, rate), "sample_rate": rate,
                  "segments": [{"name": s.name, "description": s.description, "start": s.start, "stop": s.stop}
                               for s in mut.segments]},
        "block_sizes": list(settings.block_sizes),
        "partitions": {},
        "widths": [],
        "switching": None,
    }
    _write(folder / "model.onnx", onnx_export(model).SerializeToString())
    for b in settings.block_sizes:
        if not b.isdigit():
            p = partition(b, mut.x.size)
            _write(folder / f"blocks.{b}.txt", "".join(f"{n}\n" for n in p.lengths))
            manifest["partitions"][b] = f"blocks.{b}.txt"
    for lv in mut.levels:
        sub = folder / f"w{lv.label}"
        ref64 = mut.reference.output(lv)
        entry = {"label": lv.label, "index": lv.index, "channels": list(lv.channels),
                 "onnx": f"w{lv.label}/model.onnx", "tflite": {}, "c_array": {},
                 "expected": {k: (f"w{lv.label}/{v}" if k in ("raw", "wav") else v)
                              for k, v in _audio(sub, "expected", ref64, rate).items()},
                 **_bounds_entry(Reference.bounds(ref64, mut.reference.output(lv, "float32"), "float32"))}
        _write(sub / "model.onnx", onnx_export(model, lv.label).SerializeToString())
        if "tflite" in TARGETS:
            from namx.converters import convert
            for b in fixed:
                path = sub / f"model.b{b}.tflite"
                convert("tflite", model, output=str(path), width=lv.label, block_size=b, signatures=False,
                        c_array=True, force=True)
                entry["tflite"][str(b)] = f"w{lv.label}/{path.name}"
                entry["c_array"][str(b)] = [f"w{lv.label}/{path.with_suffix('.h').name}",
                                            f"w{lv.label}/{path.with_suffix('.cc').name}"]
        manifest["widths"].append(entry)
    if len(mut.levels) > 1 and fixed:
        step = math.lcm(*fixed)  # switches land on a block boundary for every fixed block size
        schedule = switch_schedule(mut.levels, partition(str(step), mut.x.size), mut.x.size)
        if schedule is not None:
            ref64 = mut.reference.switching(schedule)
            _write(folder / "switch" / "schedule.txt", "".join(f"{sw.start} {sw.level.label}\n" for sw in schedule))
            manifest["switching"] = {
                "schedule_file": "switch/schedule.txt",
                "schedule": [{"sample": sw.start, "width": sw.level.label} for sw in schedule],
                "block_sizes": fixed,
                "expected": {k: (f"switch/{v}" if k in ("raw", "wav") else v)
                             for k, v in _audio(folder / "switch", "expected", ref64, rate).items()},
                **_bounds_entry(Reference.bounds(ref64, mut.reference.switching(schedule, "float32"), "float32")),
            }
    _write(folder / "README.md", _readme(manifest))
    c_vectors.write(folder, manifest, _write)  # vectors.h, for a C bench
    files = sorted(p for p in outputs.paths if p.is_relative_to(folder) and p.name != MANIFEST)
    manifest["files"] = {str(p.relative_to(folder)): hashlib.sha256(staged(p).read_bytes()).hexdigest()
                         for p in files}
    _write(folder / MANIFEST, json.dumps(manifest, indent=2, allow_nan=False) + "\n")
    return [folder / MANIFEST, *files]


def _readme(m: dict) -> str:
    widths = ", ".join(w["label"] for w in m["widths"])
    return f"""# namx conformance vectors: {m['model']['name']}

Written by namx {m['namx_version']} for the A2 spec {m['spec_version']}. `manifest.json` lists every file
(with its SHA-256), the input segments, and the pass bounds. To test a runtime:

1. Load the model at a width ({widths}): `model.nam`, or `w<width>/model.onnx` (fixed-width ONNX,
   spec §9), `model.onnx` (all widths), or `w<width>/model.b<N>.tflite` / `.h` + `.cc` (spec §10),
   when present.
2. Start from the initial state (spec §7.1) and play `input.f32` (little-endian float32, mono,
   {m['input']['sample_rate']:g} Hz, {m['input']['samples']} samples; the same as `input.wav`) in blocks of
   one of the block sizes {m['block_sizes']} (a `blocks.<name>.txt` file gives a varying partition, one
   length per line), carrying the state from block to block.
3. Compare your output with `w<width>/expected.f32` over all samples: ESR = 10·log10(Σ(y−ŷ)²/Σŷ²)
   and max |y−ŷ| (spec §8.2) must not exceed `tolerance.float32` (or `.float64` for a runtime that
   computes in float64) of that width in the manifest, and every sample must be finite.
4. Width switching (spec §7.3): play the input starting at the first width of
   `switch/schedule.txt` (lines `SAMPLE WIDTH`), changing width at the block that starts at each
   SAMPLE, and compare with `switch/expected.f32` in the same way.

With namx installed, `namx conform check-vectors <this folder> --runtime R` does all of this.
"""


MANIFEST_BYTES = 64 * 2**20  # far above a real manifest (a few KB per width)
MAX_SECONDS = 600  # the longest input export() writes: 10 segments of at most 60 s
OTHER_BYTES = 2**30  # any other listed file (ONNX, TFLite, C arrays), far above a real one
SCHEMA = Path(__file__).with_name("vectors.schema.json")


def _load_manifest(folder: Path) -> dict:
    """The manifest, checked before anything it names is read: against vectors.schema.json, every
    path inside the folder and listed in `files`, every listed file a regular file with its SHA-256."""
    path = folder / MANIFEST
    if not path.exists():
        raise NamxError(f"{path}: no such file (not a vectors folder written by 'namx conform export-vectors')")
    try:
        m = json.loads(read_limited(path, MANIFEST_BYTES, "manifest").decode("utf-8"))
    except (ValueError, RecursionError) as e:  # (JSONDecodeError and UnicodeDecodeError are ValueErrors)
        raise NamxError(f"{path}: not valid JSON ({_first_line(e)})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise NamxError(f"{path}: not a {FORMAT} {FORMAT_VERSION} manifest")
    import jsonschema
    error = jsonschema.exceptions.best_match(_validator().iter_errors(m))
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        raise NamxError(f"{path}: {where or '(top level)'}: {_first_line(error)[:200]}")
    listed = m["files"]
    for rel in _referenced(m):
        if rel not in listed:
            raise NamxError(f"{path}: {rel} is used but not listed in files (with its SHA-256)")
    for rel in listed:
        _inside(folder, rel)
    return m


def _check_files(folder: Path, m: dict, samples: int) -> None:
    """Every listed file: its size first (audio exactly `samples` float32, others bounded), then its SHA-256."""
    sizes = {m["input"]["raw"]: 4 * samples, **{w["expected"]["raw"]: 4 * samples for w in m["widths"]}}
    if m["switching"]:
        sizes[m["switching"]["expected"]["raw"]] = 4 * samples
    for rel, digest in m["files"].items():
        p = folder / rel
        with open_regular(p, "vectors file") as f:
            size = os.fstat(f.fileno()).st_size
            if rel in sizes and size != sizes[rel]:
                raise NamxError(f"{p}: has {size} bytes; the manifest's {samples} samples need {sizes[rel]}")
            if size > OTHER_BYTES:
                raise NamxError(f"{p}: has {size} bytes, more than the {OTHER_BYTES} a vectors file may have")
            digest_now = hashlib.sha256()
            for chunk in iter(lambda: f.read(2**20), b""):
                digest_now.update(chunk)
        if digest_now.hexdigest() != digest:
            raise NamxError(f"{p}: SHA-256 differs from the manifest (file changed or damaged)")


def _referenced(m: dict) -> list[str]:
    """Every file path check() reads, besides the manifest."""
    paths = [m["model"]["file"], m["input"]["raw"], *m["partitions"].values(),
             *(w["expected"]["raw"] for w in m["widths"])]
    return paths + ([m["switching"]["expected"]["raw"]] if m["switching"] else [])


def _validator():
    import jsonschema
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def _inside(folder: Path, rel: str) -> Path:
    """folder/rel, refused unless it stays inside the folder (symlinks followed)."""
    p = folder / rel
    if not p.resolve().is_relative_to(folder.resolve()):
        raise NamxError(f"{p}: is outside the vectors folder {folder}")
    return p


def _raw(folder: Path, rel: str, samples: int) -> np.ndarray:
    """A raw float32 file of exactly `samples` samples, size-checked before it is read."""
    p = _inside(folder, rel)
    with open_regular(p, "raw float32 file") as f:
        size = os.fstat(f.fileno()).st_size
        if size != 4 * samples:
            raise NamxError(f"{p}: has {size} bytes; the manifest's {samples} samples need {4 * samples}")
        return np.fromfile(f, "<f4", count=samples)


def _lengths(folder: Path, rel: str, samples: int) -> tuple[int, ...]:
    """A partition file: one block length >= 1 per line, adding up to `samples`."""
    p = _inside(folder, rel)
    text = read_limited(p, 12 * samples, "partition file").decode("ascii", errors="replace")
    words = text.split()
    if not all(w.isdigit() and len(w) <= 9 and int(w) >= 1 for w in words):
        raise NamxError(f"{p}: expected one block length (a whole number >= 1) per line")
    lengths = tuple(map(int, words))
    if sum(lengths) != samples:
        raise NamxError(f"{p}: block lengths do not add up to the input")
    return lengths


def _bounds(entry: dict, precision: str) -> Bounds:
    t = entry["tolerance"][precision]
    return Bounds(t["esr_db"], t["max_abs"], entry["floor_esr_db"], entry["floor_max_abs"], entry["peak"])


def check(folder: str | Path, runtime: Runtime) -> list[dict]:
    """Play the vectors in `folder` through `runtime` with only the folder's files; one result per
    width x partition (and switching partition), each with ESR, max abs error, bounds and pass."""
    folder = Path(folder)
    m = _load_manifest(folder)
    model = namx.load(_inside(folder, m["model"]["file"]))
    n = m["input"]["samples"]
    if n > MAX_SECONDS * model.sample_rate:
        raise NamxError(f"{folder / MANIFEST}: input.samples: {n} samples is more than the {MAX_SECONDS} s "
                        "export-vectors writes")
    _check_files(folder, m, n)
    x = _raw(folder, m["input"]["raw"], n)
    levels = {lv.label: lv for lv in model.widths()}
    for label in [w["label"] for w in m["widths"]] + [e["width"] for e in (m["switching"] or {}).get("schedule", [])]:
        if label not in levels:
            raise NamxError(f"{folder / MANIFEST}: width {label[:40]!r} is not offered by the model")
    partitions: list[Partition] = []
    for b in m["block_sizes"]:
        if b.isdigit():
            partitions.append(partition(b, n))
        elif b in m["partitions"]:
            partitions.append(Partition(b, _lengths(folder, m["partitions"][b], n)))
        else:
            raise NamxError(f"{folder / MANIFEST}: block size {b!r} has no file in partitions")
    results = []
    session = runtime.open(model)
    try:
        for w in m["widths"]:
            expected = _raw(folder, w["expected"]["raw"], n).astype(np.float64)
            for blocks in partitions:
                y = session.play(levels[w["label"]], x, blocks)
                results.append(_result(y, expected, w, runtime, {"width": w["label"], "blocks": blocks.label}))
        sw = m["switching"]
        if sw is not None:
            expected = _raw(folder, sw["expected"]["raw"], n).astype(np.float64)
            starts = [e["sample"] for e in sw["schedule"]]
            if starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])) or starts[-1] >= n:
                raise NamxError(f"{folder / MANIFEST}: switching.schedule: samples must start at 0 and ascend "
                                "within the input")
            schedule = [Switch(e["sample"], levels[e["width"]]) for e in sw["schedule"]]
            for b in sw["block_sizes"]:
                y = session.play_switching(schedule, x, partition(str(b), x.size))
                results.append(_result(y, expected, sw, runtime, {"width": "switching", "blocks": str(b)}))
    finally:
        session.close()
    return results


def _result(y, expected, entry, runtime, where) -> dict:
    if isinstance(y, Skipped):
        return {**where, "runtime": runtime.name, "esr_db": None, "max_abs": None, "finite": None,
                "passed": None, "error": None, "not_run": y.reason}
    if isinstance(y, Error):
        return {**where, "runtime": runtime.name, "esr_db": None, "max_abs": None, "finite": False,
                "passed": False, "error": y.reason, "not_run": None}
    b = _bounds(entry, runtime.precision)
    return {**where, "runtime": runtime.name, **measure(y, expected, b), "error": None, "not_run": None}


def result_line(r: dict) -> str:
    """One result of check() as `namx conform check-vectors` prints it."""
    where = f"{r['runtime']}  width {r['width']}  blocks {r['blocks']}"
    if r["not_run"]:
        return f"not run  {where}: {r['not_run']}"
    detail = r["error"] or (f"ESR {r['esr_db']:.1f} dB <= {r['bound_esr_db']:.1f}, max |err| {r['max_abs']:.2e} "
                            f"<= {r['bound_max_abs']:.2e}" if r["finite"] else "non-finite output")
    return f"{'pass' if r['passed'] else 'FAIL'}  {where}: {detail}"


def _first_line(e) -> str:
    lines = str(getattr(e, "message", e)).strip().splitlines()
    return lines[0] if lines else type(e).__name__


__all__ = ["export", "check", "result_line", "FORMAT", "FORMAT_VERSION", "MANIFEST"]
