"""A streaming subgraph: a fixed block of samples in, the same number out, with named state.

State is every causal convolution's input history (and the LSTM's h, c), named as the NumPy
reference names it (namx/reference.py). Where the state lives is the *carrier*:

- "io" (the binding's default, spec §10): each state is a graph input and its next value a graph
  output with the same shape; the host copies outputs back into inputs after every call.
- "variables": each state is a resource variable (VAR_HANDLE/READ_VARIABLE/ASSIGN_VARIABLE)
  that stays inside the interpreter; subgraphs of one file share them by name. LiteRT runs this
  without any per-call state traffic through the host (namx's LiteRT runtime uses it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from namx.backends import architecture
from namx.model import Conv

from . import activations
from .builder import Graph

CARRIERS = ("io", "variables")


@dataclass(frozen=True)
class StateTensor:
    name: str
    shape: tuple[int, ...]


class StreamGraph:
    """Helpers that build one block's computation into `graph` and collect its state."""

    def __init__(self, graph: Graph, block: int, carrier: str, architectures: dict):
        if carrier not in CARRIERS:
            raise ValueError(f"state carrier must be one of {CARRIERS}")
        self.g, self.block, self.carrier, self.architectures = graph, block, carrier, architectures
        self._reads: dict[str, tuple[StateTensor, int]] = {}  # name -> (spec, input tensor or handle)
        self._next: dict[str, int] = {}

    # ---- state ------------------------------------------------------------------------------

    def read_state(self, name: str, shape) -> int:
        spec = StateTensor(name, tuple(shape))
        if self.carrier == "io":
            t = self.g.tensor(name, shape)
            self._reads[name] = (spec, t)
            return t
        handle = self.g.variable(name)
        self._reads[name] = (spec, handle)
        return self.g.read_variable(handle, shape, f"{name}:read")

    def write_state(self, name: str, value: int) -> None:
        spec, t = self._reads[name]
        assert self.g.shape(value) == spec.shape, (name, self.g.shape(value), spec.shape)
        if self.carrier == "io":
            self._next[name] = value
            self.g.sg.tensors[value].name = f"{name}:next"
        else:
            self.g.assign_variable(t, value)

    def history(self, name: str, x: int, rows: int) -> int:
        """[last `rows` inputs; x] along time; the last `rows` of that become the next state."""
        _, t, _, c = self.g.shape(x)
        cat = self.g.concat([self.read_state(name, (1, rows, 1, c)), x], 1, f"{name}:window")
        self.write_state(name, self.g.slice(cat, [0, t, 0, 0], [1, t + rows, 1, c], f"{name}:slice"))
        return cat

    def finish(self, audio_in: int, audio_out: int, order: list[str]) -> list[StateTensor]:
        """Set the subgraph's inputs and outputs: audio first, then the states in `order`."""
        assert set(order) == set(self._reads), (sorted(order), sorted(self._reads))
        g = self.g
        g.sg.inputs, g.sg.outputs = [audio_in], [audio_out]
        if self.carrier == "io":
            g.sg.inputs += [self._reads[n][1] for n in order]
            g.sg.outputs += [self._next[n] for n in order]
        return [self._reads[n][0] for n in order]

    def net(self, model, x: int, prefix: str = "") -> int:
        """Build a plain model's network on x [1, T, 1, in] -> [1, T, 1, out] (state names get `prefix`)."""
        return architecture(self.architectures, model)(self, model, x, prefix)

    # ---- layers -----------------------------------------------------------------------------

    def conv(self, x: int, conv: Conv, name: str, state: str | None = None) -> int:
        """A causal Conv (groups expanded); one with history needs its state name."""
        if conv.history:
            assert state is not None, name
            x = self.history(state, x, conv.history)
        return self.g.conv(x, conv.dense(), conv.bias, name, conv.dilation)

    def activation(self, x: int, act, name: str) -> int:
        return activations.apply(self.g, x, act, name)

    def affine(self, x: int, scale: np.ndarray, loc: np.ndarray, name: str) -> int:
        """x * scale + loc per channel (the reference's two float32 operations)."""
        c = len(scale)
        y = self.g.mul(x, self.g.const(f"{name}.scale", np.reshape(scale, (1, 1, 1, c))), f"{name}.mul")
        return self.g.add(y, self.g.const(f"{name}.loc", np.reshape(loc, (1, 1, 1, c))), name)
