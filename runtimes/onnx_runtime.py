"""ONNX Runtime streamer: namx's ONNX graphs in onnxruntime, single-threaded by default.

Two graph forms (spec §9):
- "fixed" (runtime `onnxruntime`): one fixed-width graph per level, opened when the level is first
  used; a width change switches graphs and starts from the new graph's initial state (base class).
- "dynamic" (runtime `onnxruntime-dynamic`): the one all-widths graph, fed `width` every block.
  A width change only changes what is fed: the graph applies the width-change rule itself.

State stays in buffers allocated once between blocks (IOBinding); nothing is copied through NumPy
except the audio. The runners never feed the initial state: they let the graphs start themselves.
"""
from __future__ import annotations

import numpy as np

from namx.converters.onnx import export
from namx.converters.onnx.builder import STATE_IN
from namx.converters.onnx.graph import AUDIO_IN, AUDIO_OUT, LEVEL_STATE, START_LEVEL, WIDTH_IN
from namx.errors import NamxError
from namx.model import Model
from namx.widths import WidthLevel, select

from .base import LevelRunner, Streamer, converted


def session(proto, threads: int = 1):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    data = proto if isinstance(proto, bytes) else proto.SerializeToString()
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


class GraphRunner(LevelRunner):
    """One namx ONNX graph with its state kept in buffers allocated once, at their largest size.

    Every state has two flat buffers of its largest size (namx.state_max_shapes). Per level, two
    IOBindings ping-pong between views of them shaped as that level's states
    (namx.level_state_shapes): block k reads buffer k%2 and writes the other, so a call binds only
    the audio. Starting, resetting and changing width are left to the graph (spec §9.3): a reset
    writes -1 into `state.level`; a width change (all-widths graphs) switches to the new level's
    bindings, whose `state.level` then holds another level, so the graph starts the new one afresh.
    """

    def __init__(self, proto, threads: int = 1):
        import onnxruntime as ort
        self._ort = ort
        self.session = session(proto, threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.state_in = meta["namx.state_inputs"].split(",") if meta["namx.state_inputs"] else []
        self.state_out = meta["namx.state_outputs"].split(",") if self.state_in else []
        level_shapes = [_shapes(lv) for lv in meta["namx.level_state_shapes"].split(";")]
        sizes = [int(np.prod(s)) for s in _shapes(meta["namx.state_max_shapes"])]
        self.buffers = [[np.zeros(n, np.float32) for n in sizes] for _ in range(2)]
        widths = [np.array(v, np.int64) for v in meta["namx.width_values"].split(",")]
        fed = {i.name for i in self.session.get_inputs()}
        self.bindings = [[self._binding(k, shapes, widths[level] if WIDTH_IN in fed else None) for k in range(2)]
                         for level, shapes in enumerate(level_shapes)]
        self._level_state = self.state_in.index(STATE_IN + LEVEL_STATE)
        self.level, self.k = len(level_shapes) - 1, 0
        self._out: dict[int, tuple] = {}  # block length -> (array, OrtValue over it) for audio_out
        self.reset()

    def _binding(self, k: int, shapes, width):
        """Reads buffer set k and writes set 1 - k, with this level's shapes."""
        io = self.session.io_binding()
        for i, (name_in, name_out, shape) in enumerate(zip(self.state_in, self.state_out, shapes)):
            n = int(np.prod(shape))
            io.bind_ortvalue_input(name_in, self._view(self.buffers[k][i], n, shape))
            io.bind_ortvalue_output(name_out, self._view(self.buffers[1 - k][i], n, shape))
        if width is not None:
            io.bind_cpu_input(WIDTH_IN, width)
        return io

    def _view(self, buffer: np.ndarray, n: int, shape):
        return self._ort.OrtValue.ortvalue_from_numpy(buffer[:n].reshape(shape))

    def select(self, level: int) -> None:
        """Run `level` (an index into the graph's levels) from the next block on."""
        self.level = level

    def reset(self) -> None:
        self.buffers[self.k][self._level_state][0] = START_LEVEL

    def _audio_out(self, n: int):
        if n not in self._out:
            if len(self._out) >= 8:  # a few block lengths in use at a time
                self._out.clear()
            arr = np.empty(n, np.float32)
            self._out[n] = (arr, self._ort.OrtValue.ortvalue_from_numpy(arr))
        return self._out[n]

    def process(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        io = self.bindings[self.level][self.k]
        io.bind_cpu_input(AUDIO_IN, x)
        y, y_ort = self._audio_out(x.size)  # ONNX Runtime writes the audio into our buffer
        io.bind_ortvalue_output(AUDIO_OUT, y_ort)
        self.session.run_with_iobinding(io)
        self.k ^= 1
        return y.copy()


def _shapes(text: str) -> list[tuple[int, ...]]:
    return [tuple(int(d) for d in s.split("x")) for s in text.split(",")] if text else []


class OnnxRuntimeStreamer(Streamer):
    runtime = "onnxruntime"
    backend = "onnxruntime"

    def __init__(self, model: Model, width=None, *, slim=None, graph: str = "fixed", threads: int = 1):
        if graph not in ("fixed", "dynamic"):
            raise NamxError(f"graph must be 'fixed' or 'dynamic' (got {graph!r})")
        self.graph, self.threads = graph, threads
        self._dynamic = None
        if graph == "dynamic":
            self.runtime = "onnxruntime-dynamic"
            self._dynamic = GraphRunner(converted(model, ("onnx",), lambda: export(model).SerializeToString()), threads)
        super().__init__(model, width, slim=slim)

    def _open(self, level: WidthLevel) -> LevelRunner:
        if self._dynamic is not None:
            self._dynamic.select(level.index)
            return self._dynamic
        graph = converted(self.model, ("onnx", level.index),
                          lambda: export(self.model, level.label).SerializeToString())
        return GraphRunner(graph, self.threads)

    def set_width(self, width=None, *, slim=None) -> None:
        if self._dynamic is None:
            return super().set_width(width, slim=slim)
        # the graph itself restarts a newly selected width from its initial state (spec §7.3)
        level = select(self.model, width, slim=slim)
        with self._exclusive():
            self._level = level
            self._dynamic.select(level.index)


class OnnxRuntimeDynamicStreamer(OnnxRuntimeStreamer):
    def __init__(self, model: Model, width=None, *, slim=None, threads: int = 1):
        super().__init__(model, width, slim=slim, graph="dynamic", threads=threads)
