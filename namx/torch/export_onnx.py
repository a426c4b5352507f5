"""The namx module through torch.onnx.export (dynamo, onnxscript), with `width` as an input.

This is PyTorch's own route to ONNX, kept as an independent cross-check of namx's ONNX exporter
(namx.converters.onnx), which is what to ship: it slices weights in-graph and streams with state.
The graph here is whole-signal and stateless: inputs `audio` (float32, (N, T), T dynamic) and
`width` (int64 scalar, the value namx's own graph takes: a level's channel-count label, or k for
`i<k>`), output `audio` (N, T) from the prewarmed initial state. It evaluates every width and
returns the one `width` selects (the level with the largest value not above it, else the
narrowest, as namx's graph does), so its cost is the sum over widths.
"""
from __future__ import annotations

import io
import warnings

import onnx
import torch
from torch import nn

from namx.converters.onnx.graph import width_values

from .module import NamxModule, run


class AllWidths(nn.Module):
    """forward(audio (N, T), width int64 scalar) -> audio (N, T) at the selected width."""

    def __init__(self, module: NamxModule):
        super().__init__()
        self.module = module
        self.levels = module.widths()
        values = width_values(self.levels)
        order = sorted(range(len(values)), key=lambda i: values[i])
        self.register_buffer("sorted_values", torch.tensor([values[i] for i in order], dtype=torch.int64))
        self.register_buffer("order", torch.tensor(order, dtype=torch.int64))

    def forward(self, audio: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
        x = audio[:, None]
        outputs = torch.stack([run(self.module.plain(level), x)[:, 0] for level in self.levels])
        count = (width >= self.sorted_values).to(torch.int64).sum()
        index = self.order[torch.clamp(count - 1, min=0)]
        return torch.index_select(outputs, 0, index.reshape(1))[0]


def export_onnx(module: NamxModule, samples: int = 4096) -> onnx.ModelProto:
    """The module (float32) as an ONNX graph with inputs `audio` and `width` (torch.onnx, dynamo)."""
    wrapper = AllWidths(module).float().eval()
    audio = torch.zeros(1, samples)
    width = torch.tensor(width_values(wrapper.levels)[-1], dtype=torch.int64)
    length = torch.export.Dim("samples", min=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(wrapper, (audio, width), dynamo=True, input_names=["audio", "width"],
                                    output_names=["audio_out"], dynamic_shapes=({1: length}, None),
                                    verbose=False)
    buffer = io.BytesIO()
    program.save(buffer)
    return onnx.load_from_string(buffer.getvalue())
