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
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import namx
from namx.audio import atomic_output
from namx.errors import NamxError
from namx.metrics import tolerance
from namx.model import Model

from . import c_vectors
from .adapters import Partition, Runtime, Switch, Unsupported, partition
from .suite import CORE_COMMIT, Bounds, Reference, Settings, measure, prepare, switch_schedule

FORMAT, FORMAT_VERSION = "namx-conformance-vectors", "1.0"
MANIFEST = "manifest.json"


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
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
    """Write the vectors for `model` into `folder` (created; must be empty unless `force`)."""
    from namx.converters import TARGETS
    from namx.converters.onnx import export as onnx_export
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NamxError(f"{folder}: is not a folder")
    if not folder.parent.is_dir():
        raise NamxError(f"{folder}: folder {folder.parent} does not exist")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise NamxError(f"{folder}: is not empty (use --force to write into it)")
    src = Path(model.source)
    if not src.is_file():
        raise NamxError(f"{model.source}: export-vectors needs the model as a file")
    settings.check()
    mut = prepare(model, settings)
    rate = model.sample_rate
    fixed = [int(b) for b in settings.block_sizes if b.isdigit()]
    folder.mkdir(exist_ok=True)

    _write(folder / "model.nam", src.read_bytes())
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
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest["files"] = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
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


def _load_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise NamxError(f"{path}: no such file (not a vectors folder written by 'namx conform export-vectors')")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise NamxError(f"{path}: not valid JSON ({e})") from None
    if m.get("format") != FORMAT or str(m.get("format_version", "")).split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise NamxError(f"{path}: not a {FORMAT} {FORMAT_VERSION} manifest")
    for rel, digest in m.get("files", {}).items():
        p = folder / rel
        if not p.is_file():
            raise NamxError(f"{p}: missing (listed in the manifest)")
        if hashlib.sha256(p.read_bytes()).hexdigest() != digest:
            raise NamxError(f"{p}: SHA-256 differs from the manifest (file changed or damaged)")
    return m


def _raw(folder: Path, rel: str) -> np.ndarray:
    return np.fromfile(folder / rel, "<f4").astype(np.float64)


def _bounds(entry: dict, precision: str) -> Bounds:
    t = entry["tolerance"][precision]
    return Bounds(t["esr_db"], t["max_abs"], entry["floor_esr_db"], entry["floor_max_abs"], entry["peak"])


def check(folder: str | Path, runtime: Runtime) -> list[dict]:
    """Play the vectors in `folder` through `runtime` with only the folder's files; one result per
    width x partition (and switching partition), each with ESR, max abs error, bounds and pass."""
    folder = Path(folder)
    m = _load_manifest(folder)
    model = namx.load(folder / m["model"]["file"])
    x = np.fromfile(folder / m["input"]["raw"], "<f4")
    levels = {lv.label: lv for lv in model.widths()}
    partitions: list[Partition] = []
    for b in m["block_sizes"]:
        if b.isdigit():
            partitions.append(partition(b, x.size))
        else:
            lengths = tuple(int(v) for v in (folder / m["partitions"][b]).read_text().split())
            if sum(lengths) != x.size:
                raise NamxError(f"{folder / m['partitions'][b]}: block lengths do not add up to the input")
            partitions.append(Partition(b, lengths))
    results = []
    session = runtime.open(model)
    try:
        for w in m["widths"]:
            expected = _raw(folder, w["expected"]["raw"])
            for blocks in partitions:
                y = session.play(levels[w["label"]], x, blocks)
                results.append(_result(y, expected, w, runtime, {"width": w["label"], "blocks": blocks.label}))
        sw = m["switching"]
        if sw is not None:
            expected = _raw(folder, sw["expected"]["raw"])
            schedule = [Switch(e["sample"], levels[e["width"]]) for e in sw["schedule"]]
            for b in sw["block_sizes"]:
                y = session.play_switching(schedule, x, partition(str(b), x.size))
                results.append(_result(y, expected, sw, runtime, {"width": "switching", "blocks": str(b)}))
    finally:
        session.close()
    return results


def _result(y, expected, entry, runtime, where) -> dict:
    if isinstance(y, Unsupported):
        return {**where, "runtime": runtime.name, "esr_db": None, "max_abs": None, "finite": None,
                "passed": None, "error": None, "not_run": str(y)}
    if isinstance(y, str):
        return {**where, "runtime": runtime.name, "esr_db": None, "max_abs": None, "finite": False,
                "passed": False, "error": y, "not_run": None}
    b = _bounds(entry, runtime.precision)
    return {**where, "runtime": runtime.name, **measure(y, expected, b), "error": None, "not_run": None}


__all__ = ["export", "check", "FORMAT", "FORMAT_VERSION", "MANIFEST"]
