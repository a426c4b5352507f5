"""The conformance vectors for a C bench (examples/vendor/bench.c): no JSON parser needed.

write() adds `vectors.h` to an exported vectors folder: the input and expected files (raw
little-endian float32, already in the folder) and every stream of the manifest as C constants:
its output file name, its block lengths and its width schedule. The bench, compiled with
`-I <folder>`, plays each stream through the vendor's process() and writes one raw float32 file
per stream; `namx conform check-vectors DIR --outputs OUT` judges them (OutputsRuntime) exactly as
it judges a runtime.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from namx import __version__
from namx.outputs import staged
from namx.c_source import comment_text, initializer, string_literal

from .adapters import Error, Runtime, Session, Skipped

HEADER = "vectors.h"


def output_name(width: str, blocks: str) -> str:
    """The bench's output file for one stream: `w<width>.b<blocks>.f32`, or `switch.b<blocks>.f32`."""
    return f"{'switch' if width == 'switching' else 'w' + width}.b{blocks}.f32"


def header(folder: Path, manifest: dict) -> str:
    """vectors.h for the manifest of the vectors in `folder` (its partition files already written)."""
    widths = [w["label"] for w in manifest["widths"]]
    lengths, arrays = {}, []
    for label in manifest["block_sizes"]:
        if not label.isdigit():
            values = [int(v) for v in staged(folder / manifest["partitions"][label]).read_text().split()]
            lengths[label] = (f"namx_vec_blocks_{len(arrays)}", len(values))
            arrays.append(f"/* partition {label} */\nstatic const unsigned long {lengths[label][0]}[] = "
                          f"{initializer([str(v) for v in values])};")
    schedules, streams = [], []

    def schedule(entries: list[tuple[int, int]]) -> str:
        schedules.append(f"static const struct namx_vec_switch namx_vec_schedule_{len(schedules)}[] = "
                         f"{initializer([f'{{{s}, {w}}}' for s, w in entries], 4)};")
        return f"namx_vec_schedule_{len(schedules) - 1}, {len(entries)}"

    def stream(width: str, blocks: str, sched: str) -> str:
        block, (array, count) = (blocks, ("0", 0)) if blocks.isdigit() else ("0", lengths[blocks])
        return f"{{{string_literal(output_name(width, blocks))}, {block}, {array}, {count}, {sched}}}"

    for i, w in enumerate(widths):
        sched = schedule([(0, i)])
        streams += [stream(w, b, sched) for b in manifest["block_sizes"]]
    sw = manifest["switching"]
    if sw is not None:
        sched = schedule([(e["sample"], widths.index(e["width"])) for e in sw["schedule"]])
        streams += [stream("switching", str(b), sched) for b in sw["block_sizes"]]
    labels = [string_literal(w) for w in widths]
    expected = [string_literal(w["expected"]["raw"]) for w in manifest["widths"]]
    return "\n".join([
        f"/* namx conformance vectors for a C bench, written by namx {__version__}: model {comment_text(manifest['model']['name'])}.",
        " * Paths are relative to the vectors folder; every file is raw little-endian float32, mono.",
        " * Each stream starts at its schedule's first width, from the initial state; at each later",
        " * schedule entry's sample (a block start) that width is requested (spec A2 §7.3). */",
        "#ifndef NAMX_VECTORS_H", "#define NAMX_VECTORS_H", "",
        f"#define NAMX_VEC_SAMPLE_RATE {float(manifest['input']['sample_rate'])!r}",
        f"#define NAMX_VEC_SAMPLES {manifest['input']['samples']}UL  /* input and output length */",
        f"#define NAMX_VEC_INPUT {string_literal(manifest['input']['raw'])}",
        f"#define NAMX_VEC_NUM_WIDTHS {len(widths)}",
        f"#define NAMX_VEC_NUM_STREAMS {len(streams)}",
        f"#define NAMX_VEC_SWITCH_EXPECTED {string_literal(sw['expected']['raw'])}" if sw else "/* no width switching */",
        "",
        "struct namx_vec_switch { unsigned long sample; int width; };",
        "struct namx_vec_stream {",
        "  const char *output;                     /* output file name */",
        "  unsigned long block;                    /* block size (the last block is shorter), or 0: */",
        "  const unsigned long *lengths;           /*   every block length, in order */",
        "  unsigned long num_lengths;",
        "  const struct namx_vec_switch *schedule; /* width (index) from sample on; the first at 0 */",
        "  unsigned long num_switches;",
        "};",
        "",
        f"static const char *const namx_vec_width_label[] = {initializer(labels)};",
        f"static const char *const namx_vec_expected[] = {initializer(expected, 4)};",
        *arrays, *schedules,
        f"static const struct namx_vec_stream namx_vec_streams[] = {initializer(streams, 1)};",
        "", "#endif", ""])


def write(folder: Path, manifest: dict, write_file) -> None:
    """Write vectors.h into the vectors folder with `write_file(path, text)`."""
    write_file(folder / HEADER, header(folder, manifest))


class OutputsRuntime(Runtime):
    """The outputs a bench wrote (one file per stream, named by output_name), judged as a runtime's."""

    kind = "outputs"
    includes_process_start = False

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.name = f"outputs:{self.folder}"
        self.version = "unknown"
        self.precision = "float32"

    def open(self, model) -> Session:
        return _OutputsSession(self.folder)


class _OutputsSession(Session):
    def __init__(self, folder: Path):
        self.folder = folder

    def _read(self, name: str, n: int) -> np.ndarray | Error:
        path = self.folder / name
        if not path.is_file():
            return Error(f"{path}: no such file")
        if path.stat().st_size != 4 * n:
            return Error(f"{path}: {path.stat().st_size} bytes, expected {4 * n} ({n} float32 samples)")
        return np.fromfile(path, "<f4").astype(np.float64)

    def play(self, level, x, blocks):
        return self._read(output_name(level.label, blocks.label), x.size)

    def play_switching(self, schedule, x, blocks):
        return self._read(output_name("switching", blocks.label), x.size)

    def time(self, level, x, block, repeats, warmup):
        return Skipped("outputs written by a bench are not timed")
