"""`namx convert MODEL --to c`: a dependency-free C99 streaming engine per width (spec §14).

    convert(model, output=None, width=None, block_size=None, signatures=False, c_array=False, force=False)

With `width`, one `.c`/`.h` pair for that width; without, one pair per offered width named
`<stem>.w<label>.c` and, when there are several, a wrapper `<stem>.c`/`.h` with `set_width()`.
`output` ending in .c names the one pair's .c file (one width), else it is the stem for the names. Flash and
RAM per width are reported on stderr (flash measured with arm-none-eabi-size when installed).
Every output path is checked before anything is written; files are written atomically.
"""
from __future__ import annotations

import sys
from pathlib import Path

from namx.outputs import atomic_output, check_output_path
from namx.errors import NamxError
from namx.widths import select

from .build import m7_sizes
from .generate import generate, identifier
from .wrapper import wrapper


def convert(model, *, output=None, width=None, block_size=None, signatures=False, c_array=False, force=False):
    if signatures or c_array:
        raise NamxError("--signatures and --c-array are TFLite options; --to c writes C source already")
    if block_size is not None:
        raise NamxError("--to c takes no --block-size: the engine processes any number of samples per call")
    levels = [select(model, width)] if width is not None else model.widths()
    single = output is not None and str(output).endswith(".c")
    if single and len(levels) > 1:
        raise NamxError(f"{output}: names one file but the model has {len(levels)} widths "
                        "(give a stem without .c, or --width)")
    stem, folder = _naming(model, output)
    prefix = identifier(f"namx_{stem}")
    pairs = []
    for lv in levels:
        c_path = Path(output) if single else folder / f"{stem}.w{lv.label}.c"
        pairs.append((lv, c_path, c_path.with_suffix(".h"), identifier(f"{prefix}_w{lv.label}")))
    wrap = len(levels) > 1
    planned = [p for _, c, h, _ in pairs for p in (c, h)]
    if wrap:
        planned += [folder / f"{stem}.c", folder / f"{stem}.h"]
    for p in planned:
        check_output_path(p, force)

    outputs: dict[Path, str] = {}
    sizes = {}
    for lv, c_path, h_path, cname in pairs:
        header, source, sizes[c_path] = generate(model.at(lv), cname, h_path.name, lv.label, lv.index)
        outputs[h_path], outputs[c_path] = header, source
    if wrap:
        h, c = wrapper(prefix, f"{stem}.h", [(lv, h.name, cname) for lv, _, h, cname in pairs])
        outputs[folder / f"{stem}.h"], outputs[folder / f"{stem}.c"] = h, c
    for path, text in outputs.items():
        with atomic_output(path) as tmp:
            tmp.write_text(text)
    for _, c_path, h_path, _ in pairs:
        m7 = m7_sizes(outputs[c_path], h_path.name, outputs[h_path])
        print(_size_line(c_path, sizes[c_path], m7), file=sys.stderr)
    return list(outputs)


def _size_line(c_path: Path, s: dict, m7: dict | None) -> str:
    ram = f"RAM {s['ram_bytes']} bytes of state (+ {s['stack_bytes']} bytes of stack per call)"
    if m7 is None:
        return f"{c_path}: flash {s['weights_bytes']} bytes of weights + code (arm-none-eabi-size not installed), {ram}"
    return (f"{c_path}: flash {m7['text'] + m7['data']} bytes on Cortex-M7 -O2 (weights {s['weights_bytes']} + code), "
            f"{ram}")


def _naming(model, output) -> tuple[str, Path]:
    if output is not None:
        out = Path(output)
        return (out.stem if out.suffix == ".c" else out.name), out.parent
    return Path(model.source).stem, Path()

