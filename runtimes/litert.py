"""LiteRT (ai-edge-litert): namx's TFLite models in the LiteRT interpreter, single-threaded.

Options:
  kernels     "xnnpack" (default: LiteRT's default XNNPACK delegate), "builtin" (LiteRT's optimized
              kernels without delegates) or "reference" (LiteRT's reference kernels, whose results
              are bit-identical to TFLite-Micro's)
  state       "variables" (default) keeps the state in resource variables inside the interpreter, so
              no state crosses Python per call; "io" runs the binding's state-as-tensors graphs and
              copies the state through the host, as an app using the exported file does
  block_size  main block size (default: the length of the first block; see static_blocks)
  num_threads interpreter threads (default 1)
The model of a level holds one subgraph per block size (signature block_<N>); with "variables"
they share the state, and signature `reset` restores the initial state.
"""
from __future__ import annotations

import numpy as np

from namx.converters.tflite.binding import AUDIO
from namx.converters.tflite.export import MAX_UNROLLED_BLOCK, runtime_model, unrolled
from namx.errors import NamxError
from namx.widths import WidthLevel

from .base import Streamer, converted
from .static_blocks import StaticBlockRunner, check_block_size

KERNELS = ("xnnpack", "builtin", "reference")
STATE = ("variables", "io")


class LiteRTStreamer(Streamer):
    runtime = "litert"

    def __init__(self, model, width=None, *, slim=None, kernels: str = "xnnpack", state: str = "variables",
                 block_size: int | None = None, num_threads: int = 1):
        if kernels not in KERNELS:
            raise NamxError(f"litert kernels must be one of {', '.join(KERNELS)} (got {kernels!r})")
        if state not in STATE:
            raise NamxError(f"litert state must be one of {', '.join(STATE)} (got {state!r})")
        self.kernels, self.state, self.num_threads = kernels, state, num_threads
        self.block_size = check_block_size(block_size)
        super().__init__(model, width, slim=slim)

    def _open(self, level: WidthLevel):
        return LiteRTRunner(self.model, level, self.kernels, self.state, self.block_size, self.num_threads)


class LiteRTRunner(StaticBlockRunner):
    def __init__(self, model, level: WidthLevel, kernels: str, state: str, block_size, num_threads: int):
        super().__init__(block_size, MAX_UNROLLED_BLOCK if unrolled(model.at(level)) else None)
        self.model, self.level, self.kernels, self.carrier, self.num_threads = model, level, kernels, state, num_threads

    def _build(self, sizes: list[int]) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        resolver = {"xnnpack": OpResolverType.AUTO, "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
                    "reference": OpResolverType.BUILTIN_REF}[self.kernels]
        buf, bindings = converted(self.model, ("tflite", self.level.index, tuple(sizes), self.carrier),
                                  lambda: runtime_model(self.model, self.level, sizes, self.carrier))
        self._buf = buf  # the interpreter reads the flatbuffer in place
        self.it = Interpreter(model_content=buf, num_threads=self.num_threads, experimental_op_resolver_type=resolver)
        self.it.allocate_tensors()
        self._signatures = {b.block_size: b.signature for b in bindings}
        self._names, self._initial = bindings[0].state_names, bindings[0].initial_state
        # Subgraph 0, the main block, runs through the interpreter's own tensor calls: the fastest
        # path. Signature runners (other block sizes, reset) are made per use: while one exists,
        # the interpreter refuses invoke().
        ins, outs = self.it.get_input_details(), self.it.get_output_details()
        self._x, self._y = ins[0]["index"], outs[0]["index"]
        self._state_in = [d["index"] for d in ins[1:]]
        self._state_out = [d["index"] for d in outs[1:]]
        self._reset()

    def _reset(self) -> None:
        if self.carrier == "variables":
            self.it.get_signature_runner("reset")()
        else:
            self._state = [self._initial[n] for n in self._names]

    def _run(self, size: int, x: np.ndarray) -> np.ndarray:
        io = self.carrier == "io"
        if size == self.block:
            it = self.it
            it.set_tensor(self._x, x.reshape(1, size))
            for t, v in zip(self._state_in, self._state if io else ()):
                it.set_tensor(t, v)
            it.invoke()
            if io:
                self._state = [it.get_tensor(t) for t in self._state_out]
            return it.get_tensor(self._y).reshape(size)
        feeds = {AUDIO: x.reshape(1, size), **(dict(zip(self._names, self._state)) if io else {})}
        out = self.it.get_signature_runner(self._signatures[size])(**feeds)
        if io:
            self._state = [out[n] for n in self._names]
        return out[AUDIO].reshape(size)
