"""PyTorch -> namx Model: namx modules, the NAM trainer's modules, and namx checkpoints.

The result is a plain namx Model, so every exporter that takes a .nam takes it too
(`namx.converters.convert(target, from_module(m), ...)`). Imported only when converting from
PyTorch: a .nam conversion never imports torch. Checkpoints are read only with
torch.load(weights_only=True) (namx.torch.load).
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

from torch import nn

import namx.torch
from namx.errors import NamxError
from namx.loader import from_json
from namx.model import Model


def from_module(module: nn.Module, source: str = "<torch module>") -> Model:
    """A namx Model from a namx.torch.NamxModule or a neural-amp-modeler model."""
    if isinstance(module, namx.torch.NamxModule):
        return namx.torch.to_model(module)
    if _is_nam_trainer_model(module):
        return _from_nam_trainer(module, source)
    if _is_nam_trainer_model(getattr(module, "net", None)):  # the trainer's LightningModule wraps its model
        return _from_nam_trainer(module.net, source)
    raise NamxError(f"{source}: cannot convert a {type(module).__name__}; namx converts namx.torch.NamxModule and "
                    "neural-amp-modeler models (WaveNet incl. slimmable, LSTM, ConvNet, Linear, PackedWaveNet)")


def load_checkpoint(path: str | Path) -> Model:
    """The model in a namx checkpoint (namx.torch.save), read with torch.load(weights_only=True)."""
    return replace(namx.torch.to_model(namx.torch.load(path)), source=str(path))


def _is_nam_trainer_model(module) -> bool:
    return (isinstance(module, nn.Module) and type(module).__module__.split(".")[0] == "nam"
            and callable(getattr(module, "export", None)))


def _from_nam_trainer(module: nn.Module, source: str) -> Model:
    """Through the trainer's own exporter (its config keys and weight order are the .nam format)."""
    with tempfile.TemporaryDirectory() as tmp:
        module.export(Path(tmp), basename="model")
        obj = json.loads((Path(tmp) / "model.nam").read_text())
    return from_json(obj, source)
