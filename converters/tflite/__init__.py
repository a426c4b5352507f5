"""`namx convert MODEL --to tflite`: one streaming .tflite per width (spec §10).

    convert(model, output=None, width=None, block_size=None, signatures=False, c_array=False, force=False)

With `width`, one file for that width; without, one per offered width, named
`<stem>.w<label>.tflite` (binding.file_name). `output` names the file when there is one, else it is
the stem for the names. The block size is fixed at conversion (default 64). `signatures` also
writes `<stem>.widths.tflite`, one subgraph and signature per width (for LiteRT); `c_array`
writes a .h/.cc pair beside each per-width file. Every output path is checked before anything is
built, and files are written atomically.
"""
from __future__ import annotations

import sys
from pathlib import Path

from namx.outputs import atomic_output, check_output_path, output_set
from namx.errors import NamxError
from namx.limits import check_block_size
from namx.stats import prewarm_samples
from namx.widths import select

from . import binding
from .arena import measured_arena
from .c_array import CompactState
from .c_array import write as c_sources
from .export import check_streamable, export_widths


def convert(model, *, output=None, width=None, block_size=None, signatures=False, c_array=False, force=False):
    block = binding.DEFAULT_BLOCK_SIZE if block_size is None else block_size
    check_block_size(block, "--block-size")
    check_streamable(model)
    levels = [select(model, width)] if width is not None else model.widths()
    stem, folder = _naming(model, output)
    single = output is not None and len(levels) == 1
    if single and not str(output).endswith(".tflite"):
        raise NamxError(f"{output}: output must end in .tflite")
    files = [(lv, Path(output) if single else folder / binding.file_name(stem, lv.label)) for lv in levels]
    planned = [p for _, p in files]
    if c_array:
        planned += [q for _, p in files for q in (p.with_suffix(".h"), p.with_suffix(".cc"))]
    if signatures:
        planned.append(folder / binding.signatures_name(stem))
    for p in planned:
        check_output_path(p, force)

    # Each file is written as soon as it is built (memory holds one width at a time); as an output
    # set they appear together when every one is done (namx.outputs).
    written = []
    with output_set():
        for lv, path in files:
            data, (b,) = export_widths(model, [lv], block)
            written.append(_write(path, data))
            if c_array:
                h, cc = path.with_suffix(".h"), path.with_suffix(".cc")
                for p, text in zip((h, cc), _c_array(model, lv, block, path, b)):
                    written.append(_write(p, text))
            del data
        if signatures:
            written.append(_write(folder / binding.signatures_name(stem), export_widths(model, levels, block)[0]))
    return written


def _write(path: Path, data: bytes | str) -> Path:
    with atomic_output(path) as tmp:
        (tmp.write_bytes if isinstance(data, bytes) else tmp.write_text)(data)
    return path


def _c_array(model, level, block: int, path: Path, b) -> tuple[str, str]:
    """The .h/.cc for one width: the model without its initial state (the .cc holds it once), the
    arena measured in TFLM; a note on stderr gives the flash and RAM they need."""
    lean, _ = export_widths(model, [level], block, embed_state=False)
    arena = measured_arena(lean)
    h, cc = c_sources(path.with_suffix(".h"), path.with_suffix(".cc"), path.name, lean, b, model.source,
                      arena=arena, prewarm=prewarm_samples(model.at(level)), metadata=model.metadata)
    state = CompactState.of(b).values.size * 4
    ram = f"TFLM arena {arena:,} B (64-bit host)" if arena else "arena not measured (install tflite-micro)"
    print(f"namx: {path.with_suffix('.cc')}: flash {len(lean) + state:,} B (model {len(lean):,} B, "
          f"initial state {state:,} B); {ram}", file=sys.stderr)
    return h, cc


def _naming(model, output) -> tuple[str, Path]:
    """The stem and folder for generated names: from OUT, else the model's name in the current folder
    (like the ONNX and .nam targets)."""
    if output is not None:
        out = Path(output)
        return (out.stem if out.suffix == ".tflite" else out.name), out.parent
    return Path(model.source).stem, Path()
