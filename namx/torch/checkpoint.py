"""Checkpoints of a NamxModule that load with torch.load(weights_only=True).

A checkpoint is a plain dict (no pickled classes): {"format": FORMAT, "nam": the .nam JSON text
of the module's model (config, metadata and current weights), "state_dict": the module's tensors}.
The state dict is what PyTorch code expects; the .nam text carries the structure to rebuild it.
"""
from __future__ import annotations

import io
from pathlib import Path

import torch

from namx.errors import NamxError
from namx.inputs import read_limited
from namx.limits import current as current_limits
from namx.loader import loads
from namx.outputs import atomic_output
from namx.writer import dumps

from .module import NamxModule, from_model, to_model

FORMAT = "namx.torch/1"


def save(module: NamxModule, path: str | Path) -> Path:
    """Write a checkpoint of the module (its current weights)."""
    with atomic_output(path) as tmp:
        torch.save({"format": FORMAT, "nam": dumps(to_model(module)), "state_dict": module.state_dict()}, tmp)
    return Path(path)


def load(path: str | Path) -> NamxModule:
    """Read a checkpoint written by save() (safely: torch.load with weights_only=True)."""
    source = str(path)
    data = read_limited(path, current_limits().file_bytes, "checkpoint")  # (a regular file, size-checked first)
    buffer = io.BytesIO(data)
    try:
        obj = torch.load(buffer, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for unreadable or unsafe files
        first = (str(e).strip().splitlines() or [type(e).__name__])[0].split(". ")[0]
        raise NamxError(f"{source}: cannot be read as a PyTorch checkpoint with weights_only=True "
                        f"(namx never unpickles code): {first}") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        what = f"a dict with keys {sorted(map(str, obj))[:6]}" if isinstance(obj, dict) else type(obj).__name__
        raise NamxError(f"{source}: not a namx checkpoint (found {what}); save one with namx.torch.save(module, "
                        "path), or convert the module itself with namx.converters.pytorch.from_module")
    module = from_model(loads(obj["nam"], source))
    try:
        module.load_state_dict(obj["state_dict"])
    except (RuntimeError, KeyError, TypeError) as e:
        raise NamxError(f"{source}: state_dict does not fit the model in the checkpoint: "
                        f"{str(e).strip().splitlines()[0]}") from None
    return module
