"""A .h/.cc pair that embeds an exported .tflite for firmware (spec §10.6).

The .h says everything a TFLite-Micro build needs to know as C macros (sample rate, block size,
op list, measured arena, tensor positions and sizes, calibration); the .cc defines the model bytes
(16-byte aligned, as TFLite-Micro requires) and the initial state once, compactly. The embedded
model leaves the initial state out of its metadata (TFLM never reads metadata), and a state whose
history rows are all equal (the usual prewarmed state) is stored as one row; `load_state` expands
it, bit for bit. Symbols are prefixed `namx_<ident>_` and macros `NAMX_<IDENT>_`, where <ident>
is the file stem as a C identifier, so several widths can be linked into one firmware.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from namx import __version__
from namx.c_source import comment_text, initializer, string_literal
from namx.metadata import COPIED, copied

from .binding import AUDIO, StreamBinding, c_identifier
from .builder import S

# (symbol suffix, C declaration, meaning): the .cc defines these, in this order (spec §10.6 table).
SYMBOLS = (
    ("model", "const unsigned char {p}model[]", "the .tflite file without the initial state, 16-byte aligned"),
    ("model_len", "const unsigned int {p}model_len", "its length in bytes"),
    ("width", "const char {p}width[]", "the width label"),
    ("state_name", "const char *const {p}state_name[]", "state k's name (input k+1, output k+1)"),
    ("state_bytes", "const unsigned int {p}state_bytes[]", "state k's tensor size in bytes"),
    ("state_rows", "const unsigned int {p}state_rows[]", "state k's rows R (1 for an LSTM vector)"),
    ("state_stored_rows", "const unsigned int {p}state_stored_rows[]",
     "rows of state k in initial_state: 1 when all R rows are equal, else R"),
    ("state_offset", "const unsigned int {p}state_offset[]", "where state k starts in initial_state"),
    ("state_input_tensor", "const int {p}state_input_tensor[]", "state k's input tensor index in subgraph 0"),
    ("state_output_tensor", "const int {p}state_output_tensor[]", "state k's output tensor index in subgraph 0"),
    ("initial_state", "const float {p}initial_state[]", "every state's stored rows, in input order"),
    ("load_state", "void {p}load_state(unsigned int k, float *dst)",
     "write state k's initial value (state_bytes[k] bytes) to dst"),
)
# (macro suffix, meaning)
MACROS = (
    ("SAMPLE_RATE", "sample rate in Hz"),
    ("BLOCK_SIZE", "samples per call (input 0 and output 0 are [1, BLOCK_SIZE])"),
    ("WIDTH", "the width label, a string"),
    ("WIDTH_LEVEL", "the width level index (0 = narrowest)"),
    ("IN_CHANNELS", "audio input channels (1)"),
    ("OUT_CHANNELS", "audio output channels (1)"),
    ("LATENCY_SAMPLES", "output latency in samples (0: output sample i answers input sample i)"),
    ("PREWARM_SAMPLES", "zero samples the initial state has already absorbed (§7.1)"),
    ("AUDIO_INPUT", "input position of the audio (state k is input and output k+1)"),
    ("AUDIO_OUTPUT", "output position of the audio"),
    ("AUDIO_INPUT_TENSOR", "the audio input's tensor index in subgraph 0"),
    ("AUDIO_OUTPUT_TENSOR", "the audio output's tensor index in subgraph 0"),
    ("AUDIO_BYTES", "bytes of one audio block (input and output)"),
    ("NUM_STATES", "state tensors (inputs 1.. and outputs 1..)"),
    ("STATE_FLOATS", "total floats of state (the sum of state_bytes / 4)"),
    ("NUM_OPS", "builtin operators the model uses: the size of its MicroMutableOpResolver"),
    ("OPS", "X-macro: OPS(X) expands X(Name) per operator, Name as in MicroMutableOpResolver::AddName()"),
    ("ARENA_SIZE", "tensor arena bytes, measured with TFLM's allocator on a 64-bit host"),
    ("ARENA_ALIGNMENT", "the arena's required alignment in bytes"),
    ("MODEL_BYTES", "flash bytes of model (model_len)"),
    ("INITIAL_STATE_BYTES", "flash bytes of initial_state"),
    ("NAME", "metadata: the model's name, where present"),
    ("LOUDNESS", "metadata: loudness in dB, where present"),
    ("GAIN", "metadata: gain, where present"),
    ("INPUT_LEVEL_DBU", "metadata: input level in dBu, where present"),
    ("OUTPUT_LEVEL_DBU", "metadata: output level in dBu, where present"),
)
ARENA_ALIGNMENT = 16
_OP_NAMES = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}


def resolver_name(op: str) -> str:
    """MicroMutableOpResolver's method suffix for a builtin op: CONV_2D -> Conv2D, SPLIT_V -> SplitV."""
    return "".join(part if part[0].isdigit() else part.capitalize() for part in op.split("_"))


