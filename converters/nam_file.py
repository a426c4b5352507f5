"""The `nam` target: write a model as a .nam file (namx.writer), optionally at one width.

`namx convert MODEL --to nam [--width W] [-o OUT]`: MODEL may be a .nam or a PyTorch
checkpoint (namx.torch.save); with --width the file holds the plain single-width model
(a channel-sliced WaveNet's sliced weights, or a container's submodel).
"""
from __future__ import annotations

from pathlib import Path

from namx import writer
from namx.errors import NamxError
from namx.widths import select


def convert(model, *, output=None, width=None, block_size=None, signatures=False, c_array=False,
            force=False) -> list[Path]:
    if block_size is not None or signatures or c_array:
        raise NamxError("--to nam takes no --block-size, --signatures or --c-array")
    level = None if width is None else select(model, width)
    target = model if level is None else model.at(level)
    if output is None:  # in the current folder, like the other targets
        src = Path(model.source)
        output = Path(src.stem + ("" if level is None else f".w{level.label}") + ".nam")
        if src.exists() and output.resolve() == src.resolve():
            raise NamxError(f"{src}: converting to .nam here would overwrite the input; give -o OUT")
    return [writer.save(target, output, force=force)]
