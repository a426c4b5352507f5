"""Converters: namx models to ONNX and TFLite, and PyTorch to and from namx models.

`namx convert MODEL --to TARGET` dispatches through TARGETS: target name -> "module:function".
Each function has the signature

    convert(model: namx.Model, *, output: str | None, width: str | None, block_size: int | None,
            signatures: bool, c_array: bool, force: bool) -> list[pathlib.Path]

writes each file with namx.outputs.atomic_output, refuses to overwrite without `force`,
raises NamxError for options it does not support, and returns the paths it wrote.
convert() runs the target in an output set (namx.outputs.output_set): its files appear together
or not at all. Modules are imported only when their target is used (converting a .nam never imports torch).
A PyTorch module or checkpoint becomes a Model first (converters/pytorch.py: from_module,
load_checkpoint), then goes through the same targets.
"""
from __future__ import annotations

import importlib

from namx.errors import NamxError
from namx.outputs import output_set

TARGETS: dict[str, str] = {
    "nam": "namx.converters.nam_file:convert",
    "onnx": "namx.converters.onnx:convert",
    "tflite": "namx.converters.tflite:convert",
    "c": "namx.converters.c:convert",
}


def convert(target: str, model, **options):
    if target not in TARGETS:
        known = ", ".join(TARGETS) or "none yet"
        raise NamxError(f"unknown conversion target {target!r} (available: {known})")
    module, func = TARGETS[target].split(":")
    with output_set():
        return getattr(importlib.import_module(module), func)(model, **options)