def ops(model_bytes: bytes) -> list[str]:
    """The builtin operators of subgraph 0, in order of first use."""
    m = S.Model.GetRootAsModel(model_bytes, 0)
    g = m.Subgraphs(0)
    seen = []
    for i in range(g.OperatorsLength()):
        code = m.OperatorCodes(g.Operators(i).OpcodeIndex())
        name = _OP_NAMES[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        if name not in seen:
            seen.append(name)
    return seen


@dataclass
class CompactState:
    """A binding's initial state stored once: per state, one row when all its rows are equal."""

    rows: list[int]
    stored_rows: list[int]
    channels: list[int]
    values: np.ndarray  # float32, every state's stored rows in input order

    @classmethod
    def of(cls, b: StreamBinding) -> CompactState:
        rows, stored, channels, parts = [], [], [], []
        for name, shape in zip(b.state_names, b.state_shapes):
            v = np.ascontiguousarray(b.initial_state[name], np.float32)
            c = shape[-1]
            table = v.reshape(-1, c)
            same = bool((table.view(np.uint32) == table[:1].view(np.uint32)).all())  # bit for bit, -0.0 and NaN too
            rows.append(table.shape[0])
            stored.append(1 if same else table.shape[0])
            channels.append(c)
            parts.append(table[:1] if same else table)
        values = np.concatenate([p.ravel() for p in parts]) if parts else np.zeros(0, np.float32)
        return cls(rows, stored, channels, values)

    @property
    def offsets(self) -> list[int]:
        sizes = [s * c for s, c in zip(self.stored_rows, self.channels)]
        return [sum(sizes[:k]) for k in range(len(sizes))]


def write(h_path: Path, cc_path: Path, tflite_name: str, model_bytes: bytes, b: StreamBinding, source: str,
          *, arena: int | None, prewarm: int, metadata: dict) -> tuple[str, str]:
    """The (.h, .cc) texts for one exported single-subgraph file. `model_bytes` is the file to embed
    (exported without the initial state); `arena` is measured_arena's figure (None: not measured)."""
    ident = c_identifier(Path(tflite_name).stem)
    p, macro = f"namx_{ident}_", f"NAMX_{ident.upper()}_"
    state = CompactState.of(b)
    op_list = ops(model_bytes)
    g = S.Model.GetRootAsModel(model_bytes, 0).Subgraphs(0)
    ins, outs = [int(g.Inputs(i)) for i in range(g.InputsLength())], [int(g.Outputs(i)) for i in range(g.OutputsLength())]
    values = {
        "SAMPLE_RATE": _float(b.sample_rate), "BLOCK_SIZE": str(b.block_size), "WIDTH": string_literal(b.width),
        "WIDTH_LEVEL": str(b.level), "IN_CHANNELS": "1", "OUT_CHANNELS": "1", "LATENCY_SAMPLES": "0",
        "PREWARM_SAMPLES": str(prewarm), "AUDIO_INPUT": "0", "AUDIO_OUTPUT": "0",
        "AUDIO_INPUT_TENSOR": str(ins[0]), "AUDIO_OUTPUT_TENSOR": str(outs[0]), "AUDIO_BYTES": str(4 * b.block_size),
        "NUM_STATES": str(len(b.state_names)), "STATE_FLOATS": str(sum(r * c for r, c in zip(state.rows, state.channels))),
        "NUM_OPS": str(len(op_list)), "OPS": "(X) " + " ".join(f"X({resolver_name(o)})" for o in op_list),
        "ARENA_SIZE": None if arena is None else str(arena), "ARENA_ALIGNMENT": str(ARENA_ALIGNMENT),
        "MODEL_BYTES": str(len(model_bytes)), "INITIAL_STATE_BYTES": str(4 * max(state.values.size, 1)),
    }
    model_name = metadata.get("name")
    values["NAME"] = string_literal(model_name) if isinstance(model_name, str) else None
    numbers = copied(metadata)
    values.update({key.upper(): _float(numbers[key]) if key in numbers else None for key in COPIED})
    guard = f"NAMX_{ident.upper()}_H"
    order = [f" *   input 0 / output 0: {AUDIO} float32[1, {b.block_size}]"]
    order += [f" *   input {k + 1} / output {k + 1}: {n} float32{list(s)}"
              for k, (n, s) in enumerate(zip(b.state_names, b.state_shapes))]
    h = [f"/* Generated by namx {__version__} from {comment_text(Path(source).name)}: {comment_text(tflite_name)}, "
         f"width {comment_text(b.width)},",
         f" * {b.block_size} samples per call (spec A2 §10.6). Tensor order:", *order,
         " * At start or reset: load_state(k, input k+1) for every k. After each invoke: feed output k+1",
         " * back to input k+1 (outputs may share memory with inputs: see spec §10.6).",
         " */", f"#ifndef {guard}", f"#define {guard}", ""]
    for name, meaning in MACROS:
        if name == "OPS":
            h.append(f"/* {meaning} */")
            h.append(f"#define {macro}OPS{values[name]}")
        elif values[name] is None:
            why = "not measured (tflite-micro was not installed)" if name == "ARENA_SIZE" else "not in the model"
            h.append(f"/* {macro}{name}: {why} */")
        else:
            h.append(f"#define {macro}{name} {values[name]}  /* {meaning} */")
    h += ["", "#ifdef __cplusplus", 'extern "C" {', "#endif", ""]
    h += [f"extern {decl.format(p=p)};  /* {meaning} */" if name != "load_state" else f"{decl.format(p=p)};  /* {meaning} */"
          for name, decl, meaning in SYMBOLS]
    h += ["", "#ifdef __cplusplus", "}", "",
          f"/* Registers the model's operators: tflite::MicroMutableOpResolver<{macro}NUM_OPS> r; {p}register_ops(r). */",
          "template <typename Resolver>", f"inline bool {p}register_ops(Resolver &resolver) {{"]
    h += [f"  if (resolver.Add{resolver_name(o)}() != 0) return false;" for o in op_list]
    h += ["  return true;", "}", "#endif", "", f"#endif  /* {guard} */", ""]

    sizes = [4 * r * c for r, c in zip(state.rows, state.channels)]
    data = {
        "model": _bytes(model_bytes),
        "model_len": str(len(model_bytes)),
        "width": string_literal(b.width),
        "state_name": initializer([string_literal(n) for n in b.state_names] or ["0"]),
        "state_bytes": initializer([str(s) for s in sizes] or ["0"]),
        "state_rows": initializer([str(r) for r in state.rows] or ["0"]),
        "state_stored_rows": initializer([str(r) for r in state.stored_rows] or ["0"]),
        "state_offset": initializer([str(o) for o in state.offsets] or ["0"]),
        "state_input_tensor": initializer([str(i) for i in ins[1:]] or ["-1"]),
        "state_output_tensor": initializer([str(i) for i in outs[1:]] or ["-1"]),
        "initial_state": initializer([_float(v) for v in state.values] or ["0.0f"]),
    }
    cc = [f"/* Generated by namx {__version__}: see {comment_text(h_path.name)}. */",
          f"#include {string_literal(h_path.name)}", "", "#include <string.h>", ""]
    for name, decl, _ in SYMBOLS:
        if name == "load_state":
            continue
        align = "alignas(16) " if name == "model" else ""
        cc.append(f"{align}{decl.format(p=p)} = {data[name]};")
    cc += ["", "/* One stored row is repeated over the state's rows; otherwise every row is stored. */",
           f"void {p}load_state(unsigned int k, float *dst) {{",
           f"  const unsigned int row = {p}state_bytes[k] / {p}state_rows[k];",
           f"  const float *src = {p}initial_state + {p}state_offset[k];",
           f"  if ({p}state_stored_rows[k] != 1) {{",
           f"    memcpy(dst, src, {p}state_bytes[k]);",
           "    return;",
           "  }",
           f"  for (unsigned int r = 0; r < {p}state_rows[k]; ++r)",
           "    memcpy(reinterpret_cast<char *>(dst) + r * row, src, row);",
           "}"]
    return "\n".join(h), "\n".join(cc) + "\n"


def _float(v) -> str:
    return f"{float(np.float32(v))!r}f" if np.isfinite(v) else "0.0f"


def _bytes(data: bytes, per_line: int = 16) -> str:
    hexes = [f"0x{v:02x}" for v in data]
    return initializer(hexes, per_line)
